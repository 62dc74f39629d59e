package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ListGroups: v0-5
//
// Behaviour: every group with its protocol type; v4+ state filter, v5+
// type filter ("classic" matches every Eddy group; "consumer" none — Eddy
// has no KIP-848 groups; "share" the share groups of internal/share).
//
// Version notes: v1 throttle; v3 flexible; v4 states; v5 types.
func init() { Register(kmsg.ListGroups, 0, 5, handleListGroups) }

func handleListGroups(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ListGroupsRequest)
	resp := r.ResponseKind().(*kmsg.ListGroupsResponse)
	c := s.groups()
	if c == nil {
		resp.ErrorCode = ErrorCode(errNoCoordinator)
		return Respond(resp)
	}
	return Defer(func(ctx context.Context) Reply {
		ls, err := c.List(ctx, r.StatesFilter, r.TypesFilter)
		if err != nil {
			resp.ErrorCode = groupErrCode(err)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		// DESCRIBE on the cluster lists every group; otherwise only the
		// groups the principal may DESCRIBE.
		all := s.allowedCluster(req, opDescribe)
		for _, l := range ls {
			if !all && !s.allowed(req, opDescribe, rtGroup, l.Group) {
				continue
			}
			rg := kmsg.NewListGroupsResponseGroup()
			rg.Group = l.Group
			rg.ProtocolType = l.ProtocolType
			rg.GroupState = l.State.String()
			rg.GroupType = "classic"
			resp.Groups = append(resp.Groups, rg)
		}
		for _, g := range s.listShareGroups(r.StatesFilter, r.TypesFilter) {
			if all || s.allowed(req, opDescribe, rtGroup, g.Group) {
				resp.Groups = append(resp.Groups, g)
			}
		}
		return Respond(resp)
	})
}
