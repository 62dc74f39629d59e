package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// ListOffsets: v1-8
//
// Behaviour:
//   - Timestamp -1: the high watermark (latest); -2: the log start offset
//     (earliest); -3: the offset and timestamp of the record with the
//     largest timestamp (v7+, KIP-734); a time in ms: the first offset
//     whose record timestamp is at least that, or offset -1 and timestamp
//     -1 when no record is that new.
//   - The timestamp returned for a by-time lookup is taken from the
//     batch header (nothing is decompressed): exact for one-record batches
//     and the batch's first record, otherwise the batch's max timestamp.
//   - read_committed equals read_uncommitted (no transactions).
//
// Version notes: v0 (old-style offset arrays) is not served, as in Kafka 4;
// v2 IsolationLevel; v4 leader epochs; v6 flexible; v7 max timestamp.
func init() { Register(kmsg.ListOffsets, 1, 8, handleListOffsets) }

func handleListOffsets(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ListOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.ListOffsetsResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewListOffsetsResponseTopic()
		t.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch = 0
			off, ts, err := s.b.ListOffset(rt.Topic, rp.Partition, rp.Timestamp)
			if err != nil {
				p.ErrorCode = ErrorCode(err)
				p.Offset, p.Timestamp, p.LeaderEpoch = -1, -1, -1
				s.countErr(req, p.ErrorCode)
			} else {
				p.Offset, p.Timestamp = off, ts
				if rp.Timestamp == broker.LatestTimestamp || rp.Timestamp == broker.EarliestTimestamp {
					p.Timestamp = -1
				}
			}
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return Respond(resp)
}
