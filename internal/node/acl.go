package node

import (
	"fmt"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
)

// openACL loads the ACL authorizer's bindings from meta when one is
// configured. The Kafka listener and the registry open after it; the HTTP
// listener, open before it, denies every checked route until it is set.
func (n *Node) openACL() error {
	if n.cfg.ACL == nil {
		return nil
	}
	a, err := acl.Open(n.Meta, *n.cfg.ACL)
	if err != nil {
		return fmt.Errorf("open acl authorizer: %w", err)
	}
	n.ACL = a
	if n.httpAuthz != nil {
		n.httpAuthz.a.Store(a)
	}
	n.log.Info("acl authorizer on", "acls", a.Len(), "super_users", len(n.cfg.ACL.SuperUsers), "allow_everyone_if_no_acl_found", n.cfg.ACL.AllowIfNoACL)
	return nil
}

// lateAuthorizer is the HTTP listener's authorizer: the listener opens
// before the meta store (probes must answer during recovery), so it denies
// everything until the acl step stores the ACL authorizer. Only /healthz,
// /readyz, /metrics and /v1/status exist that early.
type lateAuthorizer struct {
	a atomic.Pointer[acl.Authorizer]
}

// Authorize asks the ACL authorizer once it is set, and denies before.
func (l *lateAuthorizer) Authorize(p auth.Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	a := l.a.Load()
	return a != nil && a.Authorize(p, host, op, rt, name)
}

// authorizer is what the listeners check with: the ACL authorizer, or nil
// (everything allowed).
func (n *Node) authorizer() auth.Authorizer {
	if n.ACL == nil {
		return nil
	}
	return n.ACL
}
