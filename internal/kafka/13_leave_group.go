package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// LeaveGroup: v0-5
//
// Behaviour: removes members and rebalances the rest. v0-2 name one member
// and carry its error at the top level; v3+ batch members, static ones by
// instance id, each with its own error.
//
// Version notes: v0 used by librdkafka, v0-v1 by kafka-python 2.0.2;
// v1 throttle; v3 batched members (KIP-345); v4 flexible; v5 reason.
func init() { Register(kmsg.LeaveGroup, 0, 5, handleLeaveGroup) }

func handleLeaveGroup(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.LeaveGroupRequest)
	resp := r.ResponseKind().(*kmsg.LeaveGroupResponse)
	c, code := s.memberGroup(req, r.Group)
	if c == nil {
		resp.ErrorCode = code
		s.countErr(req, code)
		return Respond(resp)
	}
	var members []group.LeaveMember
	if r.Version < 3 {
		members = []group.LeaveMember{{MemberID: r.MemberID}}
	} else {
		for _, m := range r.Members {
			members = append(members, group.LeaveMember{MemberID: m.MemberID, InstanceID: strOr(m.InstanceID)})
		}
	}
	return Defer(func(ctx context.Context) Reply {
		errs, err := c.Leave(ctx, r.Group, members)
		if err != nil {
			resp.ErrorCode = groupErrCode(err)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		if r.Version < 3 {
			resp.ErrorCode = groupErrCode(errs[0])
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		for i, m := range r.Members {
			rm := kmsg.NewLeaveGroupResponseMember()
			rm.MemberID = m.MemberID
			rm.InstanceID = m.InstanceID
			if errs[i] != nil {
				rm.ErrorCode = groupErrCode(errs[i])
				s.countErr(req, rm.ErrorCode)
			}
			resp.Members = append(resp.Members, rm)
		}
		return Respond(resp)
	})
}
