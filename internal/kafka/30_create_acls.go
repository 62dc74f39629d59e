package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
)

// CreateAcls: v1-3 (Kafka 4 dropped v0, KIP-896)
//
// Behaviour: every valid creation is stored (fsynced to meta) in one
// write and applies to every connection's next request; a binding that
// already exists is kept once. One result per creation: INVALID_REQUEST
// with Kafka's message for an invalid one (resource type, pattern type
// LITERAL or PREFIXED, operation, permission, "Type:Name" principal, host
// "*" or an IP, CLUSTER named kafka-cluster). Needs ALTER on the cluster,
// else CLUSTER_AUTHORIZATION_FAILED on every result. Without an
// authorizer: SECURITY_DISABLED on every result, as Kafka.
//
// Version notes: v1 pattern types (KIP-290); v2 flexible; v3 USER
// resources (KIP-554).
func init() { Register(kmsg.CreateACLs, 1, 3, handleCreateACLs) }

func handleCreateACLs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.CreateACLsRequest)
	resp := r.ResponseKind().(*kmsg.CreateACLsResponse)
	resp.Results = make([]kmsg.CreateACLsResponseResult, len(r.Creations))
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
	bs := make([]acl.Binding, len(r.Creations))
	for i, c := range r.Creations {
		bs[i] = acl.Binding{
			ResourceType: c.ResourceType, ResourceName: c.ResourceName, PatternType: c.ResourcePatternType,
			Principal: c.Principal, Host: c.Host, Operation: c.Operation, Permission: c.PermissionType,
		}
	}
	// Storing fsyncs: off the reader goroutine.
	return Defer(func(context.Context) Reply {
		errs, err := a.Create(bs)
		if err != nil {
			s.log.Error("create acls", "err", err)
			return failAll(ErrorCode(err), "storing the ACLs failed: "+*errMessage(err))
		}
		for i, e := range errs {
			if e != nil {
				resp.Results[i].ErrorCode, resp.Results[i].ErrorMessage = aclErrCode(e), errMsg(e.Error())
				s.countErr(req, resp.Results[i].ErrorCode)
			}
		}
		s.log.Info("acls created", "principal", req.Conn.Principal, "count", len(bs))
		return Respond(resp)
	})
}

// aclWriteRefusal answers why req may not change ACLs, as the error code
// and message every result of CreateAcls or DeleteAcls carries, or 0 when
// it may: SECURITY_DISABLED without an authorizer, CLUSTER_AUTHORIZATION_FAILED
// without ALTER on the cluster.
func (s *Server) aclWriteRefusal(req *Request) (int16, string) {
	switch {
	case s.cfg.ACLs == nil:
		return kerr.SecurityDisabled.Code, msgNoAuthorizer
	case !s.allowedCluster(req, opAlter):
		return kerr.ClusterAuthorizationFailed.Code, msgClusterAuth
	}
	return 0, ""
}

// aclErrCode maps an acl validation error to INVALID_REQUEST.
func aclErrCode(err error) int16 {
	var ve *acl.ValidationError
	if errors.As(err, &ve) {
		return kerr.InvalidRequest.Code
	}
	return ErrorCode(err)
}
