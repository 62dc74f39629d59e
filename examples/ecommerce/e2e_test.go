package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

func TestMain(m *testing.M) { os.Exit(eddytest.BuildBinary(m)) }

// syncBuffer is a bytes.Buffer safe for the services' goroutines.
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

// TestEndToEnd runs the whole system against a real `eddy serve`: orders
// placed over HTTP (one twice, one paid with a card that always fails),
// every service settling them, the poison payment dead-lettered, fixed and
// redriven with `eddy dlq redrive`, inventory replayed and analytics
// rebuilt; run checks every invariant and fails otherwise. Every event is
// validated by the broker against its JSON schema: OrderCreated evolves
// from v1 to v2 (BACKWARD) between the two halves of the orders, a breaking
// v3 and an invalid append are refused, and the v1 and v2 consumers both
// read every order. A second run
// against the same server (new orders, groups resuming) holds them too.
func TestEndToEnd(t *testing.T) {
	p := eddytest.Start(t)
	for i := range 2 {
		var out syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		err := run(ctx, []string{"--brokers", p.KafkaAddr(), "--http", p.HTTPURL(), "--registry", p.SchemaRegistryURL(), "--listen", "127.0.0.1:0",
			"--orders", "12", "--eddy", eddytest.Binary(), "--timeout", "45s"}, &out)
		cancel()
		t.Logf("run %d output:\n%s", i+1, out.String())
		if err != nil {
			t.Fatalf("run %d: %v", i+1, err)
		}
		for _, want := range []string{"answered 409", "dead-lettered: order-", "all invariants hold", "VIP orders         2",
			"schema orders-OrderCreated", "schema payments-PaymentRequested", "schema inventory-InventoryReserved",
			"registered orders-OrderCreated v2 (optional currency): version 2,",
			"a orders-OrderCreated with a required currency is refused",
			"invalid OrderCreated refused: 400", "(subject orders-OrderCreated)",
			"OrderCreated       6 v1 + 6 v2 events", "order-to-email     p50 "} {
			if !strings.Contains(out.String(), want) {
				t.Fatalf("run %d output lacks %q", i+1, want)
			}
		}
	}
}

func TestFlags(t *testing.T) {
	for _, args := range [][]string{{"--orders", "-1"}, {"--orders", "2"}, {"--inflight", "0"}, {"extra"}, {"--nope"}} {
		var out bytes.Buffer
		if err := run(context.Background(), args, &out); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}
