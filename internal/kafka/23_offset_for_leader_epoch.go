package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// OffsetForLeaderEpoch: v0-4
//
// Behaviour: answered as a Kafka cluster whose every partition has had one
// leader, with epoch 0 (the epoch Metadata and ListOffsets report), so
// clients that validate their position after a metadata refresh (KIP-320:
// franz-go, the Java client, librdkafka) go on without truncating:
//   - a requested epoch of 0 (or below: Eddy stores batches with the
//     leader epoch the producer sent, usually -1, and a client may ask with
//     that) answers epoch 0 and the log end offset, past every record a
//     consumer can have read;
//   - a requested epoch above 0 answers epoch -1 and end offset -1, as
//     Kafka answers an epoch newer than its latest;
//   - CurrentLeaderEpoch (v2+) other than -1 is checked as Kafka does:
//     above 0 UNKNOWN_LEADER_EPOCH, below 0 FENCED_LEADER_EPOCH;
//   - an unknown topic or partition: UNKNOWN_TOPIC_OR_PARTITION.
//
// ReplicaID (v3+) is ignored: Eddy has no followers. Version notes: v1
// LeaderEpoch in the response; v2 CurrentLeaderEpoch; v3 ReplicaID; v4
// flexible.
func init() { Register(kmsg.OffsetForLeaderEpoch, 0, 4, handleOffsetForLeaderEpoch) }

func handleOffsetForLeaderEpoch(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.OffsetForLeaderEpochRequest)
	resp := r.ResponseKind().(*kmsg.OffsetForLeaderEpochResponse)
	for _, rt := range r.Topics {
		t := kmsg.NewOffsetForLeaderEpochResponseTopic()
		t.Topic = rt.Topic
		denied := !s.allowed(req, opDescribe, rtTopic, rt.Topic)
		for _, rp := range rt.Partitions {
			p := kmsg.NewOffsetForLeaderEpochResponseTopicPartition()
			p.Partition = rp.Partition
			p.LeaderEpoch, p.EndOffset = -1, -1
			var end int64
			var err error
			if !denied {
				_, _, end, err = s.b.Offsets(rt.Topic, rp.Partition)
			}
			switch {
			case denied:
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case err != nil:
				p.ErrorCode = ErrorCode(err)
			case r.Version >= 2 && rp.CurrentLeaderEpoch > 0:
				p.ErrorCode = kerr.UnknownLeaderEpoch.Code
			case r.Version >= 2 && rp.CurrentLeaderEpoch < -1:
				p.ErrorCode = kerr.FencedLeaderEpoch.Code
			case rp.LeaderEpoch <= 0:
				p.LeaderEpoch, p.EndOffset = 0, end
			}
			s.countErr(req, p.ErrorCode)
			t.Partitions = append(t.Partitions, p)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return Respond(resp)
}
