package node

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
)

// openACL loads the ACL authorizer's bindings from meta when one is
// configured. It opens before the listeners, so none serves a request
// unchecked.
func (n *Node) openACL() error {
	if n.cfg.ACL == nil {
		return nil
	}
	a, err := acl.Open(n.Meta, *n.cfg.ACL)
	if err != nil {
		return fmt.Errorf("open acl authorizer: %w", err)
	}
	n.ACL = a
	n.log.Info("acl authorizer on", "acls", a.Len(), "super_users", len(n.cfg.ACL.SuperUsers), "allow_everyone_if_no_acl_found", n.cfg.ACL.AllowIfNoACL)
	return nil
}

// authorizer is what the listeners check with: the ACL authorizer, or nil
// (everything allowed).
func (n *Node) authorizer() auth.Authorizer {
	if n.ACL == nil {
		return nil
	}
	return n.ACL
}
