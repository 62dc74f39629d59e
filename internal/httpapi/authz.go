package httpapi

// Authorization of HTTP routes: each route pattern is mapped to the Kafka
// operation it equals (docs/security.md has the table), checked against
// the request's principal (auth.FromContext, set by the authentication
// middleware) and remote address before the route runs. List routes check
// per item and leave out what the caller may not DESCRIBE, so no route
// reveals the names of topics (or groups) the caller may not see. Routes
// whose resource is in the body (topic create, redrive targets, queue
// topics, offset resets) check it with Allowed once they have read it.

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
)

// AuthorizationError is a request the principal may not make (403
// authorization_failed). Name is what the caller named, never a resource
// it did not.
type AuthorizationError struct {
	Op   kmsg.ACLOperation
	Type kmsg.ACLResourceType
	Name string
}

func (e *AuthorizationError) Error() string {
	if e.Type == kmsg.ACLResourceTypeCluster {
		return fmt.Sprintf("not authorized: this needs %s on the cluster", e.Op)
	}
	return fmt.Sprintf("not authorized: this needs %s on %s %q", e.Op, strings.ToLower(acl.ResourceTypeString(e.Type)), e.Name)
}

// Forbidden returns the *AuthorizationError for op on rt/name.
func Forbidden(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) error {
	return &AuthorizationError{Op: op, Type: rt, Name: name}
}

// routeCheck decides one route's authorization from the request (path
// values) with allowed; it returns the refusal or nil.
type routeCheck func(r *http.Request, allowed func(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool) error

// need is the check of one operation on the resource named by a path
// value (param) or, for the cluster, the cluster.
func need(op kmsg.ACLOperation, rt kmsg.ACLResourceType, param string) routeCheck {
	return func(r *http.Request, allowed func(kmsg.ACLOperation, kmsg.ACLResourceType, string) bool) error {
		name := acl.ClusterName
		if rt != kmsg.ACLResourceTypeCluster {
			name = r.PathValue(param)
		}
		if !allowed(op, rt, name) {
			return Forbidden(op, rt, name)
		}
		return nil
	}
}

// open lets every (authenticated) principal in: the route checks what it
// touches itself (list filters, resources named in the body) or serves
// nothing that needs a permission.
func open(*http.Request, func(kmsg.ACLOperation, kmsg.ACLResourceType, string) bool) error {
	return nil
}

const (
	opRead            = kmsg.ACLOperationRead
	opWrite           = kmsg.ACLOperationWrite
	opCreate          = kmsg.ACLOperationCreate
	opDelete          = kmsg.ACLOperationDelete
	opAlter           = kmsg.ACLOperationAlter
	opDescribe        = kmsg.ACLOperationDescribe
	opAlterConfigs    = kmsg.ACLOperationAlterConfigs
	opDescribeConfigs = kmsg.ACLOperationDescribeConfigs
	rtTopic           = kmsg.ACLResourceTypeTopic
	rtGroup           = kmsg.ACLResourceTypeGroup
	rtCluster         = kmsg.ACLResourceTypeCluster
)

// routeRules maps every route pattern to its check; docs/security.md
// prints the same table. A pattern missing here is checked by
// defaultRule (TestEveryRouteHasARule keeps the table complete).
var routeRules = map[string]routeCheck{
	// Probes and metrics carry no ACL: authentication (or
	// --metrics-public) decides who reads /metrics.
	"GET /healthz": open,
	"GET /readyz":  open,
	"GET /metrics": open,
	// Status describes the whole node.
	"GET /v1/status": need(opDescribe, rtCluster, ""),
	// The overview's totals and top lists; entries the user may not
	// DESCRIBE are left out of the lists.
	"GET /v1/overview": need(opDescribe, rtCluster, ""),
	// Topics (admin.go): the list shows topics the caller may DESCRIBE.
	"GET /v1/topics":                        open,
	"GET /v1/topics/{topic}":                need(opDescribe, rtTopic, "topic"),
	"GET /v1/topics/{topic}/messages":       need(opRead, rtTopic, "topic"),
	"POST /v1/topics":                       open, // CREATE on the cluster or the named topic, checked in createTopic
	"DELETE /v1/topics/{topic}":             need(opDelete, rtTopic, "topic"),
	"POST /v1/topics/{topic}/redrive":       need(opRead, rtTopic, "topic"), // + WRITE on each target, in redrive
	"GET /v1/groups":                        open,
	"GET /v1/groups/{group}":                need(opDescribe, rtGroup, "group"),
	"POST /v1/groups/{group}/offsets/reset": need(opRead, rtGroup, "group"), // + READ on the topics, in resetOffsets
	// Console writes (admin_write.go) and the stream search.
	"POST /v1/topics/{topic}/messages": need(opWrite, rtTopic, "topic"),
	"PATCH /v1/topics/{topic}/configs": need(opAlterConfigs, rtTopic, "topic"),
	"DELETE /v1/groups/{group}":        need(opDelete, rtGroup, "group"),
	"GET /v1/topics/{topic}/streams":   need(opRead, rtTopic, "topic"),
	// Event streams and subscriptions (streams.go).
	"POST /v1/topics/{topic}/streams/{stream}":          need(opWrite, rtTopic, "topic"),
	"GET /v1/topics/{topic}/streams/{stream}":           need(opRead, rtTopic, "topic"),
	"GET /v1/topics/{topic}/streams/{stream}/subscribe": need(opRead, rtTopic, "topic"),
	"GET /v1/topics/{topic}/subscribe":                  need(opRead, rtTopic, "topic"),
	"GET /v1/views/{name}/subscribe":                    need(opRead, rtTopic, "name"),
	// Views (views.go) are topics: creating one is creating a topic.
	"PUT /v1/views/{name}":    open, // CREATE on the cluster or the view, READ on its source, in views.put
	"GET /v1/views":           open,
	"GET /v1/views/{name}":    need(opDescribe, rtTopic, "name"),
	"DELETE /v1/views/{name}": need(opDelete, rtTopic, "name"),
	// Queues (queues.go): READ on the share group, and on the topics.
	"POST /v1/share-groups/{group}/receive":       need(opRead, rtGroup, "group"), // + READ on the topics, in receive
	"POST /v1/share-groups/{group}/ack":           need(opRead, rtGroup, "group"),
	"POST /v1/share-groups/{group}/offsets/reset": need(opRead, rtGroup, "group"),     // + READ on the topic, in resetShareOffsets
	"GET /v1/share-groups/{group}":                need(opDescribe, rtGroup, "group"), // partitions of topics without DESCRIBE left out
	"GET /v1/share-groups":                        open,                               // the groups the caller may DESCRIBE, as GET /v1/groups
	// The schema registry checks its own routes (registry.Authorize).
	"/schema-registry/": open,
	// The console's pages and assets hold no data; the data comes from
	// the routes above, checked as the caller.
	"GET /ui/static/": open,
	"GET /{$}":        open,
	"GET /ui":         open,
}

// Routes returns every registered route pattern.
func (s *Server) Routes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.mu.routes...)
}

// HasRule reports whether routeRules maps pattern (the console's pages
// need none); a route without one gets defaultRule.
func HasRule(pattern string) bool {
	_, ok := routeRules[pattern]
	return ok || strings.HasPrefix(pattern, "GET /ui/")
}

// defaultRule checks a route missing from routeRules: reads need
// DESCRIBE on the cluster, changes ALTER on it.
func defaultRule(pattern string) routeCheck {
	if strings.HasPrefix(pattern, "GET /ui/") {
		return open // console pages
	}
	if strings.HasPrefix(pattern, "GET ") || strings.HasPrefix(pattern, "HEAD ") {
		return need(opDescribe, rtCluster, "")
	}
	return need(opAlter, rtCluster, "")
}

func ruleFor(pattern string) routeCheck {
	if c, ok := routeRules[pattern]; ok {
		return c
	}
	return defaultRule(pattern)
}

// authorized wraps h with pattern's check when an authorizer is set; the
// request's context then carries the authorizer for Allowed.
func (s *Server) authorized(pattern string, h http.Handler) http.Handler {
	s.mu.Lock()
	s.mu.routes = append(s.mu.routes, pattern)
	s.mu.Unlock()
	a := s.cfg.Authorizer
	if a == nil {
		return h
	}
	check := ruleFor(pattern)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), authzKey{}, a))
		if err := check(r, func(op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
			return Allowed(r, op, rt, name)
		}); err != nil {
			s.WriteError(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

type authzKey struct{}

// Allowed reports whether the request's principal, from its remote
// address, may perform op on rt/name. It is true when no authorizer is
// configured. Routes use it for what their pattern does not name: list
// items and resources in the body.
func Allowed(r *http.Request, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	a, _ := r.Context().Value(authzKey{}).(auth.Authorizer)
	if a == nil {
		return true
	}
	return a.Authorize(auth.FromContext(r.Context()), RemoteHost(r), op, rt, name)
}

// AllowedCluster is Allowed on the cluster.
func AllowedCluster(r *http.Request, op kmsg.ACLOperation) bool {
	return Allowed(r, op, rtCluster, acl.ClusterName)
}

// RemoteHost is the request's remote IP address in text form, as ACL
// hosts match it.
func RemoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
