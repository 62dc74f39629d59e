package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// syncBuffer is a bytes.Buffer safe for a logger and a test to share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestShutdownTimeoutCutsInflight: a produce waiting on a 1 s fsync is
// still in flight when a 100 ms shutdown timeout ends. The client's
// connection must be closed when the timeout ends, close must warn, still
// close storage cleanly and return nil (exit 0).
func TestShutdownTimeoutCutsInflight(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.KafkaAddr, cfg.HTTPAddr, cfg.SchemaRegistryAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 100 * time.Millisecond
	const warning = "kafka requests still in flight at the shutdown timeout"
	logs := &syncBuffer{}
	s, err := openNode(cfg, slog.New(slog.NewTextHandler(logs, nil)), slowSyncFS{FS: vfs.OS(), delay: time.Second, suffix: ".log"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Broker.CreateTopic("slow", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", s.Kafka.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write(produceFrame("slow", 0, recordBatch(10, 100))); err != nil {
		t.Fatal(err)
	}
	// Wait until the request holds produce budget: it is in flight.
	deadline := time.Now().Add(10 * time.Second)
	for gaugeValue(t, s, "eddy_kafka_produce_budget_in_use_bytes") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("produce request never became in flight")
		}
		time.Sleep(time.Millisecond)
	}

	// The client sees its connection end when the timeout ends, not when
	// the fsync does.
	closedAt := make(chan time.Time, 1)
	go func() {
		_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := conn.Read(make([]byte, 1))
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			closedAt <- time.Time{}
			return
		}
		closedAt <- time.Now()
	}()

	ctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	start := time.Now()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("close with an in-flight request at the timeout: %v (want nil: storage closed cleanly)", err)
	}
	took := time.Since(start)
	if !strings.Contains(logs.String(), warning) {
		t.Errorf("no warning about cut-short requests:\n%s", logs.String())
	}
	at := <-closedAt
	if at.IsZero() {
		t.Fatal("connection neither answered nor closed after shutdown")
	}
	if d := at.Sub(start); d > 700*time.Millisecond {
		t.Errorf("connection closed %v after close began; want about the %v timeout, not the 1s fsync", d, cfg.ShutdownTimeout)
	}
	// close itself still waits for the fsync already under way (it cannot be
	// abandoned, and the broker's final sync needs it done) and the final
	// sync: about two slow fsyncs.
	t.Logf("connection closed after %v, close took %v (1s fsyncs, %v timeout)", at.Sub(start), took, cfg.ShutdownTimeout)

	// The data directory is released.
	checkUnlocked(t, cfg.DataDir)
}
