// Package httpapi is Eddy's HTTP listener: health (/healthz), readiness
// (/readyz), Prometheus metrics (/metrics), server status (/v1/status), and
// the place later REST routes register.
//
// Routes are registered with [Server.Handle] using Go ServeMux patterns
// ("GET /v1/status"). A route returns an error instead of writing one; the
// error is turned into an HTTP status and a JSON body by the one table in
// errors.go, so every route answers failures the same way. Every route is
// counted and timed per pattern (eddy_http_requests_total,
// eddy_http_request_duration_seconds).
//
// The server holds no broker state of its own: status data comes from the
// functions in [Config]. A Server is safe for concurrent use; routes may be
// registered before or after Serve starts.
//
// Usage:
//
//	s, err := httpapi.New(httpapi.Config{Addr: ":8080", Logger: log, Registry: reg, ...})
//	s.Handle("GET /v1/things/{name}", func(w http.ResponseWriter, r *http.Request) error { ... })
//	if err := s.Listen(); err != nil { ... }
//	go s.Serve()
//	s.MarkReady()
//	...
//	s.Shutdown(ctx)
package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/membudget"
	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/share"
)

// Config configures a Server.
type Config struct {
	// Addr is the listen address, host:port.
	Addr string
	// Logger receives request errors and server errors. Required.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; Gatherer is what /metrics
	// exposes. Usually both are the process's one *prometheus.Registry.
	Registerer prometheus.Registerer
	Gatherer   prometheus.Gatherer
	// Version, DataDir and StartedAt describe the process in /v1/status.
	Version   string
	DataDir   string
	StartedAt time.Time
	// Topics and Groups supply /v1/status with broker and group data. Either
	// may be nil while the component does not exist.
	Topics func(ctx context.Context) ([]TopicStatus, error)
	Groups func(ctx context.Context) ([]GroupStatus, error)
	// Listeners names the process's listen addresses in /v1/status; it is
	// called on each request so addresses bound later show up.
	Listeners func() map[string]string
	// MaxConnections caps open HTTP connections; more wait to be
	// accepted. Default 1024; negative is no cap.
	MaxConnections int
	// BodyBudget caps the request-body bytes held by all requests at
	// once; bodies take it as their bytes arrive. Default 64 MiB;
	// negative disables it.
	BodyBudget int64
	// BodyTimeout bounds how long a request body may take to arrive.
	// Default 30s; negative disables it.
	BodyTimeout time.Duration
	// ReadHeaderTimeout bounds how long request headers may take to
	// arrive (http.Server.ReadHeaderTimeout). Default 10s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes idle keep-alive connections
	// (http.Server.IdleTimeout). Default 2 minutes.
	IdleTimeout time.Duration
	// Authorizer checks each route as the Kafka operation it equals
	// (authz.go); nil allows everything.
	Authorizer auth.Authorizer
	// TLS, when set, serves HTTPS (TLS 1.2 or later).
	TLS *tls.Config
	// Authenticate, when set, requires HTTP Basic credentials it accepts
	// on every route but /healthz, /readyz and (with MetricsPublic)
	// /metrics (authn.go).
	Authenticate auth.PasswordVerifier
	// MetricsPublic serves /metrics without credentials.
	MetricsPublic bool
}

// Server is the HTTP listener.
type Server struct {
	cfg     Config
	log     *slog.Logger
	mux     *http.ServeMux
	srv     *http.Server
	metrics *metrics
	// bodies is the request-body budget (limits.go); nil when disabled.
	bodies *membudget.Budget
	// notFound serves requests no route matches (404, or 405 for a known
	// path with another method), counted under one route label.
	notFound http.Handler

	// queues is the share-group coordinator once RegisterQueues ran
	// (/v1/status reports its groups).
	queues atomic.Pointer[share.Coordinator]
	// schemas is the schema registry once RegisterAdmin ran (live tail
	// decodes wire-format values with it).
	schemas atomic.Pointer[registry.Registry]

	ready       atomic.Bool
	notReadyWhy atomic.Value // string

	mu struct {
		sync.Mutex
		ln net.Listener
		// routes are the registered patterns (Routes).
		routes []string
	}
}

// New builds a Server with /healthz, /readyz, /metrics and /v1/status
// registered. It does not listen yet.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		return nil, errors.New("httpapi: Config.Logger is required")
	}
	if cfg.Registerer == nil || cfg.Gatherer == nil {
		return nil, errors.New("httpapi: Config.Registerer and Config.Gatherer are required")
	}
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("register http metrics: %w", err)
	}
	cfg.limitDefaults()
	s := &Server{cfg: cfg, log: cfg.Logger, mux: http.NewServeMux(), metrics: m}
	if cfg.BodyBudget > 0 {
		s.bodies = membudget.New(cfg.BodyBudget, bodyReserve)
	}
	s.notReadyWhy.Store("starting")
	s.notFound = m.instrument(unmatchedRoute, http.HandlerFunc(s.unmatched))
	var handler http.Handler = http.HandlerFunc(s.serveHTTP)
	if cfg.Authenticate != nil {
		handler = RequireBasic(cfg.Authenticate, s.publicPath, handler)
	}
	s.srv = &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: cfg.ReadHeaderTimeout,
		IdleTimeout:       cfg.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
	}
	s.HandleHTTP("GET /healthz", http.HandlerFunc(s.healthz))
	s.HandleHTTP("GET /readyz", http.HandlerFunc(s.readyz))
	s.HandleHTTP("GET /metrics", promhttp.HandlerFor(cfg.Gatherer, promhttp.HandlerOpts{
		ErrorLog:          slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelWarn),
		Registry:          cfg.Registerer,
		EnableOpenMetrics: true,
	}))
	s.Handle("GET /v1/status", s.status)
	return s, nil
}

// HandlerFunc serves one route. It returns nil after writing a response, or
// an error (and writes nothing) to have the error table answer for it.
type HandlerFunc func(w http.ResponseWriter, r *http.Request) error

// Handle registers h for a ServeMux pattern such as "GET /v1/topics/{name}".
// The pattern is the route label in metrics. It panics, like ServeMux, if
// the pattern is malformed or conflicts with another: that is a programming
// error found at startup, not a reaction to input.
func (s *Server) Handle(pattern string, h HandlerFunc) {
	s.HandleHTTP(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.WriteError(w, r, err)
		}
	}))
}

// HandleHTTP registers a plain http.Handler (for handlers that stream or
// come from libraries), with the same metrics as Handle.
func (s *Server) HandleHTTP(pattern string, h http.Handler) {
	s.mux.Handle(pattern, s.metrics.instrument(pattern, s.authorized(pattern, h)))
}

// unmatchedRoute is the route label of requests that match no pattern, so
// unknown paths cannot blow up metric cardinality.
const unmatchedRoute = "unmatched"

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	if _, pattern := s.mux.Handler(r); pattern == "" {
		if s.startingAnswer(w, r) {
			return
		}
		s.notFound.ServeHTTP(w, r)
		return
	}
	r, hold := s.withBodyHold(r)
	defer hold.release()
	s.mux.ServeHTTP(w, r)
}

// unmatched answers a request no route matches in the error table's JSON
// shape: ServeMux decides between 404 and 405 (setting Allow), and its
// plain-text body is replaced.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	cw := &captureStatus{ResponseWriter: w}
	s.mux.ServeHTTP(cw, r)
	status, code := cw.status, "not_found"
	switch status {
	case http.StatusMethodNotAllowed:
		code = "method_not_allowed"
	case 0:
		status = http.StatusNotFound
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)}})
}

// captureStatus records the status a handler sets and discards its body;
// headers (such as Allow) pass through.
type captureStatus struct {
	http.ResponseWriter
	status int
}

func (c *captureStatus) WriteHeader(code int)        { c.status = code }
func (c *captureStatus) Write(b []byte) (int, error) { return len(b), nil }

// Listen binds the listen address. After it returns, Addr is known and
// connections queue until Serve runs.
func (s *Server) Listen() error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("http listen on %s: %w", s.cfg.Addr, err)
	}
	s.mu.Lock()
	s.mu.ln = newLimitListener(ln, s.cfg.MaxConnections)
	if s.cfg.TLS != nil {
		s.mu.ln = tls.NewListener(s.mu.ln, s.cfg.TLS)
	}
	s.mu.Unlock()
	return nil
}

// Addr returns the bound address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.ln == nil {
		return nil
	}
	return s.mu.ln.Addr()
}

// Serve serves connections until Shutdown. It returns nil after Shutdown.
func (s *Server) Serve() error {
	s.mu.Lock()
	ln := s.mu.ln
	s.mu.Unlock()
	if ln == nil {
		return errors.New("httpapi: Serve before Listen")
	}
	if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http serve: %w", err)
	}
	return nil
}

// Shutdown stops accepting connections and waits for active requests until
// ctx ends, then closes what is left.
func (s *Server) Shutdown(ctx context.Context) error {
	s.MarkNotReady("shutting down")
	err := s.srv.Shutdown(ctx)
	if err != nil {
		_ = s.srv.Close()
	}
	return err
}

// MarkReady makes /readyz answer 200: logs recovered and listeners open.
func (s *Server) MarkReady() {
	s.ready.Store(true)
	s.metrics.ready.Set(1)
}

// MarkNotReady makes /readyz answer 503 with reason.
func (s *Server) MarkNotReady(reason string) {
	s.notReadyWhy.Store(reason)
	s.ready.Store(false)
	s.metrics.ready.Set(0)
}

// Ready reports whether the server is marked ready.
func (s *Server) Ready() bool { return s.ready.Load() }

func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if s.ready.Load() {
		_, _ = w.Write([]byte("ready\n"))
		return
	}
	w.WriteHeader(http.StatusServiceUnavailable)
	_, _ = fmt.Fprintf(w, "not ready: %s\n", s.notReadyWhy.Load())
}
