package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteGroups: v0-2
//
// Behaviour: deletes Empty groups with their committed offsets (durably);
// NON_EMPTY_GROUP while members remain, GROUP_ID_NOT_FOUND for unknown
// groups.
//
// Version notes: v1 no change; v2 flexible.
func init() { Register(kmsg.DeleteGroups, 0, 2, handleDeleteGroups) }

func handleDeleteGroups(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DeleteGroupsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteGroupsResponse)
	c := s.groups()
	// DELETE on each group, else GROUP_AUTHORIZATION_FAILED.
	groups := r.Groups
	var denied map[string]bool
	if s.authz != nil {
		groups = nil
		for _, g := range r.Groups {
			if s.allowed(req, opDelete, rtGroup, g) {
				groups = append(groups, g)
			} else {
				if denied == nil {
					denied = map[string]bool{}
				}
				denied[g] = true
			}
		}
	}
	return Defer(func(ctx context.Context) Reply {
		var errs []error
		if c != nil && len(groups) > 0 {
			errs = c.Delete(ctx, groups)
		}
		i := 0
		for _, g := range r.Groups {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group = g
			if denied[g] {
				rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
				s.countErr(req, rg.ErrorCode)
				resp.Groups = append(resp.Groups, rg)
				continue
			}
			err := errNoCoordinator
			if c != nil {
				err = errs[i]
			}
			i++
			if err != nil {
				rg.ErrorCode = groupErrCode(err)
			}
			if sc := s.shareCoord(); sc != nil && sc.Exists(g) {
				rg.ErrorCode = shareErrCode(sc.Delete(g))
			}
			s.countErr(req, rg.ErrorCode)
			resp.Groups = append(resp.Groups, rg)
		}
		return Respond(resp)
	})
}
