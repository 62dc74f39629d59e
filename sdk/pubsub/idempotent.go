package pubsub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// EventProcessed is the event type Idempotent appends to mark an event as
// processed.
const EventProcessed = "EventProcessed"

// Idempotent skips the events (by ce_id) that the consumer name already
// processed successfully. The processed ids are kept durably in Eddy's
// event store, in topic: one stream per processed event,
// "<name>-<ce_id>", whose single EventProcessed event is appended with
// expected version no_stream once the handler returned nil. A bounded
// in-memory cache (cacheSize ids; 0 for none) saves the store lookup for
// ids this process marked itself.
//
// It gives effectively-once processing over at-least-once delivery as long
// as the handler's effect and the mark are not separated by a crash; a
// crash between them processes the event again on redelivery. Events
// without ce_id are passed through.
//
// With MarkThrough the marks are produced over the Kafka protocol instead
// of appended over HTTP; they land in the same streams.
func Idempotent(store *eventstore.Client, topic, name string, cacheSize int, opts ...IdempotentOption) Middleware {
	c := &seenCache{max: cacheSize, m: map[string]struct{}{}}
	var cfg idempotentCfg
	for _, o := range opts {
		o(&cfg)
	}
	// appended: a mark was appended over HTTP, so topic is an event-store
	// topic and produced marks are indexed (MarkThrough).
	var appended atomic.Bool
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			if ev.ID == "" {
				return next(ctx, ev)
			}
			stream := name + "-" + ev.ID
			if c.has(stream) {
				return nil
			}
			_, err := store.Read(ctx, topic, stream, eventstore.ReadOptions{Limit: 1})
			var apiErr *eventstore.APIError
			switch {
			case err == nil:
				c.add(stream)
				eventLogger(ctx, ev).Debug("event already processed", "consumer", name)
				return nil
			case errors.Is(err, eventstore.ErrStreamNotFound),
				// No mark yet: the first append creates the topic or
				// turns eddy.streams on.
				errors.As(err, &apiErr) && (apiErr.Code == "topic_not_found" || apiErr.Code == "not_stream_topic"):
			default:
				return fmt.Errorf("idempotent %s: look up %s: %w", name, stream, err)
			}
			if err := next(ctx, ev); err != nil {
				return err
			}
			data, _ := json.Marshal(map[string]any{"topic": ev.Topic, "partition": ev.Partition, "offset": ev.Offset, "type": ev.Type})
			mark := eventstore.EventData{ID: markID(stream), Type: EventProcessed, Data: data}
			if cfg.pub != nil && appended.Load() && cfg.pub.Publish(ctx, Message{Topic: topic, Key: stream, Type: EventProcessed, ID: mark.ID, Data: data,
				Headers: []kgo.RecordHeader{{Key: HeaderExpectedVersion, Value: []byte("no_stream")}}}) == nil {
				c.add(stream)
				return nil
			}
			// The first mark, or a refused produce (a mark already
			// there, or a batch shared with one), or a failed one:
			// nothing of a refused batch was written, and the append
			// over HTTP decides. It is idempotent by the mark's id
			// should the produce have landed after all.
			_, err = store.Append(ctx, topic, stream, eventstore.NoStream{}, mark)
			var wev *eventstore.WrongExpectedVersionError
			if err != nil && !errors.As(err, &wev) {
				return fmt.Errorf("idempotent %s: mark %s processed: %w", name, stream, err)
			}
			appended.Store(true)
			c.add(stream)
			return nil
		}
	}
}

// IdempotentOption configures Idempotent.
type IdempotentOption func(*idempotentCfg)

type idempotentCfg struct {
	pub *Publisher
}

// MarkThrough makes Idempotent produce its marks through pub, over the
// Kafka protocol, as records of the mark's stream carrying the
// HeaderExpectedVersion header no_stream (docs/http-api.md, "Over the
// Kafka protocol"), instead of one HTTP append each. The producer batches
// the marks of handlers running at once (KeyConcurrency, partitions in
// parallel) into one request and one fsync. The broker refuses a whole
// batch when one of its marks exists already; the marks of a refused or
// failed produce are then appended over HTTP, one by one, which decides
// each. The first mark of the middleware is appended over HTTP, which
// makes topic an event-store topic (eddy.streams) if it is not one yet: on
// a plain topic the broker indexes no produced record, and would store a
// compressed batch of marks without checking or indexing it.
func MarkThrough(pub *Publisher) IdempotentOption {
	return func(c *idempotentCfg) { c.pub = pub }
}

// markID is a deterministic UUID-shaped id for a mark, so retrying its
// append is idempotent.
func markID(stream string) string {
	s := sha256.Sum256([]byte(stream))
	h := hex.EncodeToString(s[:16])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// seenCache is a bounded set, cleared when full.
type seenCache struct {
	mu  sync.Mutex
	max int
	m   map[string]struct{}
}

func (c *seenCache) has(k string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	_, ok := c.m[k]
	return ok
}

func (c *seenCache) add(k string) {
	if c.max <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[k] = struct{}{}
}
