// Package kafkatest starts a real Eddy node in-process for tests: the
// assembly of internal/node (meta, broker with its append hooks,
// idempotent producers, event store, group coordinator) on a temp data
// directory with a Kafka listener on 127.0.0.1:0 and no HTTP listener.
// Other packages' tests (groups, event store, CLI, HTTP) use it to get a
// server that franz-go clients can talk to.
//
// Usage:
//
//	srv := kafkatest.Start(t)                  // stopped by t.Cleanup
//	cl := srv.Client(t, kgo.ConsumeTopics("x")) // closed by t.Cleanup
//	srv.Restart(t)                              // same dir, same address
//
// WithNodeConfig edits the node's Config (WithBrokerConfig and
// WithServerConfig its broker and Kafka parts) before every start.
package kafkatest

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/producers"
	"github.com/eddy-streaming/eddy/internal/share"
)

// Server is a running in-process Eddy node. Its part fields are the
// current node's, replaced by Restart.
type Server struct {
	// Addr is the Kafka listener's host:port, stable across Restart.
	Addr string
	// Dir is the data directory.
	Dir string
	// Node is the running assembly; the fields below are its parts.
	Node      *node.Node
	Meta      *meta.Store
	Broker    *broker.Broker
	Kafka     *kafka.Server
	Groups    *group.Coordinator
	Producers *producers.Manager
	Events    *eventstore.Store
	// Share is the share-group coordinator.
	Share *share.Coordinator

	o       options
	stopped bool
}

type options struct {
	dir    string
	nodeFn []func(*node.Config)
}

// Option configures Start.
type Option func(*options)

// WithDir uses dir as the data directory instead of t.TempDir().
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithNodeConfig edits the node config before each Open (it starts from
// node.DefaultConfig with a Kafka listener on 127.0.0.1:0, no HTTP
// listener, and an event-store flush interval of 5 ms).
func WithNodeConfig(fn func(*node.Config)) Option {
	return func(o *options) { o.nodeFn = append(o.nodeFn, fn) }
}

// WithBrokerConfig edits the node's broker config.
func WithBrokerConfig(fn func(*broker.Config)) Option {
	return WithNodeConfig(func(c *node.Config) { fn(&c.Broker) })
}

// WithServerConfig edits the node's Kafka listener config.
func WithServerConfig(fn func(*kafka.Config)) Option {
	return WithNodeConfig(func(c *node.Config) { fn(c.Kafka) })
}

// Start starts a server and registers its Stop with t.Cleanup.
func Start(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s := &Server{}
	for _, opt := range opts {
		opt(&s.o)
	}
	s.Dir = s.o.dir
	if s.Dir == "" {
		s.Dir = t.TempDir()
	}
	s.start(t, "127.0.0.1:0")
	t.Cleanup(func() { s.Stop(t) })
	return s
}

func (s *Server) start(t testing.TB, addr string) {
	t.Helper()
	cfg := node.DefaultConfig(s.Dir)
	cfg.HTTP = nil
	cfg.Kafka.Addr = "127.0.0.1:0"
	cfg.EventStore.FlushInterval = 5 * time.Millisecond
	cfg.Share.SweepInterval = 20 * time.Millisecond
	for _, fn := range s.o.nodeFn {
		fn(&cfg)
	}
	if cfg.Kafka != nil && (cfg.Kafka.Addr == "" || addr != "127.0.0.1:0") {
		cfg.Kafka.Addr = addr
	}
	var n *node.Node
	var err error
	// A restart reuses the port; give the OS a moment if it is still
	// releasing it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		n, err = node.Open(cfg)
		if !errors.Is(err, syscall.EADDRINUSE) || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("kafkatest: start: %v", err)
	}
	s.Node = n
	s.Meta, s.Broker, s.Kafka = n.Meta, n.Broker, n.Kafka
	s.Groups, s.Producers, s.Events, s.Share = n.Groups, n.Producers, n.Events, n.Share
	if n.Kafka != nil {
		s.Addr = n.Kafka.Addr().String()
	}
	s.stopped = false
}

// Stop closes the node (gracefully, 10 s at most). It is idempotent.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Node.Close(ctx); err != nil {
		t.Errorf("kafkatest: close node: %v", err)
	}
}

// Restart stops the server and starts it again on the same data directory
// and address, as a process restart would.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	s.Stop(t)
	s.start(t, s.Addr)
}

// Client returns a franz-go client seeded with the server's address and
// closed by t.Cleanup.
func (s *Server) Client(t testing.TB, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(s.Addr)}, opts...)...)
	if err != nil {
		t.Fatalf("kafkatest: new client: %v", err)
	}
	t.Cleanup(cl.Close)
	return cl
}
