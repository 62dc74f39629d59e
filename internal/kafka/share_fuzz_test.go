package kafka

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

func shareAckSeed(version int16, batches ...kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch) []byte {
	r := kmsg.NewPtrShareAcknowledgeRequest()
	r.Version = version
	g, m := "g", "m"
	r.GroupID, r.MemberID, r.ShareSessionEpoch = &g, &m, 1
	t := kmsg.NewShareAcknowledgeRequestTopic()
	p := kmsg.NewShareAcknowledgeRequestTopicPartition()
	p.AcknowledgementBatches = batches
	t.Partitions = append(t.Partitions, p)
	r.Topics = append(r.Topics, t)
	return r.AppendTo(nil)
}

func ackBatch(first, last int64, types ...int8) kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch {
	b := kmsg.NewShareAcknowledgeRequestTopicPartitionAcknowledgementBatch()
	b.FirstOffset, b.LastOffset, b.AcknowledgeTypes = first, last, types
	return b
}

// FuzzShareAckBatches decodes ShareAcknowledge and ShareFetch bodies (v2)
// and applies their acknowledgement batches to a share-partition holding
// offsets 0-99: no input may panic, an accepted batch must leave a sane
// window, and a refused one must be refused with a share error.
func FuzzShareAckBatches(f *testing.F) {
	f.Add([]byte{})
	f.Add(shareAckSeed(2, ackBatch(0, 9, 1)))
	f.Add(shareAckSeed(2, ackBatch(0, 2, 1, 2, 3), ackBatch(3, 3, 4), ackBatch(4, 4, 0)))
	f.Add(shareAckSeed(2, ackBatch(5, 1, 1)))
	f.Add(shareAckSeed(2, ackBatch(0, 1<<62, 1)))
	f.Add(shareAckSeed(2, ackBatch(-5, 3, 1)))
	f.Add(shareAckSeed(2, ackBatch(0, 3, 1, 1)))
	f.Add(shareAckSeed(2, ackBatch(0, 0, 9)))
	f.Add(append(shareAckSeed(2, ackBatch(0, 9, 1)), 0xde, 0xad))
	fr := kmsg.NewPtrShareFetchRequest()
	fr.Version = 2
	ft := kmsg.NewShareFetchRequestTopic()
	fp := kmsg.NewShareFetchRequestTopicPartition()
	fb := kmsg.NewShareFetchRequestTopicPartitionAcknowledgementBatch()
	fb.FirstOffset, fb.LastOffset, fb.AcknowledgeTypes = 10, 20, []int8{2}
	fp.AcknowledgementBatches = append(fp.AcknowledgementBatches, fb)
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	f.Add(fr.AppendTo(nil))

	lim := share.Limits{LockDuration: time.Minute, DeliveryLimit: 3, MaxLocks: 1000}
	now := time.Unix(1_700_000_000, 0)
	f.Fuzz(func(t *testing.T, b []byte) {
		var all [][]share.AckBatch
		ack := kmsg.NewPtrShareAcknowledgeRequest()
		ack.Version = 2
		if ack.ReadFrom(b) == nil {
			for _, tp := range ack.Topics {
				for _, p := range tp.Partitions {
					all = append(all, shareAckBatches(p.AcknowledgementBatches, func(x kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch) (int64, int64, []int8) {
						return x.FirstOffset, x.LastOffset, x.AcknowledgeTypes
					}))
				}
			}
		}
		fetch := kmsg.NewPtrShareFetchRequest()
		fetch.Version = 2
		if fetch.ReadFrom(b) == nil {
			for _, tp := range fetch.Topics {
				for _, p := range tp.Partitions {
					all = append(all, shareAckBatches(p.AcknowledgementBatches, func(x kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) (int64, int64, []int8) {
						return x.FirstOffset, x.LastOffset, x.AcknowledgeTypes
					}))
				}
			}
		}
		for _, batches := range all {
			p := share.NewPartition()
			p.Acquire(now, "m", 100, 0, 100, 0, lim)
			for _, ab := range batches {
				err := p.Ack(now, "m", ab.First, ab.Last, ab.Types, lim)
				if err != nil && !errors.Is(err, share.ErrInvalidAck) && !errors.Is(err, share.ErrInvalidRecordState) {
					t.Fatalf("ack %+v: unexpected error %v", ab, err)
				}
				if p.Start() < 0 || p.Start() > p.End() || p.End() > 100 {
					t.Fatalf("window [%d,%d) after ack %+v", p.Start(), p.End(), ab)
				}
			}
		}
	})
}
