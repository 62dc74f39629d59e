// Package auth holds the identity types every front end of Eddy shares: the
// principal a Kafka connection or an HTTP request acts as, how a password is
// verified, and how an action on a resource is authorized. The Kafka
// listeners (SASL, mutual TLS), the HTTP API, the schema registry and the
// console all authenticate into a Principal and ask one Authorizer, so one
// user and one set of ACLs govern every door.
package auth

import (
	"context"
	"strings"
)

// Principal names who is acting, in Kafka's "Type:Name" form, for example
// "User:alice" or "User:CN=client1,O=Example". ACLs match on it exactly as
// Kafka's authorizer does.
type Principal string

// Anonymous is the principal of a connection or request that has not
// authenticated (Kafka's "User:ANONYMOUS"): a PLAINTEXT listener's clients,
// and everyone when no authentication is configured.
const Anonymous Principal = "User:ANONYMOUS"

// User returns the principal of the user called name.
func User(name string) Principal { return Principal("User:" + name) }

// Type returns the part before the first colon ("User").
func (p Principal) Type() string {
	t, _, _ := strings.Cut(string(p), ":")
	return t
}

// Name returns the part after the first colon ("alice").
func (p Principal) Name() string {
	_, n, _ := strings.Cut(string(p), ":")
	return n
}

type principalKey struct{}

// WithPrincipal returns a context carrying p, for the HTTP handlers behind an
// authenticating middleware.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal WithPrincipal stored in ctx, or Anonymous.
func FromContext(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return Anonymous
}
