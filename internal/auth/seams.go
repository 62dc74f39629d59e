package auth

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// ErrBadCredentials is what a PasswordVerifier returns for an unknown user or
// a wrong password. Callers answer with a generic message that does not say
// which of the two it was.
var ErrBadCredentials = errors.New("authentication failed: invalid user name or password")

// PasswordVerifier checks a user name and password: SASL/PLAIN on the Kafka
// listeners and HTTP Basic on the HTTP and registry listeners both use it,
// against the stored (salted, hashed) SCRAM credentials.
type PasswordVerifier interface {
	VerifyPassword(ctx context.Context, user, password string) (Principal, error)
}

// Authorizer decides whether principal p, connecting from host (an IP
// address in text form), may perform op on the resource of type rt called
// name. Operations and resource types are Kafka's ACL enums; every front end
// maps its actions onto them (docs/security.md has the table).
//
// Implementations must be safe for concurrent use and must not allocate on
// the produce and fetch paths.
type Authorizer interface {
	Authorize(p Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool
}

// AllowAll is the Authorizer used when no authorizer is configured (Kafka
// without authorizer.class.name): every action is allowed.
type AllowAll struct{}

// Authorize always returns true.
func (AllowAll) Authorize(Principal, string, kmsg.ACLOperation, kmsg.ACLResourceType, string) bool {
	return true
}
