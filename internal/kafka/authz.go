package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
)

// Authorization: every handler asks s.allowed (or allowedCluster) once per
// resource it acts on, with the operation Kafka's authorization table
// names for the API (docs/security.md), and answers the API's
// *_AUTHORIZATION_FAILED code where Kafka does. With no authorizer
// configured (Config.Authorizer nil or auth.AllowAll) every check is a nil
// comparison.

// Operation and resource-type shorthands for the handlers.
const (
	opRead            = kmsg.ACLOperationRead
	opWrite           = kmsg.ACLOperationWrite
	opCreate          = kmsg.ACLOperationCreate
	opDelete          = kmsg.ACLOperationDelete
	opAlter           = kmsg.ACLOperationAlter
	opDescribe        = kmsg.ACLOperationDescribe
	opDescribeConfigs = kmsg.ACLOperationDescribeConfigs
	opAlterConfigs    = kmsg.ACLOperationAlterConfigs
	opIdempotentWrite = kmsg.ACLOperationIdempotentWrite

	rtTopic   = kmsg.ACLResourceTypeTopic
	rtGroup   = kmsg.ACLResourceTypeGroup
	rtCluster = kmsg.ACLResourceTypeCluster
	rtTxnID   = kmsg.ACLResourceTypeTransactionalId
)

// anyAuthorizer is an authorizer that can also answer Kafka's
// authorizeByResourceType (acl.Authorizer does).
type anyAuthorizer interface {
	AuthorizeAny(p auth.Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType) bool
}

// authorizer returns the configured authorizer, nil when everything is
// allowed.
func authorizerOf(cfg *Config) auth.Authorizer {
	switch cfg.Authorizer.(type) {
	case nil, auth.AllowAll, *auth.AllowAll:
		return nil
	}
	return cfg.Authorizer
}

// allowed reports whether the request's principal may perform op on the
// resource rt/name.
func (s *Server) allowed(req *Request, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	if s.authz == nil {
		return true
	}
	return s.authz.Authorize(req.Conn.Principal, req.Conn.Host, op, rt, name)
}

// allowedCluster reports whether the request's principal may perform op
// on the cluster.
func (s *Server) allowedCluster(req *Request, op kmsg.ACLOperation) bool {
	return s.allowed(req, op, rtCluster, acl.ClusterName)
}

// allowedAny reports whether the principal may perform op on some
// resource of type rt (Kafka's authorizeByResourceType).
func (s *Server) allowedAny(req *Request, op kmsg.ACLOperation, rt kmsg.ACLResourceType) bool {
	if s.authz == nil {
		return true
	}
	if a, ok := s.authz.(anyAuthorizer); ok {
		return a.AuthorizeAny(req.Conn.Principal, req.Conn.Host, op, rt)
	}
	return s.authz.Authorize(req.Conn.Principal, req.Conn.Host, op, rt, "*")
}

// authorizedOps is the bit field of ops the principal may perform on
// rt/name, for the IncludeAuthorizedOperations fields of Metadata and
// DescribeGroups (bit i is kmsg.ACLOperation(i)).
func (s *Server) authorizedOps(req *Request, rt kmsg.ACLResourceType, name string, ops []kmsg.ACLOperation) int32 {
	var bits int32
	for _, op := range ops {
		if s.allowed(req, op, rt, name) {
			bits |= 1 << op
		}
	}
	return bits
}

var (
	topicOps = []kmsg.ACLOperation{opRead, opWrite, opCreate, opDelete, opAlter, opDescribe, opDescribeConfigs, opAlterConfigs}
	groupOps = []kmsg.ACLOperation{opRead, opDelete, opDescribe}
	// clusterOps are the cluster operations Kafka reports.
	clusterOps = []kmsg.ACLOperation{opCreate, opAlter, opDescribe, kmsg.ACLOperationClusterAction, opDescribeConfigs, opAlterConfigs, opIdempotentWrite}
)

// Authorization failure messages, as Kafka words them.
var (
	msgTopicAuth   = kerr.TopicAuthorizationFailed.Message
	msgGroupAuth   = kerr.GroupAuthorizationFailed.Message
	msgClusterAuth = kerr.ClusterAuthorizationFailed.Message
	msgTxnAuth     = kerr.TransactionalIDAuthorizationFailed.Message
)

// errMsg returns a pointer to a copy of m for optional message fields.
func errMsg(m string) *string { return &m }

// configDenied checks op (DESCRIBE_CONFIGS or ALTER_CONFIGS) on a config
// resource: a topic's on the topic, the broker's on the cluster, a
// group's on the group. It returns the code and message of a refusal, or
// 0.
func (s *Server) configDenied(req *Request, op kmsg.ACLOperation, t kmsg.ConfigResourceType, name string) (int16, *string) {
	if s.authz == nil {
		return 0, nil
	}
	switch t {
	case kmsg.ConfigResourceTypeTopic:
		if !s.allowed(req, op, rtTopic, name) {
			return kerr.TopicAuthorizationFailed.Code, errMsg(msgTopicAuth)
		}
	case kmsg.ConfigResourceTypeGroupConfig:
		if !s.allowed(req, op, rtGroup, name) {
			return kerr.GroupAuthorizationFailed.Code, errMsg(msgGroupAuth)
		}
	default: // broker, broker logger, client metrics: the cluster
		if !s.allowedCluster(req, op) {
			return kerr.ClusterAuthorizationFailed.Code, errMsg(msgClusterAuth)
		}
	}
	return 0, nil
}

// Authorization failures as errors, for handlers that answer through an
// error (ErrorCode keeps a *kerr.Error's code).
var (
	errGroupAuth error = kerr.GroupAuthorizationFailed
	errTopicAuth error = kerr.TopicAuthorizationFailed
)
