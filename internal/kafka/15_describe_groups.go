package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// DescribeGroups: v0-6
//
// Behaviour: state, protocol type, protocol (Stable only) and members with
// client id, host, and — when Stable — metadata and assignment. A group
// that does not exist is described as Dead with no error before v6 and
// GROUP_ID_NOT_FOUND from v6, as Kafka 4.
//
// Version notes: v1 throttle; v3 authorized operations (not computed:
// Eddy has no ACLs; -2147483648 = not requested/unknown); v4 instance id;
// v5 flexible; v6 error message.
func init() { Register(kmsg.DescribeGroups, 0, 6, handleDescribeGroups) }

func handleDescribeGroups(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeGroupsResponse)
	c := s.groups()
	return Defer(func(ctx context.Context) Reply {
		fail := func(err error) Reply {
			for _, g := range r.Groups {
				rg := kmsg.NewDescribeGroupsResponseGroup()
				rg.Group = g
				rg.ErrorCode = groupErrCode(err)
				s.countErr(req, rg.ErrorCode)
				resp.Groups = append(resp.Groups, rg)
			}
			return Respond(resp)
		}
		if c == nil {
			return fail(errNoCoordinator)
		}
		// DESCRIBE on each group, else GROUP_AUTHORIZATION_FAILED.
		names := r.Groups
		var denied map[string]bool
		if s.authz != nil {
			names = nil
			for _, g := range r.Groups {
				if s.allowed(req, opDescribe, rtGroup, g) {
					names = append(names, g)
				} else {
					if denied == nil {
						denied = map[string]bool{}
					}
					denied[g] = true
				}
			}
		}
		var ds []group.Description
		if len(names) > 0 || denied == nil {
			var err error
			if ds, err = c.Describe(ctx, names); err != nil {
				return fail(err)
			}
		}
		for _, g := range r.Groups {
			if denied[g] {
				rg := kmsg.NewDescribeGroupsResponseGroup()
				rg.Group = g
				rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
				rg.ErrorMessage = errMsg(msgGroupAuth)
				s.countErr(req, rg.ErrorCode)
				resp.Groups = append(resp.Groups, rg)
			}
		}
		for _, d := range ds {
			rg := kmsg.NewDescribeGroupsResponseGroup()
			if r.IncludeAuthorizedOperations {
				rg.AuthorizedOperations = s.authorizedOps(req, rtGroup, d.Group, groupOps)
			}
			rg.Group = d.Group
			rg.State = d.State.String()
			rg.ProtocolType = d.ProtocolType
			rg.Protocol = d.Protocol
			if !d.Found && r.Version >= 6 {
				rg.ErrorCode = kerr.GroupIDNotFound.Code
				msg := "group " + d.Group + " not found"
				rg.ErrorMessage = &msg
				s.countErr(req, rg.ErrorCode)
			}
			for _, m := range d.Members {
				rm := kmsg.NewDescribeGroupsResponseGroupMember()
				rm.MemberID = m.MemberID
				if m.InstanceID != "" {
					id := m.InstanceID
					rm.InstanceID = &id
				}
				rm.ClientID = m.ClientID
				rm.ClientHost = m.ClientHost
				rm.ProtocolMetadata = m.Metadata
				rm.MemberAssignment = m.Assignment
				rg.Members = append(rg.Members, rm)
			}
			resp.Groups = append(resp.Groups, rg)
		}
		return Respond(resp)
	})
}
