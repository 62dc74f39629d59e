package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Heartbeat: v0-4
//
// Behaviour: keeps a member's session alive; REBALANCE_IN_PROGRESS tells it
// to rejoin, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID as
// Kafka returns them (see internal/group).
//
// Version notes: v0 used by librdkafka, v0-v1 by kafka-python 2.0.2;
// v1 throttle; v3 group.instance.id; v4 flexible.
func init() { Register(kmsg.Heartbeat, 0, 4, handleHeartbeat) }

func handleHeartbeat(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.HeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.HeartbeatResponse)
	c, code := s.memberGroup(req, r.Group)
	if c == nil {
		resp.ErrorCode = code
		s.countErr(req, code)
		return Respond(resp)
	}
	return Defer(func(ctx context.Context) Reply {
		if err := c.Heartbeat(ctx, r.Group, r.MemberID, strOr(r.InstanceID), r.Generation); err != nil {
			resp.ErrorCode = groupErrCode(err)
			s.countErr(req, resp.ErrorCode)
		}
		return Respond(resp)
	})
}
