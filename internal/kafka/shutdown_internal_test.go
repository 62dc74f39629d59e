package kafka

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// TestShutdownDeadlineCutsStuckHandler: a deferred handler that ignores
// its ctx cannot hold Shutdown past its deadline.
func TestShutdownDeadlineCutsStuckHandler(t *testing.T) {
	key := int16(kmsg.DescribeClientQuotas)
	if lookupAPI(key) != nil {
		t.Skip("DescribeClientQuotas is registered; this test borrows its key")
	}
	// reached is closed when the deferred handler runs, done when it
	// returns after release: the test waits on these events, not on time.
	release, reached, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	registry.Lock()
	registry.apis[key] = &apiEntry{key: key, min: 0, max: 1, name: "stuck", handler: func(context.Context, *Server, *Request) Reply {
		return Defer(func(context.Context) Reply {
			defer close(done)
			close(reached)
			<-release
			return NoResponse()
		})
	}}
	registry.Unlock()
	defer func() {
		registry.Lock()
		delete(registry.apis, key)
		registry.Unlock()
	}()

	dir := t.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta = dir, m
	b, err := broker.Open(bc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	s := New(Config{Addr: "127.0.0.1:0"}, b)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", s.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write(fuzzFrame(kmsg.NewPtrDescribeClientQuotasRequest(), 0, 1)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-reached: // the request is in its handler, on a registered connection
	case <-time.After(10 * time.Second):
		t.Fatal("the request never reached its handler")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("shutdown: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v past a 300ms deadline", d)
	}
	close(release) // let the abandoned handler end before goleak looks
	<-done
}
