package eventstore

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer is an httptest server that counts the connections it
// accepted and the requests it served.
type countingServer struct {
	*httptest.Server
	conns, reqs atomic.Int64
}

func newCountingServer(t *testing.T, h http.HandlerFunc) *countingServer {
	t.Helper()
	cs := &countingServer{}
	cs.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cs.reqs.Add(1)
		h(w, r)
	}))
	cs.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			cs.conns.Add(1)
		}
	}
	cs.Start()
	t.Cleanup(cs.Close)
	return cs
}

func newTestTransport(t *testing.T, idle time.Duration) *connTransport {
	t.Helper()
	tr := newConnTransport(http.DefaultTransport, 8, idle)
	t.Cleanup(tr.CloseIdleConnections)
	return tr
}

// roundTrip sends method to u with body and returns the answer's body.
func roundTrip(t *testing.T, tr http.RoundTripper, ctx context.Context, method, u, body string) (string, error) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := tr.RoundTrip(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func echo(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	_, _ = w.Write(append([]byte(r.Method+" "), b...))
}

func TestTransportReusesConnection(t *testing.T) {
	srv := newCountingServer(t, echo)
	tr := newTestTransport(t, time.Minute)
	for i := 0; i < 10; i++ {
		got, err := roundTrip(t, tr, context.Background(), "POST", srv.URL+"/x", "hello")
		if err != nil || got != "POST hello" {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("10 sequential requests used %d connections, want 1", n)
	}
}

// A connection the server closed while it sat idle fails the next request
// before any answer arrives: the request is sent again, once, on a new
// connection, body included.
func TestTransportRetriesConnectionClosedWhileIdle(t *testing.T) {
	srv := newCountingServer(t, echo)
	tr := newTestTransport(t, time.Minute)
	if _, err := roundTrip(t, tr, context.Background(), "POST", srv.URL, "one"); err != nil {
		t.Fatal(err)
	}
	srv.CloseClientConnections()
	got, err := roundTrip(t, tr, context.Background(), "POST", srv.URL, "two")
	if err != nil || got != "POST two" {
		t.Fatalf("after the server closed the idle connection: %q, %v", got, err)
	}
	if n := srv.reqs.Load(); n != 2 {
		t.Fatalf("server served %d requests, want 2", n)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// A new connection that fails is not retried: the error is the caller's.
func TestTransportDoesNotRetryNewConnection(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			// Read the request's head, then hang up without answering.
			buf := make([]byte, 4096)
			_, _ = c.Read(buf)
			c.Close()
		}
	}()
	tr := newTestTransport(t, time.Minute)
	if _, err := roundTrip(t, tr, context.Background(), "POST", "http://"+ln.Addr().String(), "x"); err == nil {
		t.Fatal("request to a server that hangs up succeeded")
	}
	if n := accepted.Load(); n != 1 {
		t.Fatalf("%d connections, want 1 (no retry on a new connection)", n)
	}
}

// Cancelling the context ends a request whose answer never comes, and the
// connection is not reused.
func TestTransportCancelEndsRequest(t *testing.T) {
	release := make(chan struct{})
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hang" {
			<-release
		}
		_, _ = w.Write([]byte("ok"))
	})
	defer close(release)
	tr := newTestTransport(t, time.Minute)
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL+"/fast", ""); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := roundTrip(t, tr, ctx, "GET", srv.URL+"/hang", "")
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("cancelled request: err %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("cancelled request took %v", d)
	}
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL+"/fast", ""); err != nil {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2 (the cancelled one is not reused)", n)
	}
}

// Cancelling while the answer's body is read ends the read.
func TestTransportCancelEndsBodyRead(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		<-release
	})
	tr := newTestTransport(t, time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 5)
	if _, err := io.ReadFull(resp.Body, buf); err != nil || string(buf) != "first" {
		t.Fatalf("%q, %v", buf, err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	if _, err := resp.Body.Read(buf); err == nil {
		t.Fatal("read after cancel succeeded")
	}
}

// An answer closed before its end, or marked Connection: close, closes its
// connection instead of pooling it.
func TestTransportDoesNotPoolUnfinishedConnections(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/big":
			_, _ = w.Write(make([]byte, 1<<20))
		case "/close":
			w.Header().Set("Connection", "close")
			_, _ = w.Write([]byte("bye"))
		default:
			_, _ = w.Write([]byte("ok"))
		}
	})
	tr := newTestTransport(t, time.Minute)
	req, _ := http.NewRequest("GET", srv.URL+"/big", nil)
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := resp.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, c := range []struct {
		path string
		idle int
	}{{"/close", 0}, {"/small", 1}, {"/small", 1}} {
		if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL+c.path, ""); err != nil {
			t.Fatal(err)
		}
		if n := idleConns(tr); n != c.idle {
			t.Fatalf("after %s: %d idle connections, want %d", c.path, n, c.idle)
		}
	}
	// /big's connection closed unread, /close's closed on request, /small
	// twice on one new connection.
	if n := srv.conns.Load(); n != 3 {
		t.Fatalf("%d connections, want 3", n)
	}
}

// Idle connections are closed once idle for the idle timeout.
func TestTransportExpiresIdleConnections(t *testing.T) {
	srv := newCountingServer(t, echo)
	tr := newTestTransport(t, 30*time.Millisecond)
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for idleConns(tr) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle connection never expired")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	if n := srv.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2", n)
	}
}

// Informational answers before the real one are skipped, and the
// connection stays usable.
func TestTransportSkipsInformationalAnswers(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = w.Write([]byte("final"))
	})
	tr := newTestTransport(t, time.Minute)
	for i := 0; i < 2; i++ {
		got, err := roundTrip(t, tr, context.Background(), "GET", srv.URL, "")
		if err != nil || got != "final" {
			t.Fatalf("request %d: %q, %v", i, got, err)
		}
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

// A server that answers before reading the whole body (413 for a body over
// its limit) and stops reading: the caller gets that answer, not the
// broken write, and the connection is not reused.
func TestTransportReturnsAnswerSentBeforeTheBody(t *testing.T) {
	srv := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "POST" {
			_, _ = io.CopyN(io.Discard, r.Body, 1024)
			http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			return
		}
		_, _ = w.Write([]byte("ok"))
	})
	tr := newTestTransport(t, time.Minute)
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL, ""); err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader(strings.Repeat("x", 64<<20)))
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("64 MiB body to a server that answers early: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(body), "too large") {
		t.Fatalf("answer %d %q, want 413", resp.StatusCode, body)
	}
	if n := idleConns(tr); n != 0 {
		t.Fatalf("%d idle connections after an answer sent before the body, want 0", n)
	}
	if _, err := roundTrip(t, tr, context.Background(), "GET", srv.URL, ""); err != nil {
		t.Fatal(err)
	}
}

// Servers the fallback reaches through a proxy (HTTP_PROXY) are reached
// through it, others directly.
func TestTransportUsesFallbacksProxy(t *testing.T) {
	direct := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("direct")) })
	proxy := newCountingServer(t, func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("via proxy " + r.Host)) })
	proxyURL, _ := url.Parse(proxy.URL)
	fallback := &http.Transport{Proxy: func(r *http.Request) (*url.URL, error) {
		if r.URL.Host == "proxied.invalid" {
			return proxyURL, nil
		}
		return nil, nil
	}}
	defer fallback.CloseIdleConnections()
	tr := newConnTransport(fallback, 8, time.Minute)
	defer tr.CloseIdleConnections()
	for i := 0; i < 2; i++ {
		if got, err := roundTrip(t, tr, context.Background(), "GET", "http://proxied.invalid/x", ""); err != nil || got != "via proxy proxied.invalid" {
			t.Fatalf("proxied host: %q, %v", got, err)
		}
		if got, err := roundTrip(t, tr, context.Background(), "GET", direct.URL, ""); err != nil || got != "direct" {
			t.Fatalf("direct host: %q, %v", got, err)
		}
	}
	if n := idleConns(tr); n != 1 {
		t.Fatalf("%d pooled connections, want 1 (the direct server's)", n)
	}
}

// Other schemes go to the fallback transport.
func TestTransportFallsBackForOtherSchemes(t *testing.T) {
	var fell atomic.Int64
	tr := newConnTransport(roundTripFunc(func(r *http.Request) (*http.Response, error) {
		fell.Add(1)
		return &http.Response{StatusCode: 200, Body: http.NoBody, Request: r}, nil
	}), 8, time.Minute)
	req, _ := http.NewRequest("GET", "https://example.invalid/", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if fell.Load() != 1 {
		t.Fatal("https request did not go to the fallback")
	}
}

// idleConns counts tr's pooled connections.
func idleConns(tr *connTransport) int {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	n := 0
	for _, conns := range tr.idle {
		n += len(conns)
	}
	return n
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
