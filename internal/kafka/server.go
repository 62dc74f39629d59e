// Package kafka is Eddy's Kafka wire-protocol front end: a TCP listener
// that decodes requests with franz-go's kmsg, translates them into calls on
// internal/broker and the services in Config (groups, producers), and
// writes the responses back in order. It holds no state of its own beyond
// connections.
//
// Each API lives in its own file, NN_name.go, which registers its version
// range and handler in init (see Register and Handler); adding an API never
// touches another API's file. Versions, compatibility notes and error
// mappings are documented in docs/kafka.md.
//
// Concurrency: each connection has a reader goroutine, which decodes
// requests and runs handlers one at a time in arrival order, and a writer
// goroutine; responses leave in request order, written by whichever
// goroutine makes the next one ready (conn_write.go). Handlers that wait
// return DeferInOrder (a produce's fsync wait, run by the writer or the
// reader), DeferCallback (a long-poll fetch, answered by a broker waiter
// callback without a goroutine of its own) or Defer (a goroutine of its
// own), so pipelined requests overlap. Every goroutine is tracked and
// waited for by Shutdown. A Server is safe for concurrent use.
//
// Backpressure: at most MaxInflightPerConn requests per connection are read
// ahead of their responses, and produce requests take their bytes from a
// server-wide ProduceBytesBudget as they arrive, holding them until their
// response is written; when either is exhausted the reader stops reading,
// and TCP pushes back on the client instead of Eddy buffering without
// bound. Resource limits against slow or hostile clients (frame timeout,
// per-connection bytes, fetch caps, accept backoff) are in conn_read.go,
// fetch_limits.go and accept.go.
//
// Usage:
//
//	srv := kafka.New(kafka.Config{Addr: ":9092"}, b)
//	if err := srv.Listen(); err != nil { ... }
//	go srv.Serve(ctx)
//	...
//	err := srv.Shutdown(shutdownCtx)
package kafka

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/membudget"
	"github.com/eddy-streaming/eddy/internal/producers"
	"github.com/eddy-streaming/eddy/internal/share"
)

// NodeID is the node id Eddy reports in Metadata, FindCoordinator and
// DescribeCluster: a single node.
const NodeID int32 = 1

// Config configures a Server. Zero fields take the defaults noted.
type Config struct {
	// Addr is the listen address; default ":9092".
	Addr string
	// AdvertisedAddr is the host:port Metadata returns (a bare host gets
	// the listener's port). Empty means the local address of the
	// connection the request arrived on, which is right for clients that
	// reach Eddy directly.
	AdvertisedAddr string
	// MaxRequestBytes caps a request frame; larger frames close the
	// connection before any allocation. Default 100 MiB.
	MaxRequestBytes int32
	// MaxConnections caps open client connections: at the cap the server
	// stops accepting until one closes, so further connections wait in
	// the kernel's listen backlog and cost no descriptor (Kafka's
	// Acceptor). Default 0: unlimited.
	MaxConnections int
	// MaxInflightPerConn caps requests read from one connection ahead of
	// their responses. Default 32.
	MaxInflightPerConn int
	// ProduceBytesBudget caps produce request bytes waiting on fsync (and
	// on their responses) across all connections; readers stop reading
	// while it is exhausted. Default 256 MiB; negative disables it.
	ProduceBytesBudget int64
	// IdleTimeout closes a connection that sends nothing for this long
	// (Kafka's connections.max.idle.ms). Default 10 minutes; negative
	// disables it.
	IdleTimeout time.Duration
	// FrameTimeout bounds how long a request frame may take to arrive
	// once its size prefix is read (time waiting for the produce budget
	// excluded); a slower frame closes the connection. Default 30s;
	// negative disables it.
	FrameTimeout time.Duration
	// ConnBytesLimit caps the produce bytes one connection holds (read,
	// or waiting on fsync and their responses); its reader waits for its
	// own earlier requests past it. Default MaxRequestBytes (the least it
	// may be); negative disables it.
	ConnBytesLimit int64
	// FetchMaxBytes caps the record bytes of one Fetch response across
	// all its partitions, whatever the request asks (Kafka's broker
	// fetch.max.bytes); the first batch is still returned whole
	// (KIP-74). Default 55 MiB.
	FetchMaxBytes int32
	// UnsentBytesLimit caps the fetched record bytes queued on one
	// connection and not yet written: past it the reader stops reading
	// that client until it reads its responses. Default 32 MiB; negative
	// disables it.
	UnsentBytesLimit int64
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the server's metrics; nil disables them.
	Registerer prometheus.Registerer
	// Groups is the consumer-group coordinator; nil makes the group APIs
	// answer COORDINATOR_NOT_AVAILABLE (bare test servers).
	Groups *group.Coordinator
	// Producers is the idempotent-producer manager for InitProducerId; the
	// same manager must be among the broker's append hooks for sequence
	// checks. Nil hands out in-memory ids and deduplicates nothing.
	Producers *producers.Manager
	// Share is the share-group coordinator (KIP-932 queues); nil makes the
	// share APIs answer COORDINATOR_NOT_AVAILABLE.
	Share *share.Coordinator
	// Authorizer checks each request's actions as Kafka's authorization
	// table says (authz.go); nil or auth.AllowAll allows everything.
	Authorizer auth.Authorizer
	// ACLs serves DescribeAcls, CreateAcls and DeleteAcls; nil answers
	// them SECURITY_DISABLED, as Kafka without an authorizer.
	ACLs *acl.Authorizer
	// Listeners are the listeners with their security protocols
	// (listeners.go); empty means one PLAINTEXT listener on Addr
	// advertising AdvertisedAddr.
	Listeners []Listener
	// Users is the SCRAM credential store SASL checks against and
	// DescribeUserScramCredentials/AlterUserScramCredentials manage; nil
	// refuses every SASL login and answers those APIs with an error.
	Users *auth.Users
}

func (c *Config) setDefaults() {
	if c.Addr == "" {
		c.Addr = ":9092"
	}
	if c.MaxRequestBytes <= 0 {
		c.MaxRequestBytes = 100 << 20
	}
	if c.MaxInflightPerConn <= 0 {
		c.MaxInflightPerConn = 32
	}
	if c.ProduceBytesBudget == 0 {
		c.ProduceBytesBudget = 256 << 20
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = 10 * time.Minute
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	c.setLimitDefaults()
}

// Server is a Kafka protocol listener over one Broker.
type Server struct {
	cfg     Config
	b       *broker.Broker
	log     *slog.Logger
	metrics *metrics
	budget  *membudget.Budget
	rejects produceRejectLog
	// authz is Config.Authorizer, nil when everything is allowed.
	authz auth.Authorizer
	// authFailures slows down repeated failed logins per host (conn_auth.go).
	authFailures failureDelays
	authMetrics  *authMetrics

	// ctx is cancelled when shutdown starts; deferred handlers and
	// long-polls watch it.
	ctx    context.Context
	cancel context.CancelFunc

	nextConnID atomic.Uint64

	mu struct {
		sync.Mutex
		lns      []*boundListener
		conns    map[*conn]struct{}
		shutdown bool
	}
	connWG   sync.WaitGroup
	acceptWG sync.WaitGroup
	served   chan struct{}
	// slotFreed is signalled (capacity 1) when a connection closes, for
	// an accept loop waiting at MaxConnections (accept.go).
	slotFreed chan struct{}
	// slotWaitLogged is when waitForSlot last logged (guarded by mu: each
	// listener has an accept loop).
	slotWaitLogged time.Time
	// forced is closed when Shutdown's deadline passes: writers stop
	// waiting for deferred replies (a handler that ignores its ctx must
	// not hold shutdown hostage).
	forced chan struct{}
}

// New returns a Server for b. It does not listen yet.
func New(cfg Config, b *broker.Broker) *Server {
	cfg.setDefaults()
	s := &Server{cfg: cfg, b: b, log: cfg.Logger, served: make(chan struct{}), forced: make(chan struct{}),
		slotFreed: make(chan struct{}, 1)}
	s.authz = authorizerOf(&cfg)
	if cfg.ProduceBytesBudget > 0 {
		s.budget = membudget.New(cfg.ProduceBytesBudget, int64(cfg.MaxRequestBytes))
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.conns = make(map[*conn]struct{})
	s.metrics = newMetrics(cfg.Registerer, s)
	s.authMetrics = newAuthMetrics(cfg.Registerer, s)
	return s
}

// Broker returns the broker the server fronts.
func (s *Server) Broker() *broker.Broker { return s.b }

// Logger returns the server's logger.
func (s *Server) Logger() *slog.Logger { return s.log }

// Listen opens every listener (Config.Listeners, or one PLAINTEXT on
// Config.Addr).
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.shutdown {
		return errors.New("kafka: server shut down")
	}
	if s.mu.lns != nil {
		return nil
	}
	lns, err := s.listen()
	if err != nil {
		return err
	}
	s.mu.lns = lns
	return nil
}

// Addr returns the first listener's address (nil before Listen).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.mu.lns) == 0 {
		return nil
	}
	return s.mu.lns[0].ln.Addr()
}

// Start listens (if not yet) and serves in the background until Shutdown.
func (s *Server) Start() error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.acceptWG.Add(1)
	go func() {
		defer s.acceptWG.Done()
		_ = s.serve()
	}()
	return nil
}

// Serve listens (if not yet) and accepts connections until ctx is done or
// Shutdown is called. When ctx ends, Serve shuts the server down with no
// grace period; call Shutdown first for a graceful stop. It returns nil
// after a shutdown.
func (s *Server) Serve(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() {
		c, cancel := context.WithCancel(context.Background())
		cancel()
		_ = s.Shutdown(c)
	})
	defer stop()
	s.acceptWG.Add(1)
	defer s.acceptWG.Done()
	return s.serve()
}

func (s *Server) serve() error {
	s.mu.Lock()
	lns := s.mu.lns
	s.mu.Unlock()
	errc := make(chan error, len(lns))
	for _, bl := range lns {
		go func() { errc <- s.serveListener(bl) }()
	}
	var first error
	for range lns {
		if err := <-errc; err != nil && first == nil {
			first = err
		}
	}
	return first
}

func (s *Server) serveListener(bl *boundListener) error {
	ln := bl.ln
	s.log.Info("kafka listener started", "listener", bl.cfg.Name, "protocol", bl.cfg.Protocol, "addr", ln.Addr().String())
	var backoff acceptBackoff
	for {
		if !s.waitForSlot() {
			return nil
		}
		nc, err := ln.Accept()
		if err != nil {
			s.mu.Lock()
			down := s.mu.shutdown
			s.mu.Unlock()
			if down {
				return nil
			}
			if backoff.retry(s, err) {
				continue
			}
			return fmt.Errorf("kafka accept on %s: %w", bl.cfg.Name, err)
		}
		backoff.reset()
		s.accept(nc, bl)
	}
}

func (s *Server) accept(nc net.Conn, bl *boundListener) {
	s.mu.Lock()
	if s.mu.shutdown {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	c := newConn(s, nc, bl)
	s.mu.conns[c] = struct{}{}
	s.connWG.Add(2)
	s.mu.Unlock()
	s.metrics.conns.Inc()
	s.metrics.connsTotal.Inc()
	go c.readLoop()
	go c.writeLoop()
}

func (s *Server) removeConn(c *conn) {
	s.mu.Lock()
	delete(s.mu.conns, c)
	s.mu.Unlock()
	s.metrics.conns.Dec()
	notify(s.slotFreed)
}

// Shutdown stops accepting, stops reading new requests, lets in-flight
// requests finish and their responses be written until ctx ends, then
// closes every connection. Parked fetches are answered at once with what
// they have. It returns ctx.Err() if it had to cut in-flight work short.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	if s.mu.shutdown {
		s.mu.Unlock()
		s.connWG.Wait()
		return nil
	}
	s.mu.shutdown = true
	lns := s.mu.lns
	conns := make([]*conn, 0, len(s.mu.conns))
	for c := range s.mu.conns {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, bl := range lns {
		_ = bl.ln.Close()
	}
	s.cancel()
	for _, c := range conns {
		c.stopReading()
	}
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
		close(s.forced)
		s.mu.Lock()
		for c := range s.mu.conns {
			_ = c.nc.Close()
		}
		s.mu.Unlock()
		<-done
	}
	s.acceptWG.Wait()
	return err
}

// advertised returns the host and port Metadata reports for a connection:
// its listener's advertised address, or else the address it connected to.
func (s *Server) advertised(ci *ConnInfo) (string, int32) {
	addr := s.cfg.AdvertisedAddr
	var ln net.Addr
	if ci != nil && ci.sec != nil && ci.sec.lis != nil {
		addr, ln = ci.sec.lis.cfg.Advertised, ci.sec.lis.ln.Addr()
	}
	if ln == nil {
		ln = s.Addr()
	}
	if addr == "" && ci != nil && ci.Local != nil {
		addr = ci.Local.String()
	}
	if addr == "" && ln != nil {
		addr = ln.String()
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// A bare host: advertise it with the port we listen on.
		host, port = addr, "9092"
		if a, ok := ln.(*net.TCPAddr); ok {
			port = strconv.Itoa(a.Port)
		}
	}
	p, _ := strconv.Atoi(port)
	return host, int32(p)
}
