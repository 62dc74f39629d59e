package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// ListOffsets: v1-8
//
// Behaviour:
//   - Timestamp -1: the high watermark (latest); -2: the log start offset
//     (earliest, moved by retention and DeleteRecords); -3: the offset and
//     timestamp of the record with the largest timestamp (v7+, KIP-734); a
//     time in ms: the first record (by offset) whose timestamp is at least
//     that, with its own timestamp, or offset -1 and timestamp -1 when no
//     record is that new.
//   - By time, the time index and batch headers find the candidate batch
//     (the first whose max timestamp is at least the target) and only
//     that batch is decompressed and walked (commitlog.Log.TimeLookup), so
//     the answer is exact inside compressed batches and with timestamps
//     out of order within a batch, as in Kafka.
//   - read_committed equals read_uncommitted (no transactions).
//   - Authorization: DESCRIBE on each topic, else TOPIC_AUTHORIZATION_FAILED.
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
		denied := !s.allowed(req, opDescribe, rtTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			p := kmsg.NewListOffsetsResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch = 0
			if denied {
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
				p.Offset, p.Timestamp, p.LeaderEpoch = -1, -1, -1
				s.countErr(req, p.ErrorCode)
				t.Partitions = append(t.Partitions, p)
				continue
			}
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
