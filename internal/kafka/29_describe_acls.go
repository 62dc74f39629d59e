package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
)

// DescribeAcls: v1-3 (Kafka 4 dropped v0, KIP-896)
//
// Behaviour: the bindings the filter selects (resource type, name and
// pattern type with ANY and MATCH, principal, host, operation, permission;
// a null string matches every value), grouped by resource pattern.
// Needs DESCRIBE on the cluster, else CLUSTER_AUTHORIZATION_FAILED.
// Without an authorizer (--authorizer none): SECURITY_DISABLED, as Kafka.
// A filter with an UNKNOWN element: INVALID_REQUEST.
//
// Version notes: v1 pattern types (KIP-290); v2 flexible; v3 USER
// resources (KIP-554).
func init() { Register(kmsg.DescribeACLs, 1, 3, handleDescribeACLs) }

// msgNoAuthorizer is Kafka's SECURITY_DISABLED message for the ACL APIs.
const msgNoAuthorizer = "No Authorizer is configured: start Eddy with --authorizer acl"

func handleDescribeACLs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DescribeACLsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeACLsResponse)
	fail := func(code int16, msg string) Reply {
		resp.ErrorCode, resp.ErrorMessage = code, &msg
		s.countErr(req, code)
		return Respond(resp)
	}
	a := s.cfg.ACLs
	switch {
	case a == nil:
		return fail(kerr.SecurityDisabled.Code, msgNoAuthorizer)
	case !s.allowedCluster(req, opDescribe):
		return fail(kerr.ClusterAuthorizationFailed.Code, msgClusterAuth)
	}
	f := acl.Filter{
		ResourceType: r.ResourceType, ResourceName: r.ResourceName, PatternType: r.ResourcePatternType,
		Principal: r.Principal, Host: r.Host, Operation: r.Operation, Permission: r.PermissionType,
	}
	if err := f.Validate(); err != nil {
		return fail(kerr.InvalidRequest.Code, err.Error())
	}
	// Bindings come sorted by resource, so each resource is one run.
	for _, b := range a.Describe(f) {
		n := len(resp.Resources)
		if n == 0 || resp.Resources[n-1].ResourceType != b.ResourceType ||
			resp.Resources[n-1].ResourceName != b.ResourceName || resp.Resources[n-1].ResourcePatternType != b.PatternType {
			res := kmsg.NewDescribeACLsResponseResource()
			res.ResourceType, res.ResourceName, res.ResourcePatternType = b.ResourceType, b.ResourceName, b.PatternType
			resp.Resources = append(resp.Resources, res)
			n++
		}
		e := kmsg.NewDescribeACLsResponseResourceACL()
		e.Principal, e.Host, e.Operation, e.PermissionType = b.Principal, b.Host, b.Operation, b.Permission
		resp.Resources[n-1].ACLs = append(resp.Resources[n-1].ACLs, e)
	}
	return Respond(resp)
}
