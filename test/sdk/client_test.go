// Package sdk_test runs the Go SDK (sdk/eventstore, its own module) against
// an in-process server, as eddy serve wires it.
package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startServer runs a broker, the event store and the HTTP listener
// in-process on 127.0.0.1:0, as eddy serve wires them.
func startServer(t testing.TB) *eventstore.Client {
	t.Helper()
	c, _ := startServerBroker(t)
	return c
}

// startServerBroker is startServer that also returns the broker.
func startServerBroker(t testing.TB) (*eventstore.Client, *broker.Broker) {
	t.Helper()
	c, n := startNode(t)
	return c, n.Broker
}

// startNode runs a node (internal/node, as eddy serve runs it) with only
// its HTTP listener, on 127.0.0.1:0, and returns a client of it and the
// node (its Broker, and its Registry with the logs' fsync metrics).
func startNode(t testing.TB) (*eventstore.Client, *node.Node) {
	t.Helper()
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka = nil
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.EventStore.FlushInterval = flushInterval
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = n.Close(ctx)
	})
	c, err := eventstore.New("http://" + n.HTTP.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	return c, n
}

func TestAppendReadErrors(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	e1, _ := eventstore.NewEvent("OrderCreated", map[string]any{"total": 10})
	e2, _ := eventstore.NewEvent("OrderPaid", map[string]any{"amount": 10})
	res, err := c.Append(ctx, "orders", "order-1", eventstore.NoStream{}, e1, e2)
	if err != nil || res.FirstVersion != 0 || res.LastVersion != 1 {
		t.Fatalf("append: %+v, %v", res, err)
	}
	if again, err := c.Append(ctx, "orders", "order-1", eventstore.NoStream{}, e1, e2); err != nil || !again.Duplicate {
		t.Fatalf("idempotent retry: %+v, %v", again, err)
	}
	e3, _ := eventstore.NewEvent("OrderShipped", nil)
	_, err = c.Append(ctx, "orders", "order-1", eventstore.Version(0), e3)
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Stream != "order-1" || wev.Expected != eventstore.Version(0) || wev.Actual != 1 {
		t.Fatalf("conflict: %v", err)
	}
	if _, err := c.Append(ctx, "orders", "order-2", eventstore.StreamExists{}, e3); !errors.As(err, &wev) || wev.Expected != (eventstore.StreamExists{}) || wev.Actual != -1 {
		t.Fatalf("exists on a new stream: %v", err)
	}
	page, err := c.Read(ctx, "orders", "order-1", eventstore.ReadOptions{})
	if err != nil || len(page.Events) != 2 || page.Events[1].Type != "OrderPaid" || page.Events[1].ID != e2.ID {
		t.Fatalf("read: %+v, %v", page, err)
	}
	var paid struct{ Amount int }
	if err := page.Events[1].Decode(&paid); err != nil || paid.Amount != 10 || page.Events[1].Time().IsZero() {
		t.Fatalf("decode: %+v, %v", paid, err)
	}
	_, err = c.Read(ctx, "orders", "nope", eventstore.ReadOptions{})
	var nf *eventstore.StreamNotFoundError
	if !errors.Is(err, eventstore.ErrStreamNotFound) || !errors.As(err, &nf) || nf.Topic != "orders" || nf.Stream != "nope" ||
		err.Error() != `stream "nope" not found in topic "orders"` {
		t.Fatalf("missing stream: %v", err)
	}
	var apiErr *eventstore.APIError
	if _, err := c.Append(ctx, "orders", "x", eventstore.Any{}, eventstore.EventData{Type: "T"}); !errors.As(err, &apiErr) || apiErr.Status != 400 || apiErr.Code != "invalid_event" {
		t.Fatalf("missing id: %v", err)
	}
}

// An append whose body is over the server's request limit (16 MiB) gets
// the server's 413, not the broken pipe of a write the server stopped
// reading, and the client keeps working.
func TestAppendOverRequestLimit(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	data := []byte(`"` + strings.Repeat("x", 40<<20) + `"`)
	_, err := c.Append(ctx, "big", "s", eventstore.Any{}, eventstore.EventData{ID: "1", Type: "T", Data: data})
	var apiErr *eventstore.APIError
	if !errors.As(err, &apiErr) || apiErr.Status != 413 || apiErr.Code != "request_too_large" {
		t.Fatalf("40 MiB append: %v, want a 413 request_too_large", err)
	}
	if _, err := c.Append(ctx, "big", "s", eventstore.Any{}, eventstore.EventData{ID: "2", Type: "T"}); err != nil {
		t.Fatalf("append after the 413: %v", err)
	}
}

// order is the test aggregate: a counter of items.
type order struct{ items int }

func (o *order) Apply(ev eventstore.RecordedEvent) error {
	if ev.Type != "ItemAdded" {
		return fmt.Errorf("unknown event %s", ev.Type)
	}
	o.items++
	return nil
}

// TestRepositoryConcurrentUpdates: 8 writers update one aggregate; the
// optimistic retry loses no update.
func TestRepositoryConcurrentUpdates(t *testing.T) {
	c := startServer(t)
	ctx := context.Background()
	repo := eventstore.NewRepository(c, "carts", func() *order { return &order{} })
	repo.MaxRetries = 1000
	const writers, each = 8, 10
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				_, err := repo.Update(ctx, "cart-1", func(o *order) ([]eventstore.EventData, error) {
					ev, err := eventstore.NewEvent("ItemAdded", map[string]int{"n": o.items})
					return []eventstore.EventData{ev}, err
				})
				if err != nil {
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
	o, version, err := repo.Load(ctx, "cart-1")
	if err != nil || o.items != writers*each || version != writers*each-1 {
		t.Fatalf("loaded %d items at version %d (%v), want %d", o.items, version, err, writers*each)
	}
	// Each event saw the count before it: no update was lost or reordered.
	evs, _, err := c.ReadAll(ctx, "carts", "cart-1", 0)
	if err != nil {
		t.Fatal(err)
	}
	for i, ev := range evs {
		var d struct{ N int }
		if err := ev.Decode(&d); err != nil || d.N != i {
			t.Fatalf("event %d recorded n=%d (%v)", i, d.N, err)
		}
	}
	fresh, v, err := repo.Load(ctx, "cart-2")
	if err != nil || v != -1 || fresh.items != 0 {
		t.Fatalf("load of a new aggregate: %+v %d %v", fresh, v, err)
	}
}

func TestSubscribe(t *testing.T) {
	c := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for i := 0; i < 3; i++ {
		ev, _ := eventstore.NewEvent("Tick", i)
		if _, err := c.Append(ctx, "clock", "c", eventstore.Any{}, ev); err != nil {
			t.Fatal(err)
		}
	}
	var got []int64
	stop := errors.New("enough")
	errc := make(chan error, 1)
	go func() {
		errc <- c.Subscribe(ctx, "clock", "c", eventstore.SubscribeOptions{From: 1}, func(ev eventstore.RecordedEvent) error {
			got = append(got, ev.Version)
			if ev.Version == 2 {
				go func() {
					e, _ := eventstore.NewEvent("Tick", 3)
					_, _ = c.Append(ctx, "clock", "c", eventstore.Version(2), e)
				}()
			}
			if len(got) == 3 {
				return stop
			}
			return nil
		})
	}()
	if err := <-errc; !errors.Is(err, stop) {
		t.Fatalf("subscribe: %v", err)
	}
	if fmt.Sprint(got) != "[1 2 3]" {
		t.Fatalf("versions %v, want [1 2 3]", got)
	}
}

// flushInterval is the index flush interval of test servers.
var flushInterval = 200 * time.Millisecond
