package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteShareGroupOffsets: v0
//
// Behaviour: forgets the group's state for whole topics, so their
// partitions start again from share.auto.offset.reset; the group must be
// empty (NON_EMPTY_GROUP), an unknown group is GROUP_ID_NOT_FOUND.
func init() { Register(kmsg.DeleteShareGroupOffsets, 0, 0, handleDeleteShareGroupOffsets) }

func handleDeleteShareGroupOffsets(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DeleteShareGroupOffsetsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteShareGroupOffsetsResponse)
	c := s.shareCoord()
	if c == nil {
		resp.ErrorCode, resp.ErrorMessage = shareErrCode(errNoShareCoordinator), errMessage(errNoShareCoordinator)
		return Respond(resp)
	}
	if !s.allowed(req, opDelete, rtGroup, r.GroupID) {
		resp.ErrorCode, resp.ErrorMessage = kerr.GroupAuthorizationFailed.Code, errMsg(msgGroupAuth)
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	if !c.Exists(r.GroupID) {
		resp.ErrorCode = shareErrCode(errShareGroupNotFound(r.GroupID))
		resp.ErrorMessage = errMessage(errShareGroupNotFound(r.GroupID))
		return Respond(resp)
	}
	return Defer(func(context.Context) Reply {
		for _, rt := range r.Topics {
			t := kmsg.NewDeleteShareGroupOffsetsResponseTopic()
			t.Topic = rt.Topic
			if !s.allowed(req, opRead, rtTopic, rt.Topic) {
				t.ErrorCode, t.ErrorMessage = kerr.TopicAuthorizationFailed.Code, errMsg(msgTopicAuth)
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
			if info, err := s.b.Topic(rt.Topic); err == nil {
				t.TopicID = info.ID
			}
			if err := c.DeleteOffsets(r.GroupID, rt.Topic); err != nil {
				t.ErrorCode, t.ErrorMessage = shareErrCode(err), errMessage(err)
				s.countErr(req, t.ErrorCode)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return Respond(resp)
	})
}
