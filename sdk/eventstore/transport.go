package eventstore

// The default transport of a Client for http:// servers: each request is
// written and its answer read on the caller's goroutine, over a pooled
// HTTP/1.1 keep-alive connection. net/http's Transport runs two goroutines
// per connection (a writer and a reader) and hands every request and answer
// between them and the caller over channels; for the small request/answer
// pairs of appends that hand-off was most of the client's CPU
// (measured in the commit that added it: git log -p docs/benchmarks.md).
// Requests and answers are still written and parsed by net/http
// (Request.Write, ReadResponse).

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"sync"
	"time"
)

// connTransport is an http.RoundTripper for plain-HTTP/1.1 servers.
// Requests it cannot serve (other schemes, protocol upgrades, servers the
// fallback reaches through a proxy, such as HTTP_PROXY names) go to
// fallback. Safe for concurrent use.
//
// Every request the SDK sends is safe to send twice (reads, and appends the
// server recognises by their event ids), so a request that fails on a
// reused connection before any answer arrived (the server closed it while
// it was idle) is sent once more on a new connection, as net/http does for
// replayable requests.
type connTransport struct {
	fallback       http.RoundTripper
	dialer         net.Dialer
	maxIdlePerHost int
	idleTimeout    time.Duration

	mu      sync.Mutex
	idle    map[string][]*poolConn // by host:port, most recently used last
	reaping bool                   // a sweep of expired idle connections is scheduled

	proxied sync.Map // host → bool: the fallback reaches it through a proxy
}

// newConnTransport returns a transport keeping up to maxIdlePerHost idle
// connections per server, each for at most idleTimeout.
func newConnTransport(fallback http.RoundTripper, maxIdlePerHost int, idleTimeout time.Duration) *connTransport {
	return &connTransport{
		fallback:       fallback,
		dialer:         net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second},
		maxIdlePerHost: maxIdlePerHost,
		idleTimeout:    idleTimeout,
		idle:           make(map[string][]*poolConn),
	}
}

// poolConn is one keep-alive connection.
type poolConn struct {
	conn      net.Conn
	cr        countingReader
	br        *bufio.Reader
	bw        *bufio.Writer
	addr      string
	reused    bool // it served a request before this one
	idleSince time.Time
}

// countingReader counts the bytes read from the connection, so a failed
// request knows whether any of its answer arrived.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// RoundTrip implements http.RoundTripper.
func (t *connTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.URL.Scheme != "http" || req.Header.Get("Upgrade") != "" || t.viaProxy(req) {
		return t.fallback.RoundTrip(req)
	}
	addr := req.URL.Host
	if req.URL.Port() == "" {
		addr = net.JoinHostPort(req.URL.Hostname(), "80")
	}
	for attempt := 0; ; attempt++ {
		pc, err := t.get(req.Context(), addr)
		if err != nil {
			closeBody(req)
			return nil, err
		}
		resp, err := t.exchange(pc, req)
		if err == nil {
			return resp, nil
		}
		pc.conn.Close()
		if attempt == 0 && pc.reused && pc.cr.n == 0 && req.Context().Err() == nil {
			if req2, ok := rewind(req); ok {
				req = req2
				continue
			}
		}
		closeBody(req)
		return nil, err
	}
}

// viaProxy reports whether the fallback (an *http.Transport) sends
// requests to req's server through a proxy. The answer depends on the host
// alone (the environment is read once), so it is looked up once per host.
func (t *connTransport) viaProxy(req *http.Request) bool {
	if v, ok := t.proxied.Load(req.URL.Host); ok {
		return v.(bool)
	}
	via := false
	if ht, ok := t.fallback.(*http.Transport); ok && ht.Proxy != nil {
		u, err := ht.Proxy(req)
		via = err != nil || u != nil
	}
	t.proxied.Store(req.URL.Host, via)
	return via
}

// exchange writes req on pc and reads the answer's head; the answer's body
// hands pc back to the pool once read to its end.
func (t *connTransport) exchange(pc *poolConn, req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	stop := func() bool { return true }
	if ctx.Done() != nil {
		// Cancelling the context unblocks the connection's reads and
		// writes; the connection is then not reused.
		stop = context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(aLongTimeAgo) })
	}
	fail := func(err error) (*http.Response, error) {
		stop()
		if cerr := ctx.Err(); cerr != nil {
			return nil, cerr
		}
		return nil, err
	}
	pc.cr.n = 0
	// A small request is written whole before its answer is read. A big
	// one is written by another goroutine while the answer is read: a
	// server may answer before it has read the whole body (413 for a body
	// over its limit) and stop reading, and the answer, not the broken
	// write, is what the caller needs.
	var written chan error
	if req.ContentLength >= 0 && req.ContentLength <= syncBodyMax {
		if err := writeRequest(pc, req); err != nil {
			return fail(err)
		}
	} else {
		written = make(chan error, 1)
		go func() { written <- writeRequest(pc, req) }()
	}
	resp, err := readAnswer(pc.br, req)
	keepWrite := true
	if written != nil {
		keepWrite, err = settleWrite(pc, written, err)
	}
	if err != nil {
		return fail(err)
	}
	keep := keepWrite && !resp.Close && !req.Close
	if resp.Body == http.NoBody || resp.ContentLength == 0 {
		resp.Body.Close()
		resp.Body = http.NoBody
		t.release(pc, stop(), keep)
		return resp, nil
	}
	resp.Body = &pooledBody{t: t, pc: pc, rc: resp.Body, stop: stop, keep: keep}
	return resp, nil
}

// settleWrite ends the concurrent write of a big body once its answer was
// read (readErr nil) or failed. It returns whether the connection can carry
// another request (not when the answer came before the whole body was
// sent: the connection is closed once the answer is read, which ends the
// write) and the request's error (when the read failed, a write that
// failed first says why: the read only saw the connection end).
func settleWrite(pc *poolConn, written <-chan error, readErr error) (reusable bool, err error) {
	if readErr != nil {
		select {
		case werr := <-written:
			if werr != nil {
				return false, werr
			}
		default:
			pc.conn.Close() // ends the write still under way
			<-written
		}
		return false, readErr
	}
	select {
	case werr := <-written:
		return werr == nil, nil
	default:
		return false, nil
	}
}

// syncBodyMax is the largest request body written before the answer is
// read: it fits in the socket's buffers, so writing it cannot block on a
// server that has stopped reading.
const syncBodyMax = 64 << 10

// writeRequest writes req on pc and flushes it.
func writeRequest(pc *poolConn, req *http.Request) error {
	if err := req.Write(pc.bw); err != nil {
		return err
	}
	return pc.bw.Flush()
}

// readAnswer reads req's answer from br, skipping informational answers
// (103 Early Hints, an unasked-for 100 Continue) that come before it.
func readAnswer(br *bufio.Reader, req *http.Request) (*http.Response, error) {
	for {
		resp, err := http.ReadResponse(br, req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode >= 100 && resp.StatusCode < 200 && resp.StatusCode != http.StatusSwitchingProtocols {
			continue
		}
		return resp, nil
	}
}

// aLongTimeAgo is a deadline that has passed: it fails pending I/O at once.
var aLongTimeAgo = time.Unix(1, 0)

// pooledBody is an answer's body; reading it to its end returns the
// connection to the pool, closing it earlier closes the connection.
type pooledBody struct {
	t    *connTransport
	pc   *poolConn
	rc   io.ReadCloser
	stop func() bool
	keep bool
	done bool
}

func (b *pooledBody) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.rc.Read(p)
	if err == io.EOF {
		b.done = true
		b.t.release(b.pc, b.stop(), b.keep)
	} else if err != nil {
		b.done = true
		b.stop()
		b.pc.conn.Close()
	}
	return n, err
}

func (b *pooledBody) Close() error {
	if b.done {
		return nil
	}
	b.done = true
	b.stop()
	// The rest of the answer was not read: the connection cannot carry
	// another request.
	return b.pc.conn.Close()
}

// release returns pc to the pool when its answer was read whole, its
// context did not fire (notFired) and neither side asked to close it.
func (t *connTransport) release(pc *poolConn, notFired, keep bool) {
	if !notFired || !keep || pc.br.Buffered() > 0 {
		pc.conn.Close()
		return
	}
	pc.reused = true
	pc.idleSince = time.Now()
	t.mu.Lock()
	conns := t.idle[pc.addr]
	if len(conns) >= t.maxIdlePerHost {
		t.mu.Unlock()
		pc.conn.Close()
		return
	}
	t.idle[pc.addr] = append(conns, pc)
	if !t.reaping {
		t.reaping = true
		time.AfterFunc(t.idleTimeout, t.reap)
	}
	t.mu.Unlock()
}

// get returns an idle connection to addr, or dials one.
func (t *connTransport) get(ctx context.Context, addr string) (*poolConn, error) {
	t.mu.Lock()
	conns := t.idle[addr]
	for len(conns) > 0 {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if time.Since(pc.idleSince) < t.idleTimeout {
			t.idle[addr] = conns
			t.mu.Unlock()
			return pc, nil
		}
		pc.conn.Close()
	}
	t.idle[addr] = conns
	t.mu.Unlock()
	conn, err := t.dialer.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	pc := &poolConn{conn: conn, addr: addr}
	pc.cr.r = conn
	pc.br = bufio.NewReaderSize(&pc.cr, 4096)
	pc.bw = bufio.NewWriterSize(conn, 4096)
	return pc, nil
}

// reap closes the idle connections that expired, and schedules itself
// again while any remain.
func (t *connTransport) reap() {
	t.mu.Lock()
	defer t.mu.Unlock()
	left := 0
	for addr, conns := range t.idle {
		kept := conns[:0]
		for _, pc := range conns {
			if time.Since(pc.idleSince) >= t.idleTimeout {
				pc.conn.Close()
				continue
			}
			kept = append(kept, pc)
		}
		clear(conns[len(kept):])
		if len(kept) == 0 {
			delete(t.idle, addr)
			continue
		}
		t.idle[addr] = kept
		left += len(kept)
	}
	t.reaping = left > 0
	if t.reaping {
		time.AfterFunc(t.idleTimeout/2, t.reap)
	}
}

// CloseIdleConnections closes every idle connection (http.Client calls it).
func (t *connTransport) CloseIdleConnections() {
	t.mu.Lock()
	for addr, conns := range t.idle {
		for _, pc := range conns {
			pc.conn.Close()
		}
		delete(t.idle, addr)
	}
	t.mu.Unlock()
	if ci, ok := t.fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// rewind returns req with a fresh copy of its body, for a second attempt.
func rewind(req *http.Request) (*http.Request, bool) {
	if req.Body == nil || req.Body == http.NoBody {
		return req, true
	}
	if req.GetBody == nil {
		return nil, false
	}
	body, err := req.GetBody()
	if err != nil {
		return nil, false
	}
	r2 := *req
	r2.Body = body
	return &r2, true
}

// closeBody closes a request's body, as a RoundTripper must on every path.
func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
