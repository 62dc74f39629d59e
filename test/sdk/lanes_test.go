package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// TestRouterKeyConcurrency: with KeyConcurrency a classic-group router
// handles the events of different keys of one partition at once, each
// key's in order; a failure commits the offsets before the lowest failed
// one and stops the router with its *HandlerError.
func TestRouterKeyConcurrency(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "jobs", 1)
	var msgs []pubsub.Message
	for i := range 40 {
		msgs = append(msgs, pubsub.Message{Topic: "jobs", Key: fmt.Sprint("k", i%8), Type: "Job", Data: map[string]int{"n": i}})
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		byKey    = map[string][]int{}
		cur, top int
	)
	handler := func(fail int) func(context.Context, *pubsub.Event) error {
		return func(ctx context.Context, ev *pubsub.Event) error {
			var j map[string]int
			if err := ev.Decode(&j); err != nil {
				return err
			}
			mu.Lock()
			cur++
			top = max(top, cur)
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
			mu.Lock()
			cur--
			byKey[string(ev.Key)] = append(byKey[string(ev.Key)], j["n"])
			mu.Unlock()
			if j["n"] == fail {
				return errors.New("cannot")
			}
			return nil
		}
	}

	r := pubsub.NewRouter(k.brokers, "all", pubsub.KeyConcurrency(4))
	r.Handle("jobs", "Job", handler(-1))
	stop := runRouter(t, r)
	waitFor(t, "40 jobs", func() bool {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, v := range byKey {
			n += len(v)
		}
		return n == 40
	})
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	for key, ns := range byKey {
		if !slices.IsSorted(ns) || len(ns) != 5 {
			t.Errorf("key %s: handled %v, want 5 in order", key, ns)
		}
	}
	if top < 2 || top > 4 {
		t.Errorf("at most %d handlers at once, want 2–4", top)
	}

	// A failure at offset 17 (key k1): offsets 0–16 are committed.
	r = pubsub.NewRouter(k.brokers, "failing", pubsub.KeyConcurrency(4))
	r.Handle("jobs", "Job", handler(17))
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := r.Run(rctx)
	var he *pubsub.HandlerError
	if !errors.As(err, &he) || he.Offset != 17 {
		t.Fatalf("Run: %v, want a HandlerError at offset 17", err)
	}
	offs, err := kadm.NewClient(k.admin).FetchOffsets(ctx, "failing")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("jobs", 0); o.At != 17 {
		t.Fatalf("committed %d, want 17", o.At)
	}
}
