package sdk_test

import (
	"context"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// TestDefaultClientReusesConnections: 32 goroutines sharing a Client made
// without HTTPClient keep their keep-alive connections between requests
// (net/http's default transport keeps 2 idle per host and would dial
// again for most of them every round). Connections are counted by a TCP
// proxy in front of the server.
func TestDefaultClientReusesConnections(t *testing.T) {
	srv := startServer(t)
	const workers = 32
	n := countConns(t, srv.BaseURL(), workers, 30)
	// At most one connection per concurrent request, plus slack for a
	// connection the server closed while idle.
	if n > workers+4 {
		t.Fatalf("%d connections for %d goroutines; want <= %d", n, workers, workers+4)
	}
}

// TestMaxIdleConns: a Client shared by more goroutines than it keeps idle
// connections (128 by default) dials anew for the requests beyond;
// MaxIdleConns sized to them keeps one connection each.
func TestMaxIdleConns(t *testing.T) {
	srv := startServer(t)
	const workers, rounds = 160, 5
	if n := countConns(t, srv.BaseURL(), workers, rounds); n < workers+(rounds-1)*(workers-128)/2 {
		t.Fatalf("default: %d connections for %d goroutines × %d rounds; want the ones beyond 128 dialed anew (>= %d)",
			n, workers, rounds, workers+(rounds-1)*(workers-128)/2)
	}
	if n := countConns(t, srv.BaseURL(), workers, rounds, eventstore.MaxIdleConns(200)); n > workers+4 {
		t.Fatalf("MaxIdleConns(200): %d connections for %d goroutines; want <= %d", n, workers, workers+4)
	}
}

// countConns runs rounds of one append on each of workers goroutines sharing one
// Client made with opts, and returns how many connections it opened,
// counted by a TCP proxy in front of the server at base.
func countConns(t *testing.T, base string, workers, rounds int, opts ...eventstore.Opt) int64 {
	t.Helper()
	target := strings.TrimPrefix(base, "http://")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var accepted atomic.Int64
	var conns sync.WaitGroup
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			conns.Add(2)
			go func() { defer conns.Done(); _, _ = io.Copy(up, c); up.Close() }()
			go func() { defer conns.Done(); _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	cl, err := eventstore.New("http://"+ln.Addr().String(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	// The goroutines append in rounds, all of a round's requests in flight
	// together and ending before the next round's start, so that a pool
	// smaller than the goroutines has to close the connections beyond it.
	errc := make(chan error, workers*rounds)
	for r := 0; r < rounds; r++ {
		var wg sync.WaitGroup
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := cl.Append(context.Background(), "conns", "s", eventstore.Any{}, eventstore.EventData{ID: eventstore.NewID(), Type: "T"}); err != nil {
					errc <- err
				}
			}()
		}
		wg.Wait()
	}
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	t.Logf("%d goroutines × %d appends: %d connections", workers, rounds, accepted.Load())
	ln.Close()
	return accepted.Load()
}
