package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// SyncGroup: v0-5
//
// Behaviour: the leader's assignment completes the rebalance; followers
// park until it arrives. Members a "consumer" group leader leaves out get a
// decodable empty assignment.
//
// Version notes: v0 used by librdkafka, v0-v1 by kafka-python 2.0.2;
// v1 throttle; v3 group.instance.id; v4 flexible; v5 protocol type and
// name (INCONSISTENT_GROUP_PROTOCOL when they differ from the group's).
func init() { Register(kmsg.SyncGroup, 0, 5, handleSyncGroup) }

func handleSyncGroup(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.SyncGroupRequest)
	resp := r.ResponseKind().(*kmsg.SyncGroupResponse)
	c, code := s.memberGroup(req, r.Group)
	if c == nil {
		resp.ErrorCode = code
		s.countErr(req, code)
		return Respond(resp)
	}
	sr := group.SyncRequest{
		Group:        r.Group,
		MemberID:     r.MemberID,
		InstanceID:   strOr(r.InstanceID),
		Generation:   r.Generation,
		ProtocolType: strOr(r.ProtocolType),
		Protocol:     strOr(r.Protocol),
	}
	if len(r.GroupAssignment) > 0 {
		sr.Assignments = make(map[string][]byte, len(r.GroupAssignment))
		for _, a := range r.GroupAssignment {
			sr.Assignments[a.MemberID] = a.MemberAssignment
		}
	}
	return Defer(func(ctx context.Context) Reply {
		res, err := c.Sync(ctx, sr)
		if err != nil {
			resp.ErrorCode = groupErrCode(err)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		resp.ProtocolType = &res.ProtocolType
		resp.Protocol = &res.Protocol
		resp.MemberAssignment = res.Assignment
		return Respond(resp)
	})
}
