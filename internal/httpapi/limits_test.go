package httpapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// API routes registered later (the event store's) answer 503 not_ready
// while the server starts, not 404; other paths keep their 404.
func TestStartingAnswers503(t *testing.T) {
	ts := startServer(t, nil)
	if code, body := ts.get(t, "/v1/topics/x/streams/y"); code != 503 || !strings.Contains(body, "not_ready") {
		t.Fatalf("API route while starting: %d %s", code, body)
	}
	if code, _ := ts.get(t, "/nope"); code != 404 {
		t.Fatalf("non-API path while starting: %d", code)
	}
	ts.MarkReady()
	if code, _ := ts.get(t, "/v1/topics/x/streams/y"); code != 404 {
		t.Fatalf("unknown API route once ready: %d", code)
	}
}

// Bodies are read into the body budget as they arrive: with a 1 MiB
// budget, 8 clients each declaring 4 MiB and sending 1 MiB hold at most
// the budget; a small body still goes through; the stalled ones end with
// their body timeout.
func TestBodyBudgetAndTimeout(t *testing.T) {
	var mu sync.Mutex
	var held int64
	ts := startServer(t, func(c *Config) {
		c.BodyBudget = 1 << 20
		c.BodyTimeout = 500 * time.Millisecond
	})
	ts.Handle("POST /v1/echo", func(w http.ResponseWriter, r *http.Request) error {
		b, err := readBody(w, r, 16<<20)
		if err != nil {
			return err
		}
		mu.Lock()
		held = max(held, ts.bodies.InUse())
		mu.Unlock()
		fmt.Fprintf(w, "%d", len(b))
		return nil
	})
	ts.MarkReady()
	var wg sync.WaitGroup
	statuses := make(chan int, 8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", ts.Addr().String())
			if err != nil {
				return
			}
			defer c.Close()
			fmt.Fprintf(c, "POST /v1/echo HTTP/1.1\r\nHost: t\r\nContent-Length: %d\r\n\r\n", 4<<20)
			_ = c.SetWriteDeadline(time.Now().Add(2 * time.Second))
			_, _ = c.Write(make([]byte, 1<<20))
			_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
			b, _ := io.ReadAll(c)
			var code int
			fmt.Sscanf(string(b), "HTTP/1.1 %d", &code)
			statuses <- code
		}()
	}
	time.Sleep(100 * time.Millisecond)
	if peak := ts.bodies.Peak(); peak > 1<<20 {
		t.Fatalf("body budget peak %d above its 1 MiB cap", peak)
	}
	resp, err := http.Post(ts.base+"/v1/echo", "text/plain", strings.NewReader("small"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "5" {
		t.Fatalf("small body while big ones stall: %d %q", resp.StatusCode, b)
	}
	wg.Wait()
	close(statuses)
	for code := range statuses {
		if code == 200 {
			t.Fatal("a stalled 4 MiB body was answered 200")
		}
	}
	if n := ts.bodies.InUse(); n != 0 {
		t.Fatalf("%d bytes still held after every request ended", n)
	}
}

// The listener caps open connections: past MaxConnections, accepting
// waits until one closes.
func TestConnectionCap(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxConnections = 2 })
	var conns []net.Conn
	for i := 0; i < 2; i++ {
		c, err := net.Dial("tcp", ts.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		conns = append(conns, c)
		fmt.Fprintf(c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
		buf := make([]byte, 512)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		if _, err := c.Read(buf); err != nil {
			t.Fatalf("connection %d not served: %v", i, err)
		}
	}
	client := &http.Client{Timeout: 300 * time.Millisecond}
	if _, err := client.Get(ts.base + "/healthz"); err == nil {
		t.Fatal("third connection served past the cap of 2")
	}
	conns[0].Close()
	client.Timeout = 3 * time.Second
	resp, err := client.Get(ts.base + "/healthz")
	if err != nil {
		t.Fatalf("after a connection closed: %v", err)
	}
	resp.Body.Close()
}
