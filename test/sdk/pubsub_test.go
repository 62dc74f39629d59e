package sdk_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// kafkaNode is an in-process node with its Kafka and HTTP listeners.
type kafkaNode struct {
	brokers []string
	store   *eventstore.Client
	admin   *kgo.Client
	pub     *pubsub.Publisher
}

func startKafkaNode(t testing.TB) *kafkaNode {
	t.Helper()
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka.Addr = "127.0.0.1:0"
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
	store, err := eventstore.New("http://" + n.HTTP.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	brokers := []string{n.Kafka.Addr().String()}
	admin, err := kgo.NewClient(kgo.SeedBrokers(brokers...))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(admin.Close)
	pub, err := pubsub.NewPublisher(brokers)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pub.Close)
	return &kafkaNode{brokers: brokers, store: store, admin: admin, pub: pub}
}

func (k *kafkaNode) topic(t testing.TB, name string, partitions int32) {
	t.Helper()
	if err := pubsub.CreateTopic(context.Background(), k.admin, name, partitions, nil); err != nil {
		t.Fatal(err)
	}
}

// consumeAll reads n records of topic from the start.
func (k *kafkaNode) consumeAll(t *testing.T, topic string, n int) []*kgo.Record {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var out []*kgo.Record
	for len(out) < n && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) { out = append(out, r) })
	}
	if len(out) < n {
		t.Fatalf("%s: got %d records, want %d", topic, len(out), n)
	}
	return out
}

// runRouter runs r until the test ends, failing the test if Run returns
// an error.
func runRouter(t *testing.T, r *pubsub.Router) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				err = errors.New("router did not stop")
			}
		})
		return err
	}
	t.Cleanup(func() {
		if err := stop(); err != nil {
			t.Error(err)
		}
	})
	return stop
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func headerKeys(r *kgo.Record) []string {
	var ks []string
	for _, h := range r.Headers {
		ks = append(ks, h.Key)
	}
	return ks
}

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type orderCreated struct {
	ID    string  `json:"id"`
	Total float64 `json:"total"`
}

// TestPublisherHeadersMatchEventStore: a published event carries the same
// CloudEvents headers, in the same order and format, as one the event
// store appended; a batch of events with one key keeps its order.
func TestPublisherHeadersMatchEventStore(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 1)
	ev, _ := eventstore.NewEvent("OrderCreated", orderCreated{ID: "1", Total: 5})
	if _, err := k.store.Append(ctx, "orders", "order-1", eventstore.NoStream{}, ev); err != nil {
		t.Fatal(err)
	}
	var batch []pubsub.Message
	for i := range 50 {
		batch = append(batch, pubsub.Message{Topic: "orders", Key: "order-2", Type: "OrderCreated", Data: orderCreated{ID: fmt.Sprint(i), Total: float64(i)}})
	}
	if err := k.pub.Publish(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	if err := k.pub.Publish(ctx, pubsub.Message{Topic: "orders", Type: ""}); err == nil {
		t.Fatal("a message without type was published")
	}
	rs := k.consumeAll(t, "orders", 51)
	stored, published := rs[0], rs[1]
	want := slices.DeleteFunc(headerKeys(stored), func(s string) bool { return s == pubsub.HeaderStreamVersion })
	if got := headerKeys(published); !slices.Equal(got, want) {
		t.Fatalf("published headers %v, event store writes %v", got, want)
	}
	for _, h := range []string{pubsub.HeaderSpecVersion, pubsub.HeaderContentType, pubsub.HeaderType} {
		if header(stored, h) != header(published, h) {
			t.Errorf("header %s: store %q, publisher %q", h, header(stored, h), header(published, h))
		}
	}
	if got := header(published, pubsub.HeaderSource); got != "/topics/orders/streams/order-2" || header(stored, pubsub.HeaderSource) != "/topics/orders/streams/order-1" {
		t.Errorf("ce_source: store %q, publisher %q", header(stored, pubsub.HeaderSource), got)
	}
	if _, err := time.Parse(time.RFC3339Nano, header(published, pubsub.HeaderTime)); err != nil {
		t.Errorf("ce_time: %v", err)
	}
	for i, r := range rs[1:] {
		var o orderCreated
		if err := json.Unmarshal(r.Value, &o); err != nil || o.ID != fmt.Sprint(i) || string(r.Key) != "order-2" {
			t.Fatalf("record %d: %s %s (%v)", i, r.Key, r.Value, err)
		}
	}
	// Asynchronous publishing with a flush.
	var acked atomic.Int32
	for range 10 {
		k.pub.PublishAsync(ctx, pubsub.Message{Topic: "orders", Key: "order-3", Type: "OrderPaid"}, func(_ *kgo.Record, err error) {
			if err == nil {
				acked.Add(1)
			}
		})
	}
	if err := k.pub.Flush(ctx); err != nil || acked.Load() != 10 {
		t.Fatalf("flush: %v, %d acked", err, acked.Load())
	}
}

// TestRouterClassicTypedAndShutdown: typed handlers by CloudEvents type on
// a classic group, events from the event store and the publisher alike; a
// cancelled Run finishes the handler in flight and commits it, and a new
// router of the group resumes after it, handling nothing twice.
func TestRouterClassicTypedAndShutdown(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 3)
	for i := range 20 {
		ev, _ := eventstore.NewEvent("OrderCreated", orderCreated{ID: fmt.Sprint(i), Total: float64(i)})
		if _, err := k.store.Append(ctx, "orders", fmt.Sprintf("order-%d", i), eventstore.NoStream{}, ev); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if err := k.pub.Publish(ctx, pubsub.Message{Topic: "orders", Key: fmt.Sprintf("order-%d", i), Type: "OrderPaid", Data: map[string]any{"id": fmt.Sprint(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	created := map[string]int{}
	var other atomic.Int32
	var slowStarted, slowFinished atomic.Bool
	release := make(chan struct{})
	r := pubsub.NewRouter(k.brokers, "email", pubsub.MaxPollRecords(1000))
	r.Handle("orders", "OrderCreated", func(ctx context.Context, o orderCreated) error {
		mu.Lock()
		created[o.ID]++
		mu.Unlock()
		return nil
	})
	r.Handle("orders", pubsub.AnyType, func(ctx context.Context, ev *pubsub.Event) error {
		if ev.Type != "OrderPaid" || ev.ID == "" || ev.Source == "" {
			t.Errorf("unexpected event %+v", ev)
		}
		other.Add(1)
		return nil
	})
	stop := runRouter(t, r)
	waitFor(t, "25 events", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(created) == 20 && other.Load() == 5
	})
	for id, n := range created {
		if n != 1 {
			t.Fatalf("order %s handled %d times", id, n)
		}
	}
	// A slow handler in flight when Run is cancelled.
	r2 := pubsub.NewRouter(k.brokers, "slow")
	var slowCount atomic.Int32
	r2.Handle("orders", pubsub.AnyType, func(ctx context.Context, ev *pubsub.Event) error {
		if slowCount.Add(1) == 1 {
			slowStarted.Store(true)
			<-release
			slowFinished.Store(true)
		}
		return nil
	}, pubsub.Timeout(time.Minute))
	stop2 := runRouter(t, r2)
	waitFor(t, "the slow handler", slowStarted.Load)
	stopped := make(chan error, 1)
	go func() { stopped <- stop2() }()
	time.Sleep(100 * time.Millisecond)
	select {
	case err := <-stopped:
		t.Fatalf("Run returned (%v) before its handler finished", err)
	default:
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	if !slowFinished.Load() {
		t.Fatal("handler did not finish")
	}
	handledBefore := slowCount.Load()
	offs, err := kadm.NewClient(k.admin).FetchOffsets(ctx, "slow")
	if err != nil {
		t.Fatal(err)
	}
	var committed int64
	offs.Each(func(o kadm.OffsetResponse) { committed += o.At })
	if committed != int64(handledBefore) {
		t.Fatalf("committed %d offsets, handled %d", committed, handledBefore)
	}
	// A new member of the group gets exactly the rest.
	var rest atomic.Int32
	r3 := pubsub.NewRouter(k.brokers, "slow")
	r3.Handle("orders", pubsub.AnyType, func(ctx context.Context, ev *pubsub.Event) error { rest.Add(1); return nil })
	runRouter(t, r3)
	waitFor(t, "the rest", func() bool { return handledBefore+rest.Load() >= 25 })
	time.Sleep(200 * time.Millisecond)
	if handledBefore+rest.Load() != 25 {
		t.Fatalf("handled %d + %d, want 25 in all", handledBefore, rest.Load())
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// TestRouterView: a router on a view sees only the matching events.
func TestRouterView(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 2)
	if err := pubsub.CreateView(ctx, k.admin, "orders.vip", "orders", `ce.type == "OrderCreated" && value.total > 1000`); err != nil {
		t.Fatal(err)
	}
	if err := pubsub.CreateView(ctx, k.admin, "bad", "orders", `value.total >`); err == nil {
		t.Fatal("a filter that does not compile was accepted")
	}
	var msgs []pubsub.Message
	for i := range 40 {
		msgs = append(msgs, pubsub.Message{Topic: "orders", Key: fmt.Sprint(i), Type: "OrderCreated", Data: orderCreated{ID: fmt.Sprint(i), Total: float64(i * 100)}})
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var vip []string
	r := pubsub.NewRouter(k.brokers, "vip-email")
	r.Handle("orders.vip", "OrderCreated", func(ctx context.Context, o orderCreated) error {
		if o.Total <= 1000 {
			t.Errorf("order %s with total %v in the view", o.ID, o.Total)
		}
		mu.Lock()
		vip = append(vip, o.ID)
		mu.Unlock()
		return nil
	})
	runRouter(t, r)
	waitFor(t, "29 VIP orders", func() bool { mu.Lock(); defer mu.Unlock(); return len(vip) >= 29 })
	time.Sleep(200 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if len(vip) != 29 { // totals 1100 … 3900
		t.Fatalf("%d VIP orders, want 29", len(vip))
	}
}

// TestDeadLetterClassic: Retry then DeadLetter on a classic group: the
// poison event is tried 3 times, written to dlq.<topic> with the broker's
// failure headers, and the router commits past it.
func TestDeadLetterClassic(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "payments", 1)
	k.topic(t, "dlq.payments", 1)
	var msgs []pubsub.Message
	for i := range 10 {
		msgs = append(msgs, pubsub.Message{Topic: "payments", Key: fmt.Sprint(i), Type: "PaymentRequested", Data: map[string]any{"card": fmt.Sprint(i)}})
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var attempts, ok atomic.Int32
	var metricErrs atomic.Int32
	r := pubsub.NewRouter(k.brokers, "payment")
	r.Use(pubsub.Logging(slog.Default()),
		pubsub.Instrument(pubsub.MetricsFunc(func(_ *pubsub.Event, _ time.Duration, err error) {
			if err != nil {
				metricErrs.Add(1)
			}
		})),
		pubsub.DeadLetter(k.pub), pubsub.Retry(pubsub.RetryPolicy{MaxAttempts: 3, Initial: time.Millisecond}), pubsub.Recoverer())
	r.Handle("payments", "PaymentRequested", func(ctx context.Context, p map[string]string) error {
		if p["card"] == "7" {
			attempts.Add(1)
			return errors.New("card declined")
		}
		if p["card"] == "8" {
			panic("boom")
		}
		ok.Add(1)
		return nil
	})
	stop := runRouter(t, r)
	dl := k.consumeAll(t, "dlq.payments", 2)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if attempts.Load() != 3 || ok.Load() != 8 || metricErrs.Load() != 0 {
		t.Fatalf("poison attempts %d (want 3), ok %d (want 8), errors seen past DeadLetter %d", attempts.Load(), ok.Load(), metricErrs.Load())
	}
	byKey := map[string]*kgo.Record{}
	for _, r := range dl {
		byKey[string(r.Key)] = r
	}
	want := map[string]map[string]string{
		"7": {pubsub.HeaderDLQReason: "delivery_limit", pubsub.HeaderDLQDeliveryCount: "3", pubsub.HeaderDLQOffset: "7", pubsub.HeaderDLQMessage: "card declined"},
		"8": {pubsub.HeaderDLQReason: "rejected", pubsub.HeaderDLQDeliveryCount: "1", pubsub.HeaderDLQOffset: "8", pubsub.HeaderDLQMessage: "handler panic: boom"},
	}
	for key, w := range want {
		rec := byKey[key]
		if rec == nil {
			t.Fatalf("no dead letter for %s", key)
		}
		w[pubsub.HeaderDLQGroup], w[pubsub.HeaderDLQTopic], w[pubsub.HeaderDLQPartition], w[pubsub.HeaderType] = "payment", "payments", "0", "PaymentRequested"
		for h, v := range w {
			if got := header(rec, h); got != v {
				t.Errorf("dead letter %s: %s = %q, want %q", key, h, got, v)
			}
		}
	}
	offs, err := kadm.NewClient(k.admin).FetchOffsets(ctx, "payment")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("payments", 0); o.At != 10 {
		t.Fatalf("committed %d, want 10", o.At)
	}
}

// TestClassicErrorStopsRouter: without DeadLetter, a handler error stops a
// classic-group router with a *HandlerError after committing what came
// before the failed record.
func TestClassicErrorStopsRouter(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "jobs", 1)
	var msgs []pubsub.Message
	for i := range 6 {
		msgs = append(msgs, pubsub.Message{Topic: "jobs", Type: "Job", Data: map[string]int{"n": i}})
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	r := pubsub.NewRouter(k.brokers, "workers")
	r.Handle("jobs", "Job", func(ctx context.Context, j map[string]int) error {
		if j["n"] == 4 {
			return errors.New("cannot")
		}
		return nil
	})
	rctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	err := r.Run(rctx)
	var he *pubsub.HandlerError
	if !errors.As(err, &he) || he.Offset != 4 || he.Topic != "jobs" {
		t.Fatalf("Run: %v", err)
	}
	offs, err := kadm.NewClient(k.admin).FetchOffsets(ctx, "workers")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := offs.Lookup("jobs", 0); o.At != 4 {
		t.Fatalf("committed %d, want 4", o.At)
	}
}

// TestShareGroupRetryAndDeadLetter: a router on a share group accepts
// good records, releases a failing one so the broker delivers it again
// (DeliveryCount 2), rejects a Permanent failure, and with DeadLetter and
// Retry rejects an event that fails every attempt; the broker writes both
// rejected records to the group's dead-letter topic.
func TestShareGroupRetryAndDeadLetter(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "payments", 2)
	k.topic(t, "refunds", 1)
	if err := pubsub.CreateDLQTopic(ctx, k.admin, "dlq.payments", 1); err != nil {
		t.Fatal(err)
	}
	if err := pubsub.ConfigureShareGroup(ctx, k.admin, "payment", pubsub.ShareGroupConfig{
		AutoOffsetReset: "earliest", DeliveryLimit: 5, DLQTopic: "dlq.payments", RetryBackoff: 50 * time.Millisecond,
	}); err != nil {
		t.Fatal(err)
	}
	if err := pubsub.ConfigureShareGroup(ctx, k.admin, "payment", pubsub.ShareGroupConfig{DLQTopic: "payments-dead"}); err == nil {
		t.Fatal("a dead-letter topic without the dlq. prefix was accepted")
	}
	var msgs []pubsub.Message
	for i := range 20 {
		msgs = append(msgs, pubsub.Message{Topic: "payments", Key: fmt.Sprint(i), Type: "PaymentRequested", Data: map[string]any{"card": fmt.Sprint(i)}})
	}
	msgs = append(msgs, pubsub.Message{Topic: "refunds", Key: "r1", Type: "RefundRequested"})
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	accepted := map[string]int{}
	var flakyDeliveries []int32
	var poisonAttempts, refundAttempts atomic.Int32
	r := pubsub.NewRouter(k.brokers, "payment", pubsub.ShareGroup(), pubsub.ClientOpts(kgo.FetchMaxWait(100*time.Millisecond)))
	r.Handle("payments", "PaymentRequested", func(ctx context.Context, ev *pubsub.Event) error {
		key := string(ev.Key)
		switch key {
		case "3":
			mu.Lock()
			flakyDeliveries = append(flakyDeliveries, ev.DeliveryCount)
			mu.Unlock()
			if ev.DeliveryCount == 1 {
				return errors.New("gateway timeout") // released, delivered again
			}
		case "5":
			poisonAttempts.Add(1)
			return pubsub.Permanent(errors.New("card stolen")) // rejected
		}
		mu.Lock()
		accepted[key]++
		mu.Unlock()
		return nil
	})
	r.Handle("refunds", "RefundRequested", func(ctx context.Context, ev *pubsub.Event) error {
		refundAttempts.Add(1)
		return errors.New("bank down")
	}, pubsub.DeadLetter(k.pub), pubsub.Retry(pubsub.RetryPolicy{MaxAttempts: 2, Initial: time.Millisecond}))
	runRouter(t, r)
	dl := k.consumeAll(t, "dlq.payments", 2)
	waitFor(t, "19 accepted", func() bool { mu.Lock(); defer mu.Unlock(); return len(accepted) == 19 })
	for _, d := range dl {
		want := map[string]string{"5": "payments", "r1": "refunds"}[string(d.Key)]
		if want == "" || header(d, pubsub.HeaderDLQTopic) != want || header(d, pubsub.HeaderDLQReason) != "rejected" || header(d, pubsub.HeaderDLQGroup) != "payment" {
			t.Fatalf("dead letter %s with headers %v", d.Key, d.Headers)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(flakyDeliveries, []int32{1, 2}) {
		t.Fatalf("flaky record deliveries %v, want [1 2]", flakyDeliveries)
	}
	if poisonAttempts.Load() != 1 || refundAttempts.Load() != 2 {
		t.Fatalf("poison handled %d times (want 1), refund %d (want 2)", poisonAttempts.Load(), refundAttempts.Load())
	}
	for k, n := range accepted {
		if n != 1 {
			t.Fatalf("record %s accepted %d times", k, n)
		}
	}
}

// TestIdempotentConsumer: events are processed once per ce_id across
// duplicates and across a replay by a new router (a new process): the
// processed ids live in the event store, not in memory.
func TestIdempotentConsumer(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "orders", 2)
	var msgs []pubsub.Message
	for i := range 10 {
		m := pubsub.Message{Topic: "orders", Key: fmt.Sprint(i), Type: "OrderCreated", ID: fmt.Sprintf("ev-%d", i), Data: orderCreated{ID: fmt.Sprint(i)}}
		msgs = append(msgs, m, m) // each twice
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	handled := map[string]int{}
	run := func(group string) {
		r := pubsub.NewRouter(k.brokers, group)
		var seen atomic.Int32
		r.Use(func(next pubsub.HandlerFunc) pubsub.HandlerFunc {
			return func(ctx context.Context, ev *pubsub.Event) error { defer seen.Add(1); return next(ctx, ev) }
		})
		r.Use(pubsub.Idempotent(k.store, "processed", "inventory", 0))
		r.Handle("orders", "OrderCreated", func(ctx context.Context, o orderCreated) error {
			mu.Lock()
			handled[o.ID]++
			mu.Unlock()
			return nil
		})
		stop := runRouter(t, r)
		waitFor(t, "20 deliveries", func() bool { return seen.Load() == 20 })
		if err := stop(); err != nil {
			t.Fatal(err)
		}
	}
	run("inventory")
	run("inventory-replay") // a new group reads everything again
	if len(handled) != 10 {
		t.Fatalf("handled %d orders, want 10", len(handled))
	}
	for id, n := range handled {
		if n != 1 {
			t.Fatalf("order %s handled %d times", id, n)
		}
	}
	page, err := k.store.Read(ctx, "processed", "inventory-ev-3", eventstore.ReadOptions{})
	if err != nil || len(page.Events) != 1 || page.Events[0].Type != pubsub.EventProcessed {
		t.Fatalf("mark stream: %+v, %v", page, err)
	}
}

// counter is an aggregate: the sum of its Added events.
type counter struct{ n int }

func (c *counter) Apply(ev eventstore.RecordedEvent) error {
	var a struct{ N int }
	if err := ev.Decode(&a); err != nil {
		return err
	}
	c.n += a.N
	return nil
}

// TestCommandHandler: two routers (two groups) apply the same 15 Add
// commands to one aggregate concurrently; Command's load-decide-append
// with the expected version retries the conflicts, so the stream ends with
// 30 events, versions 0…29, and the sum of both.
func TestCommandHandler(t *testing.T) {
	k := startKafkaNode(t)
	ctx := context.Background()
	k.topic(t, "commands", 1)
	var msgs []pubsub.Message
	for i := range 15 {
		msgs = append(msgs, pubsub.Message{Topic: "commands", Key: "c1", Type: "Add", Data: map[string]any{"id": "c1", "n": i + 1}})
	}
	if err := k.pub.Publish(ctx, msgs...); err != nil {
		t.Fatal(err)
	}
	repo := eventstore.NewRepository(k.store, "counters", func() *counter { return &counter{} })
	type add struct {
		ID string `json:"id"`
		N  int    `json:"n"`
	}
	var applied atomic.Int32
	for _, g := range []string{"a", "b"} {
		r := pubsub.NewRouter(k.brokers, g)
		r.Handle("commands", "Add", pubsub.Command(repo, func(c add) string { return c.ID },
			func(_ *counter, c add) ([]eventstore.EventData, error) {
				ev, err := eventstore.NewEvent("Added", map[string]int{"N": c.N})
				return []eventstore.EventData{ev}, err
			}), func(next pubsub.HandlerFunc) pubsub.HandlerFunc {
			return func(ctx context.Context, ev *pubsub.Event) error {
				err := next(ctx, ev)
				if err == nil {
					applied.Add(1)
				}
				return err
			}
		})
		runRouter(t, r)
	}
	waitFor(t, "30 commands", func() bool { return applied.Load() == 30 })
	c, version, err := repo.Load(ctx, "c1")
	if err != nil || version != 29 || c.n != 2*120 {
		t.Fatalf("counter %d at version %d (%v), want 240 at 29", c.n, version, err)
	}
}
