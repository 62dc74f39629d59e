package node

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"sync/atomic"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/httpapi"
)

// AuthConfig configures authentication: the SCRAM user store and the
// first administrator.
type AuthConfig struct {
	// BootstrapUser, with BootstrapPassword, is created (every SCRAM
	// mechanism) at the first start of a data directory and never again.
	BootstrapUser     string
	BootstrapPassword string
	// HTTPRequired makes the HTTP and schema registry listeners require
	// HTTP Basic credentials of a user (config.AuthenticationConfigured).
	HTTPRequired bool
	// MetricsPublic leaves /metrics open when HTTPRequired.
	MetricsPublic bool
	// HTTPTLS, when set, serves the HTTP and schema registry listeners
	// over TLS from these files (reloaded when they change).
	HTTPTLS *auth.TLSOptions
}

// lateVerifier is the HTTP listener's password verifier: the HTTP
// listener opens before the user store (its probes serve during
// recovery), so until the store is open every login is refused.
type lateVerifier struct{ users atomic.Pointer[auth.Users] }

func (v *lateVerifier) VerifyPassword(ctx context.Context, user, password string) (auth.Principal, error) {
	u := v.users.Load()
	if u == nil {
		return "", auth.ErrBadCredentials
	}
	return u.VerifyPassword(ctx, user, password)
}

// httpSecurity returns the TLS config and verifier of the HTTP and
// schema registry listeners (each nil when not configured).
func (n *Node) httpSecurity() (*tls.Config, auth.PasswordVerifier, error) {
	var cfg *tls.Config
	if o := n.cfg.Auth.HTTPTLS; o != nil {
		c, err := auth.ServerTLS(*o)
		if err != nil {
			return nil, nil, fmt.Errorf("http TLS: %w", err)
		}
		cfg = c
	}
	if !n.cfg.Auth.HTTPRequired {
		return cfg, nil, nil
	}
	return cfg, &n.verifier, nil
}

// registryHandler wraps the schema registry's own listener's handler in
// the HTTP listener's authentication.
func (n *Node) registryHandler(h http.Handler) http.Handler {
	if !n.cfg.Auth.HTTPRequired {
		return h
	}
	return httpapi.RequireBasic(&n.verifier, nil, h)
}

// openUsers opens the SCRAM credential store on meta (always: the Kafka
// admin APIs manage it even while no listener authenticates) and creates
// the bootstrap administrator at the first start.
func (n *Node) openUsers() error {
	u, err := auth.OpenUsers(n.Meta)
	if err != nil {
		return err
	}
	n.Users = u
	n.verifier.users.Store(u)
	if name := n.cfg.Auth.BootstrapUser; name != "" {
		created, err := u.Bootstrap(name, n.cfg.Auth.BootstrapPassword)
		if err != nil {
			return fmt.Errorf("users: %w", err)
		}
		if created {
			n.log.Info("bootstrap user created", "user", name)
		}
	}
	return nil
}
