package kafka

import (
	"context"

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
	return Defer(func(ctx context.Context) Reply {
		var errs []error
		if c != nil {
			errs = c.Delete(ctx, r.Groups)
		}
		for i, g := range r.Groups {
			rg := kmsg.NewDeleteGroupsResponseGroup()
			rg.Group = g
			err := errNoCoordinator
			if c != nil {
				err = errs[i]
			}
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
