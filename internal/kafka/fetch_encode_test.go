package kafka

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFetchFrameMatchesKmsg checks the zero-copy Fetch encoder byte for
// byte against kmsg's for every served version and random contents.
func TestFetchFrameMatchesKmsg(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	for v := int16(4); v <= 16; v++ {
		for iter := 0; iter < 50; iter++ {
			r := kmsg.NewPtrFetchResponse()
			r.Version = v
			r.ThrottleMillis = rng.Int31()
			r.ErrorCode = int16(rng.Intn(3))
			r.SessionID = rng.Int31n(2)
			for i := rng.Intn(4); i > 0; i-- {
				tp := kmsg.NewFetchResponseTopic()
				tp.Topic = string(make([]byte, rng.Intn(20)))
				rng.Read(tp.TopicID[:])
				for j := rng.Intn(4); j > 0; j-- {
					p := kmsg.NewFetchResponseTopicPartition()
					p.Partition, p.ErrorCode = rng.Int31(), int16(rng.Intn(2))
					p.HighWatermark, p.LastStableOffset, p.LogStartOffset = rng.Int63(), rng.Int63(), rng.Int63()
					if rng.Intn(2) == 0 {
						p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{}
					}
					switch rng.Intn(4) {
					case 0:
						p.RecordBatches = nil
					case 1:
						p.RecordBatches = []byte{}
					case 2:
						p.RecordBatches = make([]byte, rng.Intn(100))
					default:
						p.RecordBatches = make([]byte, zeroCopyMin+rng.Intn(100))
					}
					rng.Read(p.RecordBatches)
					tp.Partitions = append(tp.Partitions, p)
				}
				r.Topics = append(r.Topics, tp)
			}
			want := appendResponse(nil, 42, r)
			bufs, ok := appendFetchFrame(nil, 42, r)
			if !ok {
				t.Fatalf("v%d: fast path declined", v)
			}
			if got := bytes.Join(bufs, nil); !bytes.Equal(got, want) {
				t.Fatalf("v%d iter %d: encodings differ\n got %x\nwant %x", v, iter, got, want)
			}
		}
	}
	// Declines what it does not handle.
	r := kmsg.NewPtrFetchResponse()
	r.Version = 12
	p := kmsg.NewFetchResponseTopicPartition()
	p.AbortedTransactions = append(p.AbortedTransactions, kmsg.NewFetchResponseTopicPartitionAbortedTransaction())
	tp := kmsg.NewFetchResponseTopic()
	tp.Partitions = append(tp.Partitions, p)
	r.Topics = append(r.Topics, tp)
	if _, ok := appendFetchFrame(nil, 1, r); ok {
		t.Fatal("fast path took aborted transactions")
	}
}
