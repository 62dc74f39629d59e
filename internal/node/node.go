// Package node is Eddy's one assembly: it opens every part of a server in
// order from one Config and closes them in reverse. `eddy serve`, the
// in-process test server (internal/kafka/kafkatest) and every test that
// needs a running node use it; no other place wires parts together.
//
// Open runs these steps in order (node.steps):
//
//	lock        <data>/LOCK (flock), so two nodes never share a directory
//	metrics     the node's one prometheus.Registry (no global registry)
//	http        the HTTP listener, serving /healthz at once and /readyz 503
//	            until the node is ready, so probes see a node recovering
//	meta        <data>/meta.db: topic configs, cluster id, offsets, producer ids
//	acl         the ACL authorizer (its bindings in meta's "acls" bucket),
//	            when Config.ACL is set; every listener checks through it
//	            (the HTTP listener, open before it, denies until then)
//	users       the SCRAM credential store (meta) and the bootstrap user
//	schemas     the schema registry (its state in meta's "schemas" bucket),
//	            under /schema-registry/ on HTTP and on its own listener
//	producers   the idempotent-producer manager (append hook 1)
//	eventstore  the event-store index <data>/streams.idx (append hook 2)
//	broker      every partition log opened and recovered; the hook chain
//	            [producers, schema validation, eventstore] is fixed here
//	recover     hooks load state from the logs: producers.Rebuild,
//	            eventstore.Recover (then the stream routes are registered)
//	groups      the consumer-group coordinator
//	share       the share-group coordinator (queues, dead letters)
//	kafka       the Kafka listener
//	ready       /readyz turns 200
//
// A step that fails makes Open close every step before it, in reverse,
// and release the lock. Close first stops being ready and drains both
// listeners in parallel under its context, then closes the rest in
// reverse order: share groups, groups, event store (index flushed; it closes before the
// broker it reads), broker (final fsync, clean-shutdown markers),
// producers, meta, lock.
//
// A later part (views, schema registry, share groups, auth) becomes a
// field of Config and a step in Open's list, with its close beside its
// open; append hooks join the broker's chain at the broker step.
//
// A Node's fields are set by Open and not changed after; its parts are
// safe for concurrent use. Close must not run concurrently with itself.
//
// Usage:
//
//	cfg := node.DefaultConfig(dir)
//	cfg.Kafka.Addr = ":9092"
//	n, err := node.Open(cfg)
//	if err != nil { ... }
//	select { case <-ctx.Done(): case err = <-n.Err(): }
//	err = n.Close(shutdownCtx)
package node

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/producers"
	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/share"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// Config is everything a node needs. Start from DefaultConfig. The parts'
// own configs are embedded whole; Open fills in what it wires (data paths,
// the meta store, the broker, hooks, loggers, the metrics registry), so
// those fields are ignored here.
type Config struct {
	// DataDir holds the lock, meta.db, streams.idx and the partition
	// logs. Created if missing. Required.
	DataDir string
	// FS is the filesystem of the partition logs; nil means the OS. Tests
	// substitute one with slow or failing fsyncs.
	FS vfs.FS
	// Logger receives every part's logs, each with a component attribute;
	// nil discards them.
	Logger *slog.Logger
	// Version is the build's version, for eddy_build_info and /v1/status.
	Version string
	// Registry receives every part's metrics and is what /metrics serves.
	// Nil: a new registry with the Go runtime, process and build-info
	// collectors. A given one is used as is, so metrics keep counting
	// across nodes opened on it one after another (tests of restarts).
	Registry *prometheus.Registry
	// Broker configures topics and logs (DataDir, FS, Meta, Logger,
	// Registerer and Hooks are set by Open).
	Broker broker.Config
	// Producers configures the idempotent-producer manager (Meta, Logger,
	// Registerer are set by Open).
	Producers producers.Config
	// EventStore configures the event store (Path defaults to
	// <DataDir>/streams.idx; Logger, Registerer are set by Open).
	EventStore eventstore.Config
	// Groups configures the consumer-group coordinator (Meta, Topics,
	// Logger, Registerer are set by Open).
	Groups group.Config
	// Share configures the share-group coordinator (Broker, Store, Logger,
	// Registerer are set by Open).
	Share share.Config
	// Kafka configures the Kafka listener; nil runs none. Logger,
	// Registerer, Groups, Producers and Share are set by Open.
	Kafka *kafka.Config
	// HTTP configures the HTTP listener; nil runs none. Logger,
	// Registerer, Gatherer, Version, DataDir, StartedAt and the status
	// sources are set by Open.
	HTTP *httpapi.Config
	// Streams tunes the event-store HTTP routes.
	Streams httpapi.StreamsOptions
	// SchemaRegistry configures the schema registry; nil runs none.
	SchemaRegistry *SchemaRegistryConfig
	// Admin configures the HTTP admin routes and the web console (/ui/).
	Admin httpapi.AdminOptions
	// ACL configures the ACL authorizer (--authorizer acl); nil runs none:
	// everything is allowed and the ACL APIs answer SECURITY_DISABLED.
	ACL *acl.Options
	// Auth configures the SCRAM user store (users.go).
	Auth AuthConfig
}

// DefaultConfig returns a Config for dataDir with every part's defaults,
// a Kafka listener on :9092 and an HTTP listener on :8080.
func DefaultConfig(dataDir string) Config {
	return Config{
		DataDir: dataDir,
		Broker:  broker.DefaultConfig(),
		Groups:  group.DefaultConfig(),
		Kafka:   &kafka.Config{Addr: ":9092"},
		HTTP:    &httpapi.Config{Addr: ":8080"},
	}
}

// Node is one running Eddy server: its parts, opened in order.
type Node struct {
	cfg     Config
	log     *slog.Logger
	started time.Time
	dataDir string // absolute when it can be made so

	// Registry is the node's metrics registry, served on /metrics.
	Registry *prometheus.Registry
	// The parts, in open order; a part the Config leaves out is nil.
	Meta *meta.Store
	// Users is the SCRAM credential store (users.go).
	Users     *auth.Users
	Producers *producers.Manager
	Events    *eventstore.Store
	Broker    *broker.Broker
	Groups    *group.Coordinator
	Share     *share.Coordinator
	Kafka     *kafka.Server
	HTTP      *httpapi.Server
	// Schemas is the schema registry (schemas.go).
	Schemas *registry.Registry
	// ACL is the ACL authorizer (acl.go); nil when none is configured.
	ACL       *acl.Authorizer
	httpAuthz *lateAuthorizer
	schemasLn net.Listener

	lock *dataDirLock
	// verifier checks HTTP Basic credentials against Users (users.go).
	verifier lateVerifier
	// live holds the parts /v1/status reads, published as Open reaches
	// them: the HTTP listener serves while later steps still run.
	live struct {
		sync.Mutex
		broker *broker.Broker
		groups *group.Coordinator
		kafka  *kafka.Server
		http   *httpapi.Server
	}
	// closers are the opened steps' closes, in open order; listeners
	// are the drains of the listener steps, run first and in parallel.
	closers   []closer
	listeners []closer
	closed    bool

	// serveErr receives the first error of a listener's Serve goroutine.
	serveErr chan error
	wg       sync.WaitGroup
}

type closer struct {
	name  string
	close func(ctx context.Context) error
}

// step is one part of the assembly: open brings it up and registers its
// close (n.onClose / n.onDrain).
type step struct {
	name string
	open func(n *Node) error
}

// steps is the assembly, in order. New parts go here.
var steps = []step{
	{"lock", (*Node).openLock},
	{"metrics", (*Node).openMetrics},
	{"http", (*Node).openHTTP},
	{"meta", (*Node).openMeta},
	{"acl", (*Node).openACL},
	{"users", (*Node).openUsers},
	{"schemas", (*Node).openSchemas},
	{"producers", (*Node).openProducers},
	{"eventstore", (*Node).openEventStore},
	{"broker", (*Node).openBroker},
	{"recover", (*Node).recoverHooks},
	{"groups", (*Node).openGroups},
	{"share", (*Node).openShare},
	{"console", (*Node).openConsole},
	{"kafka", (*Node).openKafka},
	{"ready", (*Node).markReady},
}

// Open opens every part in order and starts the listeners. On failure it
// closes what it opened, in reverse, and returns the failing step's error.
func Open(cfg Config) (*Node, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("node: Config.DataDir is required")
	}
	n := &Node{cfg: cfg, log: cfg.Logger, started: time.Now(), serveErr: make(chan error, 4)}
	if n.log == nil {
		n.log = slog.New(slog.DiscardHandler)
	}
	n.dataDir = cfg.DataDir
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		n.dataDir = abs
	}
	for _, s := range steps {
		if err := s.open(n); err != nil {
			if cerr := n.Close(context.Background()); cerr != nil {
				n.log.Error("close after failed start", "step", s.name, "err", cerr)
			}
			return nil, err
		}
	}
	n.log.Info("eddy started", n.startAttrs()...)
	return n, nil
}

func (n *Node) startAttrs() []any {
	attrs := []any{"version", n.cfg.Version, "data_dir", n.dataDir}
	if n.Kafka != nil {
		attrs = append(attrs, "kafka_addr", n.Kafka.Addr().String())
		if ls := n.Kafka.ListenerAddrs(); len(ls) > 1 {
			attrs = append(attrs, "kafka_listeners", ls)
		}
	}
	if n.HTTP != nil {
		attrs = append(attrs, "http_addr", n.HTTP.Addr().String())
	}
	if a := n.SchemaRegistryAddr(); a != "" {
		attrs = append(attrs, "schema_registry_addr", a)
	}
	return append(attrs, "topics", len(n.Broker.Topics()), "startup", time.Since(n.started).Round(time.Microsecond).String())
}

// onClose registers the close of the step just opened.
func (n *Node) onClose(name string, fn func(ctx context.Context) error) {
	n.closers = append(n.closers, closer{name, fn})
}

// onDrain registers a listener's graceful shutdown, run before every
// other close.
func (n *Node) onDrain(name string, fn func(ctx context.Context) error) {
	n.listeners = append(n.listeners, closer{name, fn})
}

// Err receives the first error of a listener (its Serve loop failed); the
// node should then be closed.
func (n *Node) Err() <-chan error { return n.serveErr }

// DataDir returns the data directory, absolute when it could be made so.
func (n *Node) DataDir() string { return n.dataDir }

// Close shuts the node down: it stops being ready, stops accepting on the
// listeners and lets in-flight requests finish within ctx (the listeners
// drain in parallel, so the timeout is not spent twice), then, with no
// request left that could touch storage, closes the other parts in
// reverse open order and releases the data directory.
//
// Requests cut short by ctx are logged, not failures: whatever they
// acknowledged is durable and their clients retry the rest. Only a part
// that fails to close makes Close return an error. A second Close returns
// nil.
func (n *Node) Close(ctx context.Context) error {
	if n.closed {
		return nil
	}
	n.closed = true
	if n.HTTP != nil {
		n.HTTP.MarkNotReady("shutting down")
	}
	var drain sync.WaitGroup
	for _, l := range n.listeners {
		drain.Add(1)
		go func() {
			defer drain.Done()
			if err := l.close(ctx); err != nil {
				n.log.Warn(l.name+" requests still in flight at the shutdown timeout; closed their connections", "err", err)
			}
		}()
	}
	drain.Wait()
	n.wg.Wait() // the listeners' Serve loops
	var errs []error
	for _, c := range slices.Backward(n.closers) {
		if err := c.close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("close %s: %w", c.name, err))
		}
	}
	return errors.Join(errs...)
}

// goServe runs a listener's Serve loop as a tracked goroutine.
func (n *Node) goServe(name string, serve func() error) {
	n.wg.Add(1)
	go func() {
		defer n.wg.Done()
		if err := serve(); err != nil {
			select {
			case n.serveErr <- fmt.Errorf("%s listener: %w", name, err):
			default:
			}
		}
	}()
}

func (n *Node) component(name string) *slog.Logger { return n.log.With("component", name) }

func (n *Node) openLock() error {
	_, statErr := os.Stat(n.cfg.DataDir)
	if err := os.MkdirAll(n.cfg.DataDir, 0o755); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if errors.Is(statErr, os.ErrNotExist) {
		// A start that fails before writing anything (a listen address in
		// use) leaves no directory behind: closed after the lock, which
		// removes LOCK, it is removed if still empty.
		dir := n.cfg.DataDir
		n.onClose("created data dir", func(context.Context) error { _ = os.Remove(dir); return nil })
	}
	lock, err := lockDataDir(n.cfg.DataDir)
	if err != nil {
		return err
	}
	n.lock = lock
	n.onClose("data dir lock", func(context.Context) error { return lock.Unlock() })
	return nil
}

// openMetrics creates the node's registry with the Go runtime, process
// and build-info collectors. Nothing registers globally.
func (n *Node) openMetrics() error {
	if n.cfg.Registry != nil {
		n.Registry = n.cfg.Registry
		return nil
	}
	reg := prometheus.NewRegistry()
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "eddy_build_info",
		Help:        "Always 1; the labels say which Eddy build is running.",
		ConstLabels: prometheus.Labels{"version": n.cfg.Version, "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		build,
	} {
		if err := reg.Register(c); err != nil {
			return fmt.Errorf("register process metrics: %w", err)
		}
	}
	n.Registry = reg
	return nil
}

func (n *Node) openHTTP() error {
	if n.cfg.HTTP == nil {
		return nil
	}
	hc := *n.cfg.HTTP
	hc.Logger = n.component("http")
	hc.Registerer, hc.Gatherer = n.Registry, n.Registry
	hc.Version, hc.DataDir, hc.StartedAt = n.cfg.Version, n.dataDir, n.started
	hc.Listeners, hc.Topics, hc.Groups = n.listenerAddrs, n.topicStatus, n.groupStatus
	if n.cfg.ACL != nil {
		// The listener opens before the meta store the ACLs live in: it
		// checks through a gate the acl step opens.
		n.httpAuthz = &lateAuthorizer{}
		hc.Authorizer = n.httpAuthz
	}
	tlsCfg, verifier, err := n.httpSecurity()
	if err != nil {
		return err
	}
	hc.TLS, hc.Authenticate, hc.MetricsPublic = tlsCfg, verifier, n.cfg.Auth.MetricsPublic
	h, err := httpapi.New(hc)
	if err != nil {
		return err
	}
	if err := h.Listen(); err != nil {
		return err
	}
	n.HTTP = h
	n.live.Lock()
	n.live.http = h
	n.live.Unlock()
	n.goServe("http", h.Serve)
	n.onDrain("http", h.Shutdown)
	return nil
}

func (n *Node) openMeta() error {
	m, err := meta.Open(filepath.Join(n.cfg.DataDir, "meta.db"))
	if err != nil {
		return err
	}
	n.Meta = m
	n.onClose("meta store", func(context.Context) error { return m.Close() })
	return nil
}

func (n *Node) openProducers() error {
	pc := n.cfg.Producers
	pc.Meta, pc.Logger, pc.Registerer = n.Meta, n.component("producers"), n.Registry
	pm, err := producers.New(pc)
	if err != nil {
		return fmt.Errorf("start producer manager: %w", err)
	}
	n.Producers = pm
	n.onClose("producer manager", func(context.Context) error { return pm.Close() })
	return nil
}

func (n *Node) openEventStore() error {
	ec := n.cfg.EventStore
	if ec.Path == "" {
		ec.Path = filepath.Join(n.cfg.DataDir, "streams.idx")
	}
	ec.Logger, ec.Registerer = n.component("eventstore"), n.Registry
	es, err := eventstore.Open(ec)
	if err != nil {
		return fmt.Errorf("open event store: %w", err)
	}
	n.Events = es
	n.onClose("event store", func(context.Context) error { return es.Close() })
	return nil
}

// openBroker opens the broker, which recovers every partition log, with
// the append hook chain fixed: the idempotent producers first (a retried
// duplicate is acknowledged before any later check could refuse it), then
// the schema registry's validation, then the event store.
func (n *Node) openBroker() error {
	bc := n.cfg.Broker
	bc.DataDir, bc.FS, bc.Meta = n.cfg.DataDir, n.cfg.FS, n.Meta
	bc.Logger, bc.Registerer = n.component("broker"), n.Registry
	bc.Hooks = []broker.AppendHook{n.Producers}
	if n.Schemas != nil {
		// Schema validation refuses a batch before the event store could
		// stage its versions.
		bc.Hooks = append(bc.Hooks, registry.NewValidator(n.Schemas))
	}
	bc.Hooks = append(bc.Hooks, n.Events)
	b, err := broker.Open(bc)
	if err != nil {
		return fmt.Errorf("open broker: %w", err)
	}
	n.Broker = b
	n.live.Lock()
	n.live.broker = b
	n.live.Unlock()
	n.onClose("broker", func(context.Context) error { return b.Close() })
	lc, err := registerLogCollector(n.Registry, b)
	if err != nil {
		return err
	}
	n.onClose("log metrics", func(context.Context) error { n.Registry.Unregister(lc); return nil })
	return nil
}

// recoverHooks lets the hooks load their state from the opened logs,
// before any listener serves appends.
func (n *Node) recoverHooks() error {
	if err := n.Producers.Rebuild(n.Broker, 0); err != nil {
		return fmt.Errorf("rebuild producer state: %w", err)
	}
	if err := n.Events.Recover(n.Broker); err != nil {
		return fmt.Errorf("recover event store: %w", err)
	}
	// The store flushes its index from the broker's logs, so it closes
	// before the broker: registering its (idempotent) Close again here
	// puts it ahead of the broker's in reverse order. The close registered
	// at its open covers a broker that failed to open.
	es := n.Events
	n.onClose("event store", func(context.Context) error { return es.Close() })
	if n.HTTP != nil {
		n.HTTP.RegisterStreams(n.Events, n.cfg.Streams)
		n.HTTP.RegisterViews(n.Broker)
	}
	return nil
}

func (n *Node) openGroups() error {
	gc := n.cfg.Groups
	gc.Meta, gc.Topics = n.Meta, group.BrokerTopics(n.Broker)
	gc.Logger, gc.Registerer = n.component("group"), n.Registry
	g, err := group.New(gc)
	if err != nil {
		return fmt.Errorf("start group coordinator: %w", err)
	}
	n.Groups = g
	n.live.Lock()
	n.live.groups = g
	n.live.Unlock()
	n.onClose("group coordinator", func(context.Context) error { return g.Close() })
	return nil
}

func (n *Node) openKafka() error {
	if n.cfg.Kafka == nil {
		return nil
	}
	kc := *n.cfg.Kafka
	kc.Logger, kc.Registerer = n.component("kafka"), n.Registry
	kc.Groups, kc.Producers, kc.Share = n.Groups, n.Producers, n.Share
	kc.Authorizer, kc.ACLs = n.authorizer(), n.ACL
	kc.Users = n.Users
	k := kafka.New(kc, n.Broker)
	if err := k.Listen(); err != nil {
		return err
	}
	n.Kafka = k
	n.live.Lock()
	n.live.kafka = k
	n.live.Unlock()
	n.goServe("kafka", func() error { return k.Serve(context.Background()) })
	n.onDrain("kafka", k.Shutdown)
	return nil
}

func (n *Node) markReady() error {
	if n.HTTP != nil {
		n.HTTP.MarkReady()
	}
	return nil
}

// listenerAddrs names the bound listen addresses for /v1/status.
func (n *Node) listenerAddrs() map[string]string {
	n.live.Lock()
	h, k := n.live.http, n.live.kafka
	n.live.Unlock()
	m := map[string]string{}
	if h != nil && h.Addr() != nil {
		m["http"] = h.Addr().String()
	}
	if k != nil && k.Addr() != nil {
		m["kafka"] = k.Addr().String()
		if ls := k.ListenerAddrs(); len(ls) > 1 {
			for name, a := range ls {
				m["kafka_"+strings.ToLower(name)] = a
			}
		}
	}
	if a := n.SchemaRegistryAddr(); a != "" {
		m["schema_registry"] = a
	}
	return m
}
