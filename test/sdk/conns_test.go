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
	target := strings.TrimPrefix(srv.BaseURL(), "http://")
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
	cl, err := eventstore.New("http://" + ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	const workers, rounds = 32, 30
	var wg sync.WaitGroup
	errc := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := 0; r < rounds; r++ {
				if _, err := cl.Append(context.Background(), "conns", "s", eventstore.Any{}, eventstore.EventData{ID: eventstore.NewID(), Type: "T"}); err != nil {
					errc <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	// At most one connection per concurrent request, plus slack for a
	// connection the server closed while idle.
	t.Logf("%d connections", accepted.Load())
	if n := accepted.Load(); n > workers+4 {
		t.Fatalf("%d connections for %d appends by %d goroutines; want <= %d", n, workers*rounds, workers, workers+4)
	}
	ln.Close()
}
