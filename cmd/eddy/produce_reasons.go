package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceReasons keeps the error messages of the Produce responses a
// client receives (Produce v8+ ErrorMessage), which franz-go does not pass
// on with a record's error, so `eddy produce` can print why the broker
// refused a record (a stale eddy-expected-version, a record on the wrong
// partition of an event-store topic) instead of only the error code.
//
// It sees the bytes through the client's Dialer: each connection's
// request headers give the correlation id, key and version of the
// requests, and the Produce responses with those ids are decoded.
type produceReasons struct {
	dialer net.Dialer

	mu  sync.Mutex
	msg map[topicPartition]string
}

type topicPartition struct {
	topic string
	part  int32
}

// dial is a kgo.Dialer.
func (p *produceReasons) dial(ctx context.Context, network, host string) (net.Conn, error) {
	c, err := p.dialer.DialContext(ctx, network, host)
	if err != nil {
		return nil, err
	}
	return newReasonConn(c, p), nil
}

// annotate adds the broker's message for r's partition to a Kafka error.
func (p *produceReasons) annotate(r *kgo.Record, err error) error {
	var ke *kerr.Error
	if r == nil || !errors.As(err, &ke) {
		return err
	}
	p.mu.Lock()
	msg, ok := p.msg[topicPartition{r.Topic, r.Partition}]
	p.mu.Unlock()
	if !ok {
		return err
	}
	return fmt.Errorf("%s: %w", msg, err)
}

func (p *produceReasons) record(resp *kmsg.ProduceResponse) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.msg == nil {
		p.msg = map[topicPartition]string{}
	}
	for _, t := range resp.Topics {
		for _, pt := range t.Partitions {
			tp := topicPartition{t.Topic, pt.Partition}
			if pt.ErrorCode != 0 && pt.ErrorMessage != nil && *pt.ErrorMessage != "" {
				p.msg[tp] = *pt.ErrorMessage
			} else {
				// Only the partition's latest answer explains its
				// next failure.
				delete(p.msg, tp)
			}
		}
	}
}

// reasonConn follows the frames written and read on one connection.
type reasonConn struct {
	net.Conn
	p *produceReasons

	wmu  sync.Mutex
	wbuf []byte // start of the request frame being written
	wrem int    // bytes of the current request frame still to skip

	mu   sync.Mutex
	reqs map[int32]int16 // correlation id → Produce version

	rhead []byte // the size and correlation id of the next response
	rbody int    // bytes of the Produce response body being buffered; -1 when none
	rver  int16  // its version
	rbuf  []byte // the body so far
	rskip int    // bytes of another response still to skip
}

func newReasonConn(c net.Conn, p *produceReasons) *reasonConn {
	return &reasonConn{Conn: c, p: p, reqs: map[int32]int16{}, rbody: -1}
}

func (c *reasonConn) Write(b []byte) (int, error) {
	c.wmu.Lock()
	c.scanWritten(b)
	c.wmu.Unlock()
	return c.Conn.Write(b)
}

// scanWritten notes the correlation id and version of Produce requests.
func (c *reasonConn) scanWritten(b []byte) {
	for len(b) > 0 {
		if c.wrem > 0 {
			n := min(c.wrem, len(b))
			c.wrem -= n
			b = b[n:]
			continue
		}
		const head = 4 + 2 + 2 + 4 // size, key, version, correlation id
		need := head - len(c.wbuf)
		n := min(need, len(b))
		c.wbuf = append(c.wbuf, b[:n]...)
		b = b[n:]
		if len(c.wbuf) < head {
			return
		}
		size := int(binary.BigEndian.Uint32(c.wbuf))
		key := int16(binary.BigEndian.Uint16(c.wbuf[4:]))
		version := int16(binary.BigEndian.Uint16(c.wbuf[6:]))
		corr := int32(binary.BigEndian.Uint32(c.wbuf[8:]))
		if key == int16(kmsg.Produce) {
			c.mu.Lock()
			c.reqs[corr] = version
			c.mu.Unlock()
		}
		c.wbuf = c.wbuf[:0]
		c.wrem = max(size-(head-4), 0)
	}
}

func (c *reasonConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.scanRead(b[:n])
	return n, err
}

// scanRead decodes the Produce responses among the frames read. Reads
// happen on one goroutine per connection, before the client parses what
// they return, so a message is recorded before its record fails. Only
// Produce responses are buffered; other frames are skipped as they pass.
func (c *reasonConn) scanRead(b []byte) {
	for len(b) > 0 {
		if c.rskip > 0 {
			n := min(c.rskip, len(b))
			c.rskip -= n
			b = b[n:]
			continue
		}
		if c.rbody >= 0 {
			n := min(c.rbody-len(c.rbuf), len(b))
			c.rbuf = append(c.rbuf, b[:n]...)
			b = b[n:]
			if len(c.rbuf) == c.rbody {
				c.decode(c.rver, c.rbuf)
				c.rbuf, c.rbody = c.rbuf[:0], -1
			}
			continue
		}
		const head = 4 + 4 // size, correlation id
		n := min(head-len(c.rhead), len(b))
		c.rhead = append(c.rhead, b[:n]...)
		b = b[n:]
		if len(c.rhead) < head {
			return
		}
		body := int(binary.BigEndian.Uint32(c.rhead)) - 4
		corr := int32(binary.BigEndian.Uint32(c.rhead[4:]))
		c.rhead = c.rhead[:0]
		c.mu.Lock()
		version, ok := c.reqs[corr]
		delete(c.reqs, corr)
		c.mu.Unlock()
		switch {
		case body <= 0:
		case ok:
			c.rbody, c.rver = body, version
		default:
			c.rskip = body
		}
	}
}

// decode records the messages of one Produce response body.
func (c *reasonConn) decode(version int16, body []byte) {
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = version
	if resp.IsFlexible() {
		body = skipTags(body)
	}
	if body != nil && resp.ReadFrom(body) == nil {
		c.p.record(resp)
	}
}

// skipTags skips a flexible response header's tagged fields; nil if they
// do not parse.
func skipTags(b []byte) []byte {
	n, m := binary.Uvarint(b)
	if m <= 0 {
		return nil
	}
	b = b[m:]
	for i := uint64(0); i < n; i++ {
		if _, m = binary.Uvarint(b); m <= 0 {
			return nil
		}
		b = b[m:]
		size, m := binary.Uvarint(b)
		if m <= 0 || uint64(len(b)-m) < size {
			return nil
		}
		b = b[m+int(size):]
	}
	return b
}
