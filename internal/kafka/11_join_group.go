package kafka

import (
	"context"
	"net"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// JoinGroup: v0-9
//
// Behaviour: see internal/group (classic protocol, KIP-394 two-step join for
// v4+, KIP-345 static members for v5+, KIP-814 SkipAssignment for v9). The
// request parks until the rebalance's join phase completes.
//
// Version notes: v0 has no rebalance timeout (the session timeout is used,
// as Kafka does; librdkafka needs v0 advertised); v1 rebalance timeout
// (kafka-python 2.0.2 uses v1-v2); v2 throttle; v4 MEMBER_ID_REQUIRED;
// v5 group.instance.id; v6 flexible; v7 protocol type and name in the
// response; v8 reason; v9 SkipAssignment.
func init() { Register(kmsg.JoinGroup, 0, 9, handleJoinGroup) }

func handleJoinGroup(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.JoinGroupRequest)
	resp := r.ResponseKind().(*kmsg.JoinGroupResponse)
	fail := func(code int16) Reply {
		resp.ErrorCode = code
		resp.Generation = -1
		s.countErr(req, code)
		return Respond(resp)
	}
	c, code := s.memberGroup(req, r.Group)
	if c == nil {
		return fail(code)
	}
	jr := group.JoinRequest{
		Group:                  r.Group,
		MemberID:               r.MemberID,
		InstanceID:             strOr(r.InstanceID),
		ClientID:               req.ClientID,
		ClientHost:             clientHost(req.Conn),
		ProtocolType:           r.ProtocolType,
		SessionTimeout:         time.Duration(r.SessionTimeoutMillis) * time.Millisecond,
		RebalanceTimeout:       time.Duration(r.RebalanceTimeoutMillis) * time.Millisecond,
		RequireKnownMemberID:   r.Version >= 4,
		SupportsSkipAssignment: r.Version >= 9,
	}
	if r.Version == 0 {
		jr.RebalanceTimeout = jr.SessionTimeout
	}
	for _, p := range r.Protocols {
		jr.Protocols = append(jr.Protocols, group.Protocol{Name: p.Name, Metadata: p.Metadata})
	}
	return Defer(func(ctx context.Context) Reply {
		res, err := c.Join(ctx, jr)
		if err != nil {
			resp.MemberID = res.MemberID // set with MEMBER_ID_REQUIRED
			return fail(groupErrCode(err))
		}
		resp.Generation = res.Generation
		resp.ProtocolType = &res.ProtocolType
		resp.Protocol = &res.Protocol
		resp.LeaderID = res.LeaderID
		resp.MemberID = res.MemberID
		resp.SkipAssignment = res.SkipAssignment
		for _, m := range res.Members {
			rm := kmsg.NewJoinGroupResponseMember()
			rm.MemberID = m.MemberID
			if m.InstanceID != "" {
				id := m.InstanceID
				rm.InstanceID = &id
			}
			rm.ProtocolMetadata = m.Metadata
			resp.Members = append(resp.Members, rm)
		}
		return Respond(resp)
	})
}

// clientHost formats the client's address as Kafka does ("/127.0.0.1").
func clientHost(ci *ConnInfo) string {
	if ci == nil || ci.Remote == nil {
		return ""
	}
	host, _, err := net.SplitHostPort(ci.Remote.String())
	if err != nil {
		return "/" + ci.Remote.String()
	}
	return "/" + host
}
