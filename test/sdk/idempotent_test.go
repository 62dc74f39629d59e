package sdk_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// TestIdempotentMarkThrough: with MarkThrough the marks are produced over
// the Kafka protocol into the same streams the HTTP appends write. The
// marks topic starts as a plain topic: the first mark goes over HTTP
// (which makes it an event-store topic), the later ones are produced, but
// for those of batches the broker refused. Every event is handled
// once across duplicates in the log, handlers running at once
// (KeyConcurrency) and a replay by a new group, and every mark stream holds
// one EventProcessed at version 0.
func TestIdempotentMarkThrough(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 2)
	k.topic(t, "processed", 2) // plain: no eddy.streams yet
	const n = 40
	var msgs []pubsub.Message
	for i := range n {
		m := pubsub.Message{Topic: "orders", Key: fmt.Sprint(i), Type: "OrderCreated", ID: fmt.Sprintf("ev-%d", i), Data: orderCreated{ID: fmt.Sprint(i)}}
		msgs = append(msgs, m, m) // each twice
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[string]int{}
	run := func(group string) {
		r := pubsub.NewRouter(k.brokers, group, pubsub.KeyConcurrency(16))
		var seen atomic.Int32
		r.Use(func(next pubsub.HandlerFunc) pubsub.HandlerFunc {
			return func(ctx context.Context, ev *pubsub.Event) error { defer seen.Add(1); return next(ctx, ev) }
		})
		r.Use(pubsub.Idempotent(k.store, "processed", "inventory", 0, pubsub.MarkThrough(k.pub)))
		r.Handle("orders", "OrderCreated", func(ctx context.Context, o orderCreated) error {
			mu.Lock()
			handled[o.ID]++
			mu.Unlock()
			return nil
		})
		stop := runRouter(t, r)
		waitFor(t, fmt.Sprint(2*n, " deliveries"), func() bool { return seen.Load() == 2*n })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	run("inventory")
	run("inventory-replay") // a new group reads everything again
	if len(handled) != n {
		t.Fatalf("handled %d orders, want %d", len(handled), n)
	}
	for id, c := range handled {
		if c != 1 {
			t.Fatalf("order %s handled %d times", id, c)
		}
	}
	for i := range n {
		page, err := k.store.Read(ctx, "processed", fmt.Sprintf("inventory-ev-%d", i), eventstore.ReadOptions{})
		if err != nil || len(page.Events) != 1 || page.Events[0].Type != pubsub.EventProcessed || page.Events[0].Version != 0 {
			t.Fatalf("mark stream of ev-%d: %+v, %v", i, page, err)
		}
	}
	// The HTTP appends write eddy-stream-version; produced marks carry
	// the expected version instead.
	var overHTTP, produced int
	for _, r := range k.consumeAll(t, "processed", n) {
		switch {
		case header(r, pubsub.HeaderStreamVersion) != "":
			overHTTP++
		case header(r, pubsub.HeaderExpectedVersion) == "no_stream":
			produced++
		default:
			t.Fatalf("mark %s has neither %s nor %s: %v", r.Key, pubsub.HeaderStreamVersion, pubsub.HeaderExpectedVersion, headerKeys(r))
		}
	}
	t.Logf("%d marks over HTTP, %d produced", overHTTP, produced)
	if overHTTP == 0 || produced == 0 || overHTTP+produced != n {
		t.Fatalf("%d marks over HTTP and %d produced, want some of each, %d in all", overHTTP, produced, n)
	}
}
