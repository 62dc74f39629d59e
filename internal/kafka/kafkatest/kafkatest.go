// Package kafkatest starts a real Eddy broker and Kafka listener in-process
// for tests: a temp data directory, a meta store, broker.Open and
// kafka.New on 127.0.0.1:0. Other packages' tests (groups, CLI, HTTP) use
// it to get a server that franz-go clients can talk to.
//
// Usage:
//
//	srv := kafkatest.Start(t)                  // stopped by t.Cleanup
//	cl := srv.Client(t, kgo.ConsumeTopics("x")) // closed by t.Cleanup
//	srv.Restart(t)                              // same dir, same address
//
// The group coordinator and the idempotent-producer manager are wired as
// cmd/eddy serve wires them (Server.Groups, Server.Producers). Further
// services plug in with WithServerConfig, which edits kafka.Config (e.g.
// its Ext map), and WithSetup, which runs after the broker opens and before
// the listener starts.
package kafkatest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/producers"
)

// Server is a running in-process Eddy server.
type Server struct {
	// Addr is the Kafka listener's host:port, stable across Restart.
	Addr string
	// Dir is the data directory.
	Dir    string
	Meta   *meta.Store
	Broker *broker.Broker
	Kafka  *kafka.Server
	// Groups is the consumer-group coordinator and Producers the
	// idempotent-producer manager, wired as cmd/eddy serve wires them.
	Groups    *group.Coordinator
	Producers *producers.Manager

	o       options
	stopped bool
}

type options struct {
	dir      string
	brokerFn []func(*broker.Config)
	serverFn []func(*kafka.Config)
	setup    []func(*Server)
}

// Option configures Start.
type Option func(*options)

// WithDir uses dir as the data directory instead of t.TempDir().
func WithDir(dir string) Option { return func(o *options) { o.dir = dir } }

// WithBrokerConfig edits the broker config before Open (it starts from
// broker.DefaultConfig with the data dir and meta store set).
func WithBrokerConfig(fn func(*broker.Config)) Option {
	return func(o *options) { o.brokerFn = append(o.brokerFn, fn) }
}

// WithServerConfig edits the Kafka server config before New (it starts
// with Addr 127.0.0.1:0).
func WithServerConfig(fn func(*kafka.Config)) Option {
	return func(o *options) { o.serverFn = append(o.serverFn, fn) }
}

// WithSetup runs fn after the broker opens and before the server is
// created, on every start including restarts; fn may set Server fields'
// dependencies (for example install a broker AppendHook).
func WithSetup(fn func(*Server)) Option {
	return func(o *options) { o.setup = append(o.setup, fn) }
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
	m, err := meta.Open(filepath.Join(s.Dir, "meta.db"))
	if err != nil {
		t.Fatalf("kafkatest: open meta: %v", err)
	}
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta = s.Dir, m
	for _, fn := range s.o.brokerFn {
		fn(&bc)
	}
	b, err := broker.Open(bc)
	if err != nil {
		m.Close()
		t.Fatalf("kafkatest: open broker: %v", err)
	}
	s.Meta, s.Broker = m, b
	pm, err := producers.New(producers.Config{Meta: m})
	if err != nil {
		t.Fatalf("kafkatest: producers: %v", err)
	}
	if err := pm.Rebuild(b, 0); err != nil {
		t.Fatalf("kafkatest: rebuild producers: %v", err)
	}
	b.SetAppendHook(pm)
	gc, err := group.New(group.Config{Meta: m, Topics: group.BrokerTopics(b)})
	if err != nil {
		t.Fatalf("kafkatest: groups: %v", err)
	}
	s.Groups, s.Producers = gc, pm
	for _, fn := range s.o.setup {
		fn(s)
	}
	kc := kafka.Config{Addr: addr}
	kafka.WithGroups(&kc, gc)
	kafka.WithProducers(&kc, pm)
	for _, fn := range s.o.serverFn {
		fn(&kc)
	}
	if kc.Addr == "" || addr != "127.0.0.1:0" {
		kc.Addr = addr
	}
	srv := kafka.New(kc, b)
	var lerr error
	// A restart reuses the port; give the OS a moment if it is still
	// releasing it.
	for deadline := time.Now().Add(5 * time.Second); ; {
		if lerr = srv.Start(); lerr == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if lerr != nil {
		b.Close()
		m.Close()
		t.Fatalf("kafkatest: start: %v", lerr)
	}
	s.Kafka = srv
	s.Addr = srv.Addr().String()
	s.stopped = false
}

// Stop shuts the server down (gracefully, 10 s at most) and closes the
// broker and meta store. It is idempotent.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Kafka.Shutdown(ctx); err != nil {
		t.Errorf("kafkatest: shutdown: %v", err)
	}
	if err := s.Groups.Close(); err != nil {
		t.Errorf("kafkatest: close groups: %v", err)
	}
	if err := s.Producers.Close(); err != nil {
		t.Errorf("kafkatest: close producers: %v", err)
	}
	if err := s.Broker.Close(); err != nil {
		t.Errorf("kafkatest: close broker: %v", err)
	}
	if err := s.Meta.Close(); err != nil {
		t.Errorf("kafkatest: close meta: %v", err)
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
