package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// OffsetDelete: v0
//
// Behaviour: deletes committed offsets of an Empty group, or of a consumer
// group for topics none of its members subscribe to
// (GROUP_SUBSCRIBED_TO_TOPIC per partition otherwise); NON_EMPTY_GROUP for a
// non-consumer group with members; GROUP_ID_NOT_FOUND for unknown groups.
func init() { Register(kmsg.OffsetDelete, 0, 0, handleOffsetDelete) }

func handleOffsetDelete(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.OffsetDeleteRequest)
	resp := r.ResponseKind().(*kmsg.OffsetDeleteResponse)
	c := s.groups()
	if !s.allowed(req, opDelete, rtGroup, r.Group) {
		resp.ErrorCode = kerr.GroupAuthorizationFailed.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	// READ on each topic, else TOPIC_AUTHORIZATION_FAILED on its
	// partitions, whose offsets stay.
	deniedTopic := make([]bool, len(r.Topics))
	var topics []group.TopicPartitions
	for ti, t := range r.Topics {
		if !s.allowed(req, opRead, rtTopic, t.Topic) {
			deniedTopic[ti] = true
			continue
		}
		tp := group.TopicPartitions{Topic: t.Topic}
		for _, p := range t.Partitions {
			tp.Partitions = append(tp.Partitions, p.Partition)
		}
		topics = append(topics, tp)
	}
	return Defer(func(ctx context.Context) Reply {
		var errs []error
		err := errNoCoordinator
		if c != nil {
			errs, err = c.DeleteOffsets(ctx, r.Group, topics)
		}
		if err != nil {
			resp.ErrorCode = groupErrCode(err)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		i := 0
		for ti, t := range r.Topics {
			rt := kmsg.NewOffsetDeleteResponseTopic()
			rt.Topic = t.Topic
			for _, p := range t.Partitions {
				rp := kmsg.NewOffsetDeleteResponseTopicPartition()
				rp.Partition = p.Partition
				if deniedTopic[ti] {
					rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
					s.countErr(req, rp.ErrorCode)
					rt.Partitions = append(rt.Partitions, rp)
					continue
				}
				if errs[i] != nil {
					rp.ErrorCode = groupErrCode(errs[i])
					s.countErr(req, rp.ErrorCode)
				}
				rt.Partitions = append(rt.Partitions, rp)
				i++
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Respond(resp)
	})
}
