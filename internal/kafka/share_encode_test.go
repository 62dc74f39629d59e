package kafka

import (
	"bytes"
	"math/rand"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestShareFetchFrameMatchesKmsg checks the zero-copy ShareFetch encoder
// byte for byte against kmsg's for the served versions and random
// contents.
func TestShareFetchFrameMatchesKmsg(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	str := func() *string {
		if rng.Intn(2) == 0 {
			return nil
		}
		s := string(make([]byte, rng.Intn(30)))
		return &s
	}
	for v := int16(1); v <= 2; v++ {
		for iter := 0; iter < 100; iter++ {
			r := kmsg.NewPtrShareFetchResponse()
			r.Version = v
			r.ThrottleMillis, r.ErrorCode, r.ErrorMessage = rng.Int31(), int16(rng.Intn(3)), str()
			r.AcquisitionLockTimeoutMillis = rng.Int31()
			for i := rng.Intn(4); i > 0; i-- {
				tp := kmsg.NewShareFetchResponseTopic()
				rng.Read(tp.TopicID[:])
				for j := rng.Intn(4); j > 0; j-- {
					p := kmsg.NewShareFetchResponseTopicPartition()
					p.Partition, p.ErrorCode, p.ErrorMessage = rng.Int31(), int16(rng.Intn(2)), str()
					p.AcknowledgeErrorCode, p.AcknowledgeErrorMessage = int16(rng.Intn(2)), str()
					p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = rng.Int31(), rng.Int31()
					switch rng.Intn(4) {
					case 0:
						p.Records = nil
					case 1:
						p.Records = []byte{}
					case 2:
						p.Records = make([]byte, rng.Intn(100))
					default:
						p.Records = make([]byte, zeroCopyMin+rng.Intn(100))
					}
					rng.Read(p.Records)
					for k := rng.Intn(3); k > 0; k-- {
						a := kmsg.NewShareFetchResponseTopicPartitionAcquiredRecord()
						a.FirstOffset, a.LastOffset, a.DeliveryCount = rng.Int63(), rng.Int63(), int16(rng.Intn(10))
						p.AcquiredRecords = append(p.AcquiredRecords, a)
					}
					tp.Partitions = append(tp.Partitions, p)
				}
				r.Topics = append(r.Topics, tp)
			}
			for i := rng.Intn(3); i > 0; i-- {
				n := kmsg.NewShareFetchResponseNodeEndpoint()
				n.NodeID, n.Host, n.Port, n.Rack = rng.Int31(), "host", rng.Int31(), str()
				r.NodeEndpoints = append(r.NodeEndpoints, n)
			}
			want := appendResponse(nil, 42, r)
			bufs, ok := appendShareFetchFrame(nil, 42, r)
			if !ok {
				t.Fatalf("v%d: fast path declined", v)
			}
			if got := bytes.Join(bufs, nil); !bytes.Equal(got, want) {
				t.Fatalf("v%d iter %d: encodings differ\n got %x\nwant %x", v, iter, got, want)
			}
		}
	}
	// Declines what it does not handle.
	r := kmsg.NewPtrShareFetchResponse()
	r.Version = 0
	if _, ok := appendShareFetchFrame(nil, 1, r); ok {
		t.Fatal("fast path took v0")
	}
}
