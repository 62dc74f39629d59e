package kafka

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Reading a request frame under the server's resource limits.
//
//   - The frame must arrive in full within FrameTimeout of its size
//     prefix (time spent waiting for the produce budget does not count),
//     so a client trickling bytes cannot hold a connection, a frame buffer
//     or budget for long.
//   - Memory for the frame grows as its bytes arrive (doubling from
//     firstChunk), never for the size the prefix claims: a 100 MiB claim
//     followed by silence costs firstChunk.
//   - Produce frames take each chunk from the global produce budget (and
//     from the connection's own bound, ConnBytesLimit) before reading it;
//     other requests never touch the produce budget.

// firstChunk is the first allocation for a frame read in chunks.
const firstChunk = 64 << 10

// connHold is the per-connection side of the produce budget: what this
// connection's requests hold, read or awaiting their responses.
type connHold struct {
	held atomic.Int64
	// freed is signalled (capacity 1) when held drops.
	freed chan struct{}
	// unsent is the record bytes of fetch responses queued and not yet
	// written; drained is signalled when it drops.
	unsent  atomic.Int64
	drained chan struct{}
}

func notify(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// errFrameTimeout closes a connection whose frame did not arrive in time.
var errFrameTimeout = errors.New("request frame did not arrive within the frame timeout")

// readFrame reads the n-byte body of the frame whose size prefix was just
// read. It returns the frame (pooled for produce requests) and the produce
// budget it holds (release with releaseHeld).
func (c *conn) readFrame(br *bufio.Reader, n int32) (frame *[]byte, held int64, err error) {
	deadline := time.Time{}
	if c.s.cfg.FrameTimeout > 0 {
		deadline = time.Now().Add(c.s.cfg.FrameTimeout)
		if err := c.setFrameDeadline(deadline); err != nil {
			return nil, 0, err
		}
	}
	k, err := br.Peek(2)
	if err != nil {
		return nil, 0, c.frameErr(err)
	}
	produce := int16(binary.BigEndian.Uint16(k)) == int16(kmsg.Produce)
	size := int(n)
	if !produce {
		// Other requests get their own allocation (what they decode may
		// alias it past the reply), grown as bytes arrive.
		b, err := c.readGrowing(br, size)
		if err != nil {
			return nil, 0, err
		}
		return &b, 0, nil
	}
	if size <= br.Size() {
		// Small frame: let it arrive in the reader's buffer first, then
		// take its bytes (nothing is held for bytes not yet sent).
		if _, err := br.Peek(size); err != nil {
			return nil, 0, c.frameErr(err)
		}
		if held, err = c.acquire(0, int64(size), 0); err != nil {
			return nil, 0, err
		}
		frame = getFrame(size)
		_, _ = io.ReadFull(br, (*frame)[:size]) // buffered: cannot fail
		return frame, held, nil
	}
	ticket := c.s.budget.Begin()
	defer c.s.budget.End(ticket)
	fail := func(err error) (*[]byte, int64, error) {
		putFrame(frame)
		c.releaseBytes(held)
		return nil, 0, err
	}
	got := 0
	for got < size {
		want := min(size, max(firstChunk, 2*got))
		start := time.Now()
		h, err := c.acquire(ticket, int64(want-got), held)
		if err != nil {
			return fail(err)
		}
		held += h
		if wait := time.Since(start); wait > time.Millisecond && !deadline.IsZero() {
			// Waiting on the budget is the server's doing, not the
			// client's: extend the frame's deadline by it.
			deadline = deadline.Add(wait)
			if err := c.setFrameDeadline(deadline); err != nil {
				return fail(err)
			}
		}
		next := getFrame(want)
		if frame != nil {
			copy(*next, (*frame)[:got])
			putFrame(frame)
		}
		frame = next
		if _, err := io.ReadFull(br, (*frame)[got:want]); err != nil {
			return fail(c.frameErr(err))
		}
		got = want
	}
	return frame, held, nil
}

// readGrowing reads size bytes into a buffer that grows as they arrive.
func (c *conn) readGrowing(br *bufio.Reader, size int) ([]byte, error) {
	if size <= firstChunk {
		b := make([]byte, size)
		if _, err := io.ReadFull(br, b); err != nil {
			return nil, c.frameErr(err)
		}
		return b, nil
	}
	b := make([]byte, 0, firstChunk)
	for len(b) < size {
		if len(b) == cap(b) {
			b = append(b[:cap(b)], make([]byte, min(size, 2*cap(b))-cap(b))...)[:len(b)]
		}
		m, err := io.ReadFull(br, b[len(b):cap(b)])
		b = b[:len(b)+m]
		if err != nil {
			return nil, c.frameErr(err)
		}
	}
	return b, nil
}

// setFrameDeadline sets the read deadline for the rest of a frame, unless
// the connection is being stopped (stopReading set a deadline of now that
// must not be pushed back).
func (c *conn) setFrameDeadline(d time.Time) error {
	_ = c.nc.SetReadDeadline(d)
	select {
	case <-c.stopping:
		_ = c.nc.SetReadDeadline(time.Now())
		return io.EOF
	default:
		return nil
	}
}

// frameErr counts and logs a frame that did not arrive in time.
func (c *conn) frameErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		select {
		case <-c.stopping:
			return err
		default:
		}
		c.s.metrics.guard.frameTimeouts.Inc()
		c.s.log.Warn("kafka request frame too slow, closing connection", "conn", c.info.ID, "remote", c.info.Remote.String(), "frame_timeout", c.s.cfg.FrameTimeout)
		return fmt.Errorf("%w: %w", errFrameTimeout, err)
	}
	return err
}

// acquire takes n produce bytes for the frame with the given ticket (0: a
// frame already read in full), which already holds frameHeld: first from
// the connection's bound (waiting for this connection's earlier requests
// to be answered), then from the global budget.
func (c *conn) acquire(ticket uint64, n, frameHeld int64) (int64, error) {
	if limit := c.s.cfg.ConnBytesLimit; limit > 0 {
		for {
			h := c.hold.held.Load()
			// The frame alone always fits (it is at most
			// MaxRequestBytes, which the limit is at least).
			if h+n <= limit || h-frameHeld <= 0 {
				break
			}
			select {
			case <-c.hold.freed:
			case <-c.ctx.Done():
				return 0, c.ctx.Err()
			case <-c.stopping:
				return 0, context.Canceled
			}
		}
	}
	got, err := c.s.budget.Acquire(c.ctx, ticket, n)
	if err != nil {
		return 0, err
	}
	if got == 0 {
		got = n // no global budget: account the connection's bound only
	}
	c.hold.held.Add(got)
	return got, nil
}

// releaseBytes gives back produce bytes taken with acquire.
func (c *conn) releaseBytes(n int64) {
	if n == 0 {
		return
	}
	if c.s.budget != nil {
		c.s.budget.Release(n)
	}
	c.hold.held.Add(-n)
	notify(c.hold.freed)
}

// releaseHeld gives back what p holds: its produce bytes and its fetch
// response's unsent bytes.
func (c *conn) releaseHeld(p *pending) {
	c.releaseBytes(p.budgeted)
	p.budgeted = 0
	if p.unsent != 0 {
		c.hold.unsent.Add(-p.unsent)
		p.unsent = 0
		notify(c.hold.drained)
	}
}

// holdUnsent accounts p's ready reply as unsent bytes of the connection.
func (c *conn) holdUnsent(p *pending) {
	fr, ok := p.reply.resp.(*kmsg.FetchResponse)
	if !ok || p.unsent != 0 {
		return
	}
	var n int64
	for i := range fr.Topics {
		for j := range fr.Topics[i].Partitions {
			n += int64(len(fr.Topics[i].Partitions[j].RecordBatches))
		}
	}
	if n > 0 {
		p.unsent = n
		c.hold.unsent.Add(n)
	}
}

// waitUnsent parks the reader while the connection's unsent response
// bytes are over UnsentBytesLimit: a client that asks for data and does not
// read it stops being read from, instead of making the server buffer
// responses without bound. It returns false when the connection ends.
func (c *conn) waitUnsent() bool {
	limit := c.s.cfg.UnsentBytesLimit
	if limit <= 0 {
		return true
	}
	for c.hold.unsent.Load() > limit {
		select {
		case <-c.hold.drained:
		case <-c.ctx.Done():
			return false
		case <-c.stopping:
			return false
		}
	}
	return true
}

// Defaults of the limits in Config.
const (
	defaultFrameTimeout     = 30 * time.Second
	defaultFetchMaxBytes    = 55 << 20 // Kafka's broker fetch.max.bytes
	defaultUnsentBytesLimit = 32 << 20
)

func (c *Config) setLimitDefaults() {
	if c.FrameTimeout == 0 {
		c.FrameTimeout = defaultFrameTimeout
	}
	if c.ConnBytesLimit == 0 || (c.ConnBytesLimit > 0 && c.ConnBytesLimit < int64(c.MaxRequestBytes)) {
		c.ConnBytesLimit = int64(c.MaxRequestBytes)
	}
	if c.FetchMaxBytes <= 0 {
		c.FetchMaxBytes = defaultFetchMaxBytes
	}
	if c.UnsentBytesLimit == 0 {
		c.UnsentBytesLimit = defaultUnsentBytesLimit
	}
}
