package main

import (
	"encoding/binary"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// produceFrames returns a Produce request frame (correlation id corr) and
// its response frame refusing t-p with msg, as a broker sends them.
func produceFrames(version int16, corr int32, msg string) (req, resp []byte) {
	r := kmsg.NewPtrProduceRequest()
	r.Version = version
	req = binary.BigEndian.AppendUint32(nil, 0)
	req = binary.BigEndian.AppendUint16(req, uint16(kmsg.Produce))
	req = binary.BigEndian.AppendUint16(req, uint16(version))
	req = binary.BigEndian.AppendUint32(req, uint32(corr))
	req = binary.BigEndian.AppendUint16(req, 0) // client id ""
	if r.IsFlexible() {
		req = append(req, 0)
	}
	req = r.AppendTo(req)
	binary.BigEndian.PutUint32(req, uint32(len(req)-4))

	p := kmsg.NewPtrProduceResponse()
	p.Version = version
	rt := kmsg.NewProduceResponseTopic()
	rt.Topic = "t"
	rp := kmsg.NewProduceResponseTopicPartition()
	rp.Partition, rp.ErrorCode, rp.ErrorMessage = 2, 87, &msg
	rt.Partitions = append(rt.Partitions, rp)
	p.Topics = append(p.Topics, rt)
	resp = binary.BigEndian.AppendUint32(nil, 0)
	resp = binary.BigEndian.AppendUint32(resp, uint32(corr))
	if p.IsFlexible() {
		resp = append(resp, 0)
	}
	resp = p.AppendTo(resp)
	binary.BigEndian.PutUint32(resp, uint32(len(resp)-4))
	return req, resp
}

// TestProduceReasonsScan: the message of a refused partition is found in
// the byte stream whatever the read and write boundaries, and frames of
// other requests are skipped.
func TestProduceReasonsScan(t *testing.T) {
	for _, v := range []int16{8, 9, 11} {
		for _, chunk := range []int{1, 3, 7, 1 << 20} {
			p := &produceReasons{}
			c := newReasonConn(nil, p)
			other := []byte{0, 0, 0, 8, 0, 0, 0, 99, 1, 2, 3, 4} // a response nobody asked for as Produce
			req, resp := produceFrames(v, 5, "stale version")
			stream := append(append([]byte(nil), other...), resp...)
			for i := 0; i < len(req); i += chunk {
				c.scanWritten(req[i:min(i+chunk, len(req))])
			}
			for i := 0; i < len(stream); i += chunk {
				c.scanRead(stream[i:min(i+chunk, len(stream))])
			}
			rec := &kgo.Record{Topic: "t", Partition: 2}
			if err := p.annotate(rec, kerrInvalidRecord()); err == nil || err.Error() != "stale version: "+kerrInvalidRecord().Error() {
				t.Fatalf("v%d chunk %d: %v", v, chunk, err)
			}
		}
	}
}

func FuzzProduceReasonsScan(f *testing.F) {
	req, resp := produceFrames(9, 1, "m")
	f.Add(req, resp)
	f.Add([]byte{}, []byte{})
	f.Add(req, append(resp, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1))
	f.Add(req[:5], resp[:9])
	f.Fuzz(func(t *testing.T, w, r []byte) {
		c := newReasonConn(nil, &produceReasons{})
		c.scanWritten(w)
		c.scanRead(r)
	})
}

func kerrInvalidRecord() error { return kerr.InvalidRecord }
