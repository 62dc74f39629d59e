package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

// AlterShareGroupOffsets: v0
//
// Behaviour: sets share-partitions' start offsets (kafka-share-groups
// --reset-offsets), forgetting their in-flight records; the group must be
// empty (NON_EMPTY_GROUP otherwise), as Kafka requires. Offsets outside
// the log are INVALID_REQUEST per partition. A group that does not exist
// yet is created with these offsets.
func init() { Register(kmsg.AlterShareGroupOffsets, 0, 0, handleAlterShareGroupOffsets) }

func handleAlterShareGroupOffsets(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.AlterShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.AlterShareGroupOffsetsResponse)
	c := s.shareCoord()
	if c == nil {
		resp.ErrorCode, resp.ErrorMessage = shareErrCode(errNoShareCoordinator), errMessage(errNoShareCoordinator)
		return Respond(resp)
	}
	if !s.allowed(req, opRead, rtGroup, r.GroupID) {
		resp.ErrorCode, resp.ErrorMessage = kerr.GroupAuthorizationFailed.Code, errMsg(msgGroupAuth)
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	return Defer(func(context.Context) Reply {
		for _, rt := range r.Topics {
			t := kmsg.NewAlterShareGroupOffsetsResponseTopic()
			t.Topic = rt.Topic
			denied := !s.allowed(req, opRead, rtTopic, rt.Topic)
			if info, err := s.b.Topic(rt.Topic); err == nil && !denied {
				t.TopicID = info.ID
			}
			for _, rp := range rt.Partitions {
				p := kmsg.NewAlterShareGroupOffsetsResponseTopicPartition()
				p.Partition = rp.Partition
				if denied {
					p.ErrorCode, p.ErrorMessage = kerr.TopicAuthorizationFailed.Code, errMsg(msgTopicAuth)
					s.countErr(req, p.ErrorCode)
				} else if err := c.AlterOffset(r.GroupID, share.TP{Topic: rt.Topic, Partition: rp.Partition}, rp.StartOffset); err != nil {
					p.ErrorCode, p.ErrorMessage = shareErrCode(err), errMessage(err)
					s.countErr(req, p.ErrorCode)
				}
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return Respond(resp)
	})
}
