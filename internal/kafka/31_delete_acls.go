package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
)

// DeleteAcls: v1-3 (Kafka 4 dropped v0, KIP-896)
//
// Behaviour: removes every binding a filter selects (the filters of
// DescribeAcls, MATCH included) in one durable write, applied to every
// connection's next request, and answers per filter the bindings it
// removed. A filter with an UNKNOWN element: INVALID_REQUEST on its
// result. Needs ALTER on the cluster, else CLUSTER_AUTHORIZATION_FAILED
// on every result. Without an authorizer: SECURITY_DISABLED, as Kafka.
//
// Version notes: v1 pattern types (KIP-290); v2 flexible; v3 USER
// resources (KIP-554).
func init() { Register(kmsg.DeleteACLs, 1, 3, handleDeleteACLs) }

func handleDeleteACLs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DeleteACLsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteACLsResponse)
	resp.Results = make([]kmsg.DeleteACLsResponseResult, len(r.Filters))
	failAll := func(code int16, msg string) Reply {
		for i := range resp.Results {
			resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = code, errMsg(msg)
			s.countErr(req, code)
		}
		return Respond(resp)
	}
	a := s.cfg.ACLs
	if code, msg := s.aclWriteRefusal(req); code != 0 {
		return failAll(code, msg)
	}
	fs := make([]acl.Filter, len(r.Filters))
	for i, f := range r.Filters {
		fs[i] = acl.Filter{
			ResourceType: f.ResourceType, ResourceName: f.ResourceName, PatternType: f.ResourcePatternType,
			Principal: f.Principal, Host: f.Host, Operation: f.Operation, Permission: f.PermissionType,
		}
	}
	return Defer(func(context.Context) Reply {
		removed, errs, err := a.Delete(fs)
		if err != nil {
			s.log.Error("delete acls", "err", err)
			return failAll(ErrorCode(err), "removing the ACLs failed: "+*errMessage(err))
		}
		for i := range resp.Results {
			res := &resp.Results[i]
			if errs[i] != nil {
				res.ErrorCode, res.ErrorMessage = aclErrCode(errs[i]), errMsg(errs[i].Error())
				s.countErr(req, res.ErrorCode)
				continue
			}
			for _, b := range removed[i] {
				m := kmsg.NewDeleteACLsResponseResultMatchingACL()
				m.ResourceType, m.ResourceName, m.ResourcePatternType = b.ResourceType, b.ResourceName, b.PatternType
				m.Principal, m.Host, m.Operation, m.PermissionType = b.Principal, b.Host, b.Operation, b.Permission
				res.MatchingACLs = append(res.MatchingACLs, m)
			}
		}
		s.log.Info("acls deleted", "principal", req.Conn.Principal, "filters", len(fs))
		return Respond(resp)
	})
}
