package main

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestStreamCLI runs eddy stream append, read and tail against a real
// eddy serve child.
func TestStreamCLI(t *testing.T) {
	p := eddytest.Start(t)
	srv := p.HTTPURL()
	r := mustRun(t, "", "", "stream", "append", "orders", "order-1", "--type", "OrderCreated", "--data", `{"total":5}`,
		"--expected-version", "no_stream", "--id", "ev-1", "--server", srv)
	var res struct{ FirstVersion, LastVersion int64 }
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil || res.FirstVersion != 0 {
		t.Fatalf("append output %q: %v", r.stdout, err)
	}
	mustRun(t, "", "", "stream", "append", "orders", "order-1", "--type", "OrderPaid", "--expected-version", "0", "--server", srv)
	bad := runCLI(t, "", "", "stream", "append", "orders", "order-1", "--type", "OrderPaid", "--expected-version", "0", "--server", srv)
	if bad.code() != 1 || !strings.Contains(bad.err.Error(), "expected 0, actual 1") {
		t.Fatalf("stale append: code %d err %v", bad.code(), bad.err)
	}
	for _, args := range [][]string{
		{"stream", "append", "orders", "order-1", "--data", "{}"},                           // no --type
		{"stream", "append", "orders", "order-1", "--type", "T", "--data", "{"},             // bad JSON
		{"stream", "append", "orders", "order-1", "--type", "T", "--expected-version", "x"}, // bad version
		{"stream", "read", "orders"},
	} {
		if r := runCLI(t, "", "", append(args, "--server", srv)...); r.code() != 2 {
			t.Errorf("eddy %v: exit %d (%v), want usage error 2", args, r.code(), r.err)
		}
	}
	r = mustRun(t, "", "", "stream", "read", "orders", "order-1", "--server", srv)
	ls := lines(r.stdout)
	if len(ls) != 2 || !strings.Contains(ls[0], `"id":"ev-1"`) || !strings.Contains(ls[1], `"type":"OrderPaid"`) {
		t.Fatalf("read output:\n%s", r.stdout)
	}
	// A missing stream is said once, naming the stream and its topic.
	if r := runCLI(t, "", "", "stream", "read", "orders", "nope", "--server", srv); r.code() != 1 ||
		r.err.Error() != `stream "nope" not found in topic "orders"` {
		t.Fatalf("read of a missing stream: exit %d, error %q", r.code(), r.err)
	}

	for _, args := range [][]string{{"stream", "tail", "orders", "order-1"}, {"stream", "tail", "orders"}} {
		ctx, cancel := context.WithCancel(context.Background())
		root := newRootCmd()
		out := &lockedBuffer{}
		root.SetOut(out)
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append(args, "--server", srv))
		done := make(chan error, 1)
		go func() { done <- root.ExecuteContext(ctx) }()
		deadline := time.Now().Add(10 * time.Second)
		for len(lines(out.String())) < 2 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		mustRun(t, "", "", "stream", "append", "orders", "order-1", "--type", "Live", "--server", srv)
		for !strings.Contains(out.String(), `"type":"Live"`) && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("tail %v: %v", args, err)
		}
		if !strings.Contains(out.String(), `"type":"Live"`) || !strings.Contains(out.String(), `"id":"ev-1"`) {
			t.Fatalf("tail %v output:\n%s", args, out.String())
		}
	}
}
