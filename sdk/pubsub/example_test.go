package pubsub_test

import (
	"context"
	"log/slog"
	"time"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

type OrderCreated struct {
	ID    string  `json:"id"`
	Total float64 `json:"total"`
}

func ExamplePublisher() {
	ctx := context.Background()
	pub, err := pubsub.NewPublisher([]string{"localhost:9092"})
	if err != nil {
		panic(err)
	}
	defer pub.Close()
	// One event, synchronously.
	_ = pub.Publish(ctx, pubsub.Message{Topic: "orders", Key: "order-42", Type: "OrderCreated", Data: OrderCreated{ID: "42", Total: 99.5}})
	// A batch, written together and awaited together.
	_ = pub.Publish(ctx,
		pubsub.Message{Topic: "orders", Key: "order-43", Type: "OrderCreated", Data: OrderCreated{ID: "43"}},
		pubsub.Message{Topic: "orders", Key: "order-44", Type: "OrderCreated", Data: OrderCreated{ID: "44"}})
}

func ExampleRouter() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	brokers := []string{"localhost:9092"}
	pub, _ := pubsub.NewPublisher(brokers)
	defer pub.Close()
	r := pubsub.NewRouter(brokers, "email")
	r.Use(
		pubsub.Logging(slog.Default()),
		pubsub.DeadLetter(pub), // after the retries: to dlq.orders, then commit
		pubsub.Retry(pubsub.RetryPolicy{MaxAttempts: 5, Initial: 100 * time.Millisecond}),
		pubsub.Timeout(10*time.Second),
		pubsub.Recoverer(),
	)
	r.Handle("orders", "OrderCreated", func(ctx context.Context, o OrderCreated) error {
		pubsub.Logger(ctx).Info("sending confirmation", "order", o.ID)
		return nil
	})
	r.Handle("orders.vip", "OrderCreated", func(ctx context.Context, o OrderCreated) error {
		return nil // a view: value.total > 1000
	})
	_ = r.Run(ctx) // until ctx is cancelled
}

func ExampleShareGroup() {
	ctx := context.Background()
	brokers := []string{"localhost:9092"}
	pub, _ := pubsub.NewPublisher(brokers)
	defer pub.Close()
	// The broker keeps the dead letters and the redelivery backoff.
	_ = pubsub.CreateDLQTopic(ctx, pub.Client(), "dlq.payments", 1)
	_ = pubsub.ConfigureShareGroup(ctx, pub.Client(), "payment", pubsub.ShareGroupConfig{
		AutoOffsetReset: "earliest", DeliveryLimit: 5, DLQTopic: "dlq.payments", RetryBackoff: 200 * time.Millisecond,
	})
	r := pubsub.NewRouter(brokers, "payment", pubsub.ShareGroup())
	r.Use(pubsub.DeadLetter(pub), pubsub.Retry(pubsub.RetryPolicy{MaxAttempts: 3}))
	r.Handle("payments", "PaymentRequested", func(ctx context.Context, ev *pubsub.Event) error {
		return nil // accepted; an error after the retries rejects it into dlq.payments
	})
	_ = r.Run(ctx)
}

func ExampleIdempotent() {
	store, _ := eventstore.New("http://localhost:8080")
	r := pubsub.NewRouter([]string{"localhost:9092"}, "inventory")
	// Processed ce_ids are kept in the event store's topic "processed".
	r.Use(pubsub.Idempotent(store, "processed", "inventory", 10000))
	r.Handle("orders", "OrderCreated", func(ctx context.Context, o OrderCreated) error {
		return nil // reserve stock once per event
	})
}

func ExampleMarkThrough() {
	store, _ := eventstore.New("http://localhost:8080")
	pub, _ := pubsub.NewPublisher([]string{"localhost:9092"})
	defer pub.Close()
	// The marks are produced through pub: the marks of the handlers
	// running at once share one produce request; a mark the broker
	// refuses is appended over HTTP, which decides it.
	r := pubsub.NewRouter([]string{"localhost:9092"}, "inventory", pubsub.KeyConcurrency(64))
	r.Use(pubsub.Idempotent(store, "processed", "inventory", 10000, pubsub.MarkThrough(pub)))
	r.Handle("orders", "OrderCreated", pubsub.Typed(func(ctx context.Context, o OrderCreated) error {
		return nil
	}))
}

func ExampleKeyConcurrency() {
	store, _ := eventstore.New("http://localhost:8080")
	// Up to 64 orders of a partition at once, each order's events (one
	// key) in order: the handlers' event-store appends overlap and share
	// the broker's fsyncs. Idempotent makes a redelivery after a failure
	// harmless.
	r := pubsub.NewRouter([]string{"localhost:9092"}, "inventory", pubsub.KeyConcurrency(64))
	r.Use(pubsub.Idempotent(store, "processed", "inventory", 10000))
	r.Handle("orders", "OrderCreated", pubsub.Typed(func(ctx context.Context, o OrderCreated) error {
		return nil
	}))
}

// prometheusLike stands for a prometheus/client_golang histogram vector.
type prometheusLike interface {
	Observe(topic, typ, outcome string, seconds float64)
}

func ExampleInstrument() {
	var hist prometheusLike // e.g. a *prometheus.HistogramVec adapter
	r := pubsub.NewRouter([]string{"localhost:9092"}, "analytics")
	r.Use(pubsub.Instrument(pubsub.MetricsFunc(func(ev *pubsub.Event, d time.Duration, err error) {
		outcome := "ok"
		if err != nil {
			outcome = "error"
		}
		if hist != nil {
			hist.Observe(ev.Topic, ev.Type, outcome, d.Seconds())
		}
	})))
}

// Publishing and routing values in the Confluent wire format: the type is
// registered once with the schema registry (JSON Schema here; an Avro or
// Protobuf library's marshal functions make the Codec for those formats),
// then every Message whose Data has that type is encoded with its schema
// id, and the router decodes it back. A topic with
// confluent.value.schema.validation=true accepts exactly such values.
func ExampleSchemas() {
	ctx := context.Background()
	brokers := []string{"localhost:9092"}
	rcl, err := sr.NewClient(sr.URLs("http://localhost:8081"))
	if err != nil {
		panic(err)
	}
	schemas := pubsub.NewSchemas(rcl)
	_, err = schemas.Register(ctx, "orders-value", sr.Schema{Type: sr.TypeJSON, Schema: `{
		"type": "object",
		"properties": {"id": {"type": "string"}, "total": {"type": "number"}},
		"required": ["id", "total"]}`}, OrderCreated{}, pubsub.JSONCodec())
	if err != nil {
		panic(err)
	}

	pub, err := pubsub.NewPublisher(brokers)
	if err != nil {
		panic(err)
	}
	defer pub.Close()
	pub.WithSchemas(schemas)
	_ = pub.Publish(ctx, pubsub.Message{Topic: "orders", Key: "order-42", Type: "OrderCreated", Data: OrderCreated{ID: "42", Total: 99.5}})

	r := pubsub.NewRouter(brokers, "billing", pubsub.WithSchemas(schemas))
	r.Handle("orders", "OrderCreated", func(ctx context.Context, o OrderCreated) error {
		pubsub.Logger(ctx).Info("bill", "order", o.ID, "total", o.Total)
		return nil
	})
	_ = r.Run(ctx)
}
