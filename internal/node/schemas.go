package node

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/registry"
)

// SchemaRegistryConfig configures the schema registry (internal/registry).
type SchemaRegistryConfig struct {
	// Addr is the registry's own listen address (Confluent's is :8081);
	// empty runs no listener of its own. The API is also served under
	// /schema-registry/ on the HTTP listener.
	Addr string
	// ReadHeaderTimeout and IdleTimeout are the listener's
	// http.Server timeouts; zero takes 10 seconds and 2 minutes.
	ReadHeaderTimeout, IdleTimeout time.Duration
	// MaxConnections caps the listener's open connections (more wait in
	// the listen backlog); zero takes httpapi.DefaultMaxConnections.
	MaxConnections int
}

// registryMaxBody is the largest schema-registry request body, the
// registry's own cap (16 MiB).
const registryMaxBody = 16 << 20

// registryError answers a body that could not be read in the
// registry's error shape (Confluent's error_code and message).
// A body over the cap is Confluent's 42209 (schema too large, HTTP 422),
// as the registry's own handler answers it.
func registryError(w http.ResponseWriter, status int, msg string) {
	code := status
	if status == http.StatusRequestEntityTooLarge {
		code, status = registry.CodeSchemaTooLarge, http.StatusUnprocessableEntity
		msg = "Schema too large: " + msg
	}
	w.Header().Set("Content-Type", registry.ContentType)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(registry.Error{Code: code, Message: msg})
}

// schemaRegistryPrefix is where the HTTP listener serves the registry.
const schemaRegistryPrefix = "/schema-registry"

// openSchemas opens the schema registry on the meta store (its own
// bucket), serves its API under /schema-registry/ on the HTTP listener
// and, when configured, on its own listener.
func (n *Node) openSchemas() error {
	if n.cfg.SchemaRegistry == nil {
		return nil
	}
	reg, err := registry.Open(registry.NewMetaStore(n.Meta))
	if err != nil {
		return fmt.Errorf("open schema registry: %w", err)
	}
	n.Schemas = reg
	h := registry.Authorize(registry.Handler(reg), reg, n.authorizer())
	if n.HTTP != nil {
		// Bodies are read under the HTTP server's body budget and
		// timeout before the registry reads them, on both listeners.
		h = n.HTTP.BufferBody(h, registryMaxBody, registryError)
		n.HTTP.HandleHTTP(schemaRegistryPrefix+"/", http.StripPrefix(schemaRegistryPrefix, h))
	}
	if n.cfg.SchemaRegistry.Addr == "" {
		return nil
	}
	tlsCfg, _, err := n.httpSecurity()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", n.cfg.SchemaRegistry.Addr)
	if err != nil {
		return fmt.Errorf("schema registry listener: %w", err)
	}
	n.schemasLn = ln
	maxConns := n.cfg.SchemaRegistry.MaxConnections
	if maxConns == 0 {
		maxConns = httpapi.DefaultMaxConnections
	}
	ln = httpapi.LimitListener(ln, maxConns)
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
	}
	srv := &http.Server{Handler: n.registryHandler(h), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute}
	if d := n.cfg.SchemaRegistry.ReadHeaderTimeout; d > 0 {
		srv.ReadHeaderTimeout = d
	}
	if d := n.cfg.SchemaRegistry.IdleTimeout; d > 0 {
		srv.IdleTimeout = d
	}
	n.goServe("schema registry", func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	n.onDrain("schema registry", srv.Shutdown)
	return nil
}

// SchemaRegistryAddr is the bound address of the registry's own listener,
// or "" when it runs none.
func (n *Node) SchemaRegistryAddr() string {
	if n.schemasLn == nil {
		return ""
	}
	return n.schemasLn.Addr().String()
}
