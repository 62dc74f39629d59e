// Package pubsub is Eddy's Go SDK for event-driven services, built on
// franz-go (kgo): a Publisher that writes CloudEvents in binary content
// mode, exactly as the event store writes them; a Router that dispatches
// the events of topics or views to handlers chosen by CloudEvents type, on
// a classic consumer group or a share group (KIP-932); and middleware —
// retry with exponential backoff and jitter, dead letters, an idempotent
// consumer, timeouts, panic recovery, slog fields and metrics hooks — each
// usable alone and composable.
//
// Usage:
//
//	pub, _ := pubsub.NewPublisher([]string{"localhost:9092"})
//	_ = pub.Publish(ctx, pubsub.Message{Topic: "orders", Key: "order-42", Type: "OrderCreated", Data: OrderCreated{ID: "42"}})
//
//	r := pubsub.NewRouter([]string{"localhost:9092"}, "email")
//	r.Use(pubsub.Recoverer(), pubsub.Logging(slog.Default()), pubsub.DeadLetter(pub), pubsub.Retry(pubsub.RetryPolicy{}), pubsub.Recoverer())
//	r.Handle("orders", "OrderCreated", func(ctx context.Context, o OrderCreated) error { return send(o) })
//	err := r.Run(ctx) // until ctx is cancelled; finishes in-flight handlers and commits
//
// Schema-registry serialization is optional: Schemas (franz-go's sr.Serde
// plus the registration) binds Go types to registered schemas;
// Publisher.WithSchemas writes their values in the Confluent wire format
// (magic byte 0, the schema id, the Avro, JSON or Protobuf encoding), and a
// Router built WithSchemas decodes them for typed handlers:
//
//	schemas := pubsub.NewSchemas(registryClient)
//	_, _ = schemas.Register(ctx, "orders-value", sr.Schema{Type: sr.TypeJSON, Schema: text}, OrderCreated{}, pubsub.JSONCodec())
//	pub.WithSchemas(schemas)
//	r := pubsub.NewRouter(brokers, "billing", pubsub.WithSchemas(schemas))
//
// Metrics are a hook (the Metrics interface and the Instrument middleware)
// so that this module does not depend on a metrics library; an adapter to
// prometheus/client_golang is a few lines in the application, as franz-go
// keeps its own kprom plugin in a separate module.
package pubsub

// CloudEvents binary-mode headers (the CloudEvents Kafka protocol binding),
// as Eddy's event store writes them, and Eddy's own.
const (
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderSpecVersion = "ce_specversion"
	HeaderTime        = "ce_time"
	HeaderSubject     = "ce_subject"
	HeaderContentType = "content-type"
	// HeaderStreamVersion is the event's version in its stream, for
	// events appended through the event store.
	HeaderStreamVersion = "eddy-stream-version"
	// HeaderExpectedVersion on a produced record makes its append to the
	// stream of its key conditional, as an HTTP append's expectedVersion:
	// "any", "no_stream", "exists" or a version number. The broker refuses
	// the record's whole batch (INVALID_RECORD) when the check fails.
	HeaderExpectedVersion = "eddy-expected-version"
)

// Failure headers of a dead letter: those the broker writes for a share
// group's dead-letter topic (docs/queues.md), which DeadLetter writes too
// for classic groups, so `eddy dlq peek` and `eddy dlq redrive` treat both
// alike. HeaderDLQMessage is the cause in words: the handler's error text
// here, the broker's reason for a share group.
const (
	HeaderDLQGroup         = "__dlq.errors.group"
	HeaderDLQTopic         = "__dlq.errors.topic"
	HeaderDLQPartition     = "__dlq.errors.partition"
	HeaderDLQOffset        = "__dlq.errors.offset"
	HeaderDLQTimestamp     = "__dlq.errors.timestamp"
	HeaderDLQDeliveryCount = "__dlq.errors.delivery.count"
	HeaderDLQReason        = "__dlq.errors.reason"
	HeaderDLQMessage       = "__dlq.errors.message"
	// HeaderRedrivenFrom marks a record written back by `eddy dlq redrive`.
	HeaderRedrivenFrom = "__dlq.redriven.from"
)

// DLQPrefix starts the name of every dead-letter topic: DeadLetter writes
// the dead letters of topic T to DLQPrefix+T.
const DLQPrefix = "dlq."
