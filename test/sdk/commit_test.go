package sdk_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// TestRouterCommitInterval: with CommitInterval the offsets reach the
// broker in the background while the router runs (no poll waits for
// them), and a router that stops before the next interval commits what it
// handled, so a new member of the group handles only the events that came
// after.
func TestRouterCommitInterval(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 2)
	publish := func(from, n int) {
		t.Helper()
		var msgs []pubsub.Message
		for i := from; i < from+n; i++ {
			msgs = append(msgs, pubsub.Message{Topic: "orders", Key: fmt.Sprint(i), Type: "OrderCreated", Data: orderCreated{ID: fmt.Sprint(i)}})
		}
		if err := k.pub.Publish(ctx, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	committed := func() int64 {
		os, err := kadm.NewClient(k.admin).FetchOffsets(ctx, "g")
		if err != nil {
			return -1
		}
		var n int64
		os.Each(func(o kadm.OffsetResponse) { n += o.At })
		return n
	}
	var handled atomic.Int64
	start := func() (stop func() error) {
		r := pubsub.NewRouter(k.brokers, "g", pubsub.CommitInterval(200*time.Millisecond))
		r.Handle("orders", "OrderCreated", func(ctx context.Context, o orderCreated) error {
			handled.Add(1)
			return nil
		})
		return runRouter(t, r)
	}

	publish(0, 50)
	stop := start()
	waitFor(t, "50 events handled", func() bool { return handled.Load() == 50 })
	waitFor(t, "offsets 50 committed in the background", func() bool { return committed() == 50 })
	publish(50, 10)
	waitFor(t, "60 events handled", func() bool { return handled.Load() == 60 })
	if err := stop(); err != nil { // at once: the last 10 are committed on the way out
		t.Fatal(err)
	}
	if n := committed(); n != 60 {
		t.Fatalf("committed %d after the router stopped, want 60", n)
	}

	publish(60, 5)
	stop = start()
	waitFor(t, "the 5 new events handled", func() bool { return handled.Load() >= 65 })
	time.Sleep(500 * time.Millisecond) // nothing more comes
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if n := handled.Load(); n != 65 {
		t.Fatalf("handled %d events in all, want 65 (none delivered twice)", n)
	}
}
