// Package acl is Eddy's ACL authorizer: Kafka's access-control lists, kept
// in the meta store and checked by every front end through auth.Authorizer.
//
// The model is Kafka's (KIP-11, KIP-290): a Binding allows or denies one
// principal ("User:alice", or "User:*" for every user), connecting from one
// host ("*" or an IP address), one operation on the resources a pattern
// names. A LITERAL pattern names one resource, or every resource of its type
// when the name is "*"; a PREFIXED pattern names every resource whose name
// starts with it. DENY wins over ALLOW. ALL matches every operation; an ALLOW
// of READ, WRITE, DELETE or ALTER also allows DESCRIBE, and an ALLOW of
// ALTER_CONFIGS also allows DESCRIBE_CONFIGS. Super users are allowed
// everything; when no binding names a resource at all, the action is denied
// unless AllowIfNoACL is set (Kafka's allow.everyone.if.no.acl.found).
//
// Besides Kafka's resource types Eddy has SUBJECT (ResourceTypeSubject), a
// schema-registry subject, as Confluent's registry ACLs have.
//
// Bindings are stored in meta's "acls" bucket (docs/format/acls.md), one key
// per binding, fsynced before a change returns; every change publishes a new
// immutable index that checks read without locks or allocation, so a change
// applies to every connection's next request.
package acl

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ClusterName is the name of the one CLUSTER resource, as in Kafka.
const ClusterName = "kafka-cluster"

// WildcardPrincipal matches every user principal.
const WildcardPrincipal = "User:*"

// ResourceTypeSubject is the resource type of a schema-registry subject.
// Kafka's resource types stop at USER (7); 100 leaves room for Kafka's
// future ones. Kafka's own tools do not know it: create subject ACLs with
// `eddy acl create --subject`, or send the code 100 in CreateAcls.
const ResourceTypeSubject kmsg.ACLResourceType = 100

// Binding is one ACL: a resource pattern and an access control entry.
type Binding struct {
	ResourceType kmsg.ACLResourceType
	ResourceName string
	PatternType  kmsg.ACLResourcePatternType
	Principal    string
	Host         string
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// String renders b as Kafka's tools print an ACL.
func (b Binding) String() string {
	return fmt.Sprintf("(principal=%s, host=%s, operation=%s, permissionType=%s) on %s:%s:%s",
		b.Principal, b.Host, b.Operation, b.Permission, ResourceTypeString(b.ResourceType), b.PatternType, b.ResourceName)
}

// ResourceTypeString names rt, SUBJECT included.
func ResourceTypeString(rt kmsg.ACLResourceType) string {
	if rt == ResourceTypeSubject {
		return "SUBJECT"
	}
	return rt.String()
}

// ParseResourceType parses a resource type name (TOPIC, group,
// transactional-id, SUBJECT, ANY ...).
func ParseResourceType(s string) (kmsg.ACLResourceType, error) {
	if strings.EqualFold(strings.TrimSpace(s), "subject") {
		return ResourceTypeSubject, nil
	}
	rt, err := kmsg.ParseACLResourceType(s)
	if err != nil {
		return 0, fmt.Errorf("unknown resource type %q: want TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, SUBJECT", s)
	}
	return rt, nil
}

// knownType reports whether rt is a concrete resource type a binding may
// name.
func knownType(rt kmsg.ACLResourceType) bool {
	return (rt >= kmsg.ACLResourceTypeTopic && rt <= kmsg.ACLResourceTypeUser) || rt == ResourceTypeSubject
}

// ValidationError is a binding or filter that cannot be used; Kafka answers
// it with INVALID_REQUEST and the message.
type ValidationError struct{ Msg string }

func (e *ValidationError) Error() string { return e.Msg }

func invalid(format string, args ...any) error {
	return &ValidationError{Msg: fmt.Sprintf(format, args...)}
}

// Validate checks that b is a concrete binding that can be stored, with
// the messages Kafka gives.
func (b Binding) Validate() error {
	switch {
	case !knownType(b.ResourceType):
		return invalid("invalid resource type %s: want TOPIC, GROUP, CLUSTER, TRANSACTIONAL_ID, DELEGATION_TOKEN, USER or SUBJECT", ResourceTypeString(b.ResourceType))
	case b.PatternType != kmsg.ACLResourcePatternTypeLiteral && b.PatternType != kmsg.ACLResourcePatternTypePrefixed:
		return invalid("invalid pattern type %s: want LITERAL or PREFIXED", b.PatternType)
	case b.Operation < kmsg.ACLOperationAll || b.Operation > kmsg.ACLOperationDescribeTokens:
		return invalid("invalid operation %s", b.Operation)
	case b.Permission != kmsg.ACLPermissionTypeAllow && b.Permission != kmsg.ACLPermissionTypeDeny:
		return invalid("invalid permission type %s: want ALLOW or DENY", b.Permission)
	case b.ResourceName == "":
		return invalid("resource name should not be empty")
	case b.ResourceType == kmsg.ACLResourceTypeCluster && b.ResourceName != ClusterName:
		return invalid("the only valid name for the CLUSTER resource is %s", ClusterName)
	case b.PatternType == kmsg.ACLResourcePatternTypePrefixed && b.ResourceName == "*":
		return invalid("a PREFIXED pattern cannot be the wildcard *: use LITERAL * for every resource")
	}
	if err := ValidatePrincipal(b.Principal); err != nil {
		return err
	}
	return ValidateHost(b.Host)
}

// ValidatePrincipal checks a principal is "Type:Name" with both parts set.
func ValidatePrincipal(p string) error {
	t, n, ok := strings.Cut(p, ":")
	if !ok || t == "" || n == "" {
		return invalid("could not parse principal from %q: want Type:Name, e.g. User:alice or User:*", p)
	}
	return nil
}

// ValidateHost checks a host is "*" or an IP address.
func ValidateHost(h string) error {
	if h == "*" {
		return nil
	}
	if _, err := netip.ParseAddr(h); err != nil {
		return invalid("invalid host %q: want * or an IP address", h)
	}
	return nil
}

// Filter selects bindings, as DescribeAcls and DeleteAcls requests do: ANY
// matches every value of a field and a nil string matches every string.
// PatternType MATCH with a name selects every binding that would apply to
// a resource of that name: the LITERAL name, the LITERAL "*" and every
// PREFIXED pattern the name starts with.
type Filter struct {
	ResourceType kmsg.ACLResourceType
	ResourceName *string
	PatternType  kmsg.ACLResourcePatternType
	Principal    *string
	Host         *string
	Operation    kmsg.ACLOperation
	Permission   kmsg.ACLPermissionType
}

// Validate refuses filters with UNKNOWN elements, as Kafka does.
func (f Filter) Validate() error {
	switch {
	case f.ResourceType != kmsg.ACLResourceTypeAny && !knownType(f.ResourceType):
		return invalid("filter has an unknown resource type %s", ResourceTypeString(f.ResourceType))
	case f.PatternType < kmsg.ACLResourcePatternTypeAny || f.PatternType > kmsg.ACLResourcePatternTypePrefixed:
		return invalid("filter has an unknown pattern type %s", f.PatternType)
	case f.Operation < kmsg.ACLOperationAny || f.Operation > kmsg.ACLOperationDescribeTokens:
		return invalid("filter has an unknown operation %s", f.Operation)
	case f.Permission < kmsg.ACLPermissionTypeAny || f.Permission > kmsg.ACLPermissionTypeAllow:
		return invalid("filter has an unknown permission type %s", f.Permission)
	}
	return nil
}

// Matches reports whether f selects b.
func (f Filter) Matches(b Binding) bool {
	if f.ResourceType != kmsg.ACLResourceTypeAny && f.ResourceType != b.ResourceType {
		return false
	}
	switch f.PatternType {
	case kmsg.ACLResourcePatternTypeAny, kmsg.ACLResourcePatternTypeMatch:
	default:
		if f.PatternType != b.PatternType {
			return false
		}
	}
	if f.ResourceName != nil {
		name := *f.ResourceName
		if f.PatternType == kmsg.ACLResourcePatternTypeMatch {
			switch b.PatternType {
			case kmsg.ACLResourcePatternTypeLiteral:
				if b.ResourceName != name && b.ResourceName != "*" {
					return false
				}
			case kmsg.ACLResourcePatternTypePrefixed:
				if !strings.HasPrefix(name, b.ResourceName) {
					return false
				}
			default:
				return false
			}
		} else if b.ResourceName != name {
			return false
		}
	}
	if f.Principal != nil && *f.Principal != b.Principal {
		return false
	}
	if f.Host != nil && *f.Host != b.Host {
		return false
	}
	if f.Operation != kmsg.ACLOperationAny && f.Operation != b.Operation {
		return false
	}
	if f.Permission != kmsg.ACLPermissionTypeAny && f.Permission != b.Permission {
		return false
	}
	return true
}

// opMatches reports whether an entry for aclOp with permission allow
// covers op: the same operation, ALL, or (for ALLOW only) an operation
// that implies op.
func opMatches(aclOp, op kmsg.ACLOperation, allow bool) bool {
	if aclOp == op || aclOp == kmsg.ACLOperationAll {
		return true
	}
	if !allow {
		return false
	}
	switch op {
	case kmsg.ACLOperationDescribe:
		switch aclOp {
		case kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDelete, kmsg.ACLOperationAlter:
			return true
		}
	case kmsg.ACLOperationDescribeConfigs:
		return aclOp == kmsg.ACLOperationAlterConfigs
	}
	return false
}

// ParseSuperUsers parses Kafka's super.users list, "User:admin;User:ops".
func ParseSuperUsers(s string) ([]string, error) {
	var out []string
	for _, p := range strings.Split(s, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		if err := ValidatePrincipal(p); err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ErrClosed is returned by changes after Close.
var ErrClosed = errors.New("acl: authorizer closed")
