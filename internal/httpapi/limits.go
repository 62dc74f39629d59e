package httpapi

// Resource limits of the HTTP listener: a cap on open connections, request
// bodies read into a server-wide memory budget as their bytes arrive (not
// for the size Content-Length claims) within a deadline, and 503 for API
// routes that are not registered yet because the server is still starting.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/internal/membudget"
)

// Defaults of the limits in Config.
const (
	// DefaultMaxConnections caps open HTTP connections.
	DefaultMaxConnections = 1024
	// DefaultBodyBudget caps the request-body bytes held by all requests
	// being read or handled at once.
	DefaultBodyBudget = 64 << 20
	// DefaultBodyTimeout bounds how long a request body may take to
	// arrive (net/http's ReadTimeout, applied per body so that
	// Server-Sent-Events subscriptions, whose requests stay open, are not
	// cut off by it).
	DefaultBodyTimeout = 30 * time.Second
	// DefaultReadHeaderTimeout bounds how long request headers may take
	// to arrive.
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout closes idle keep-alive connections.
	DefaultIdleTimeout = 2 * time.Minute
	// firstBodyChunk is the first allocation for a body; it doubles as
	// bytes arrive.
	firstBodyChunk = 4 << 10
	// bodyReserve is the largest body a route accepts (the event store's
	// 16 MiB): bodies other than the oldest one arriving leave it free
	// in the budget, so the oldest can always complete (membudget).
	bodyReserve = 16 << 20
	// freeBody is the part of every body not charged to the budget.
	freeBody = 64 << 10
)

// ErrBusy is returned when a request body cannot get memory from the body
// budget before its deadline (503 busy).
var ErrBusy = errors.New("server busy: too many request bodies in flight; retry")

func (c *Config) limitDefaults() {
	if c.MaxConnections == 0 {
		c.MaxConnections = DefaultMaxConnections
	}
	if c.BodyBudget == 0 {
		c.BodyBudget = DefaultBodyBudget
	}
	if c.BodyTimeout == 0 {
		c.BodyTimeout = DefaultBodyTimeout
	}
	if c.ReadHeaderTimeout <= 0 {
		c.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if c.IdleTimeout <= 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
}

// bodyHold is what one request holds of the body budget; serveHTTP
// releases it once the handler returned.
type bodyHold struct {
	s    *Server
	held int64
}

type bodyHoldKey struct{}

// withBodyHold attaches a bodyHold to requests that carry a body (when a
// body budget or a body timeout is set).
func (s *Server) withBodyHold(r *http.Request) (*http.Request, *bodyHold) {
	if (s.bodies == nil && s.cfg.BodyTimeout <= 0) || r.Body == nil || r.Body == http.NoBody {
		return r, nil
	}
	h := &bodyHold{s: s}
	return r.WithContext(context.WithValue(r.Context(), bodyHoldKey{}, h)), h
}

func (h *bodyHold) release() {
	if h != nil && h.held > 0 {
		h.s.bodies.Release(h.held)
		h.held = 0
	}
}

// readBody reads a request body of at most limit bytes (a
// *http.MaxBytesError beyond it). The buffer grows as bytes arrive, each
// growth first taken from the server's body budget (held until the
// handler returns), and the whole body must arrive within the server's
// body timeout.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, error) {
	hold, _ := r.Context().Value(bodyHoldKey{}).(*bodyHold)
	rd := http.MaxBytesReader(w, r.Body, limit)
	var budget *membudget.Budget
	var ticket uint64
	ctx := r.Context()
	if hold != nil {
		s := hold.s
		budget = s.bodies
		if s.cfg.BodyTimeout > 0 {
			deadline := time.Now().Add(s.cfg.BodyTimeout)
			rc := http.NewResponseController(w)
			if rc.SetReadDeadline(deadline) == nil {
				defer func() { _ = rc.SetReadDeadline(time.Time{}) }()
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithDeadline(ctx, deadline)
			defer cancel()
		}
		ticket = budget.Begin()
		defer budget.End(ticket)
	}
	want := int64(firstBodyChunk)
	if r.ContentLength >= 0 && r.ContentLength < limit {
		want = min(want, r.ContentLength+1) // +1: reading EOF needs no growth
	}
	var buf []byte
	for {
		if len(buf) == cap(buf) {
			grow := want
			if cap(buf) > 0 {
				grow = int64(cap(buf)) // double
				if r.ContentLength >= 0 {
					grow = min(grow, max(r.ContentLength+1-int64(cap(buf)), 1))
				}
				grow = min(grow, limit+1-int64(cap(buf)))
				grow = max(grow, 1)
			}
			// The first freeBody bytes of a body are not taken from the
			// budget: small requests (nearly all) never wait behind big
			// slow ones; the connection cap bounds what they hold.
			charge := max(0, int64(cap(buf))+grow-freeBody) - max(0, int64(cap(buf))-freeBody)
			if budget != nil && charge > 0 {
				n, err := budget.Acquire(ctx, ticket, charge)
				if err != nil {
					return nil, fmt.Errorf("%w (%v)", ErrBusy, err)
				}
				hold.held += n
			}
			nb := make([]byte, len(buf), cap(buf)+int(grow))
			copy(nb, buf)
			buf = nb
		}
		m, err := rd.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+m]
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				return nil, err
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return nil, BadRequest("body", "the request body did not arrive within %s", hold.s.cfg.BodyTimeout)
			}
			return nil, BadRequest("body", "read the request body: %v", err)
		}
	}
}

// limitListener caps open connections: Accept waits while the cap is
// reached (connections queue in the kernel's backlog, as with
// x/net/netutil.LimitListener).
type limitListener struct {
	net.Listener
	sem  chan struct{}
	done chan struct{}
	once sync.Once
}

func newLimitListener(ln net.Listener, n int) net.Listener {
	if n <= 0 {
		return ln
	}
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.sem }}, nil
}

func (l *limitListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// startingAnswer answers 503 not_ready for an API path that matched no
// route while the server is still starting (routes such as the event
// store's are registered once their component is open). It reports
// whether it answered.
func (s *Server) startingAnswer(w http.ResponseWriter, r *http.Request) bool {
	if s.ready.Load() || !strings.HasPrefix(r.URL.Path, "/v1/") {
		return false
	}
	w.Header().Set("Retry-After", "1")
	WriteJSON(w, http.StatusServiceUnavailable, ErrorBody{Error: ErrorDetail{Code: "not_ready",
		Message: fmt.Sprintf("server not ready (%s); retry", s.notReadyWhy.Load())}})
	return true
}
