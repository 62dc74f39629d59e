package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// RetryPolicy configures Retry. Zero fields take their defaults.
type RetryPolicy struct {
	// MaxAttempts counts the first call too. Default 3.
	MaxAttempts int
	// Initial is the delay after the first failure. Default 100 ms.
	Initial time.Duration
	// Max caps a delay. Default 10 s.
	Max time.Duration
	// Multiplier grows the delay per attempt. Default 2.
	Multiplier float64
	// Jitter spreads each delay uniformly by ± this fraction. Default 0.2;
	// negative for none.
	Jitter float64
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = 3
	}
	if p.Initial <= 0 {
		p.Initial = 100 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 10 * time.Second
	}
	if p.Multiplier < 1 {
		p.Multiplier = 2
	}
	if p.Jitter == 0 {
		p.Jitter = 0.2
	}
	if p.Jitter < 0 {
		p.Jitter = 0
	}
	return p
}

// Backoff is the delay after failed attempt n (1-based):
// min(Max, Initial × Multiplier^(n−1)) ± Jitter.
func (p RetryPolicy) Backoff(n int) time.Duration {
	p = p.withDefaults()
	d := float64(p.Initial) * math.Pow(p.Multiplier, float64(n-1))
	d = min(d, float64(p.Max))
	if p.Jitter > 0 {
		d *= 1 + p.Jitter*(2*rand.Float64()-1)
	}
	return time.Duration(d)
}

// Retry calls the handler again after an error, up to p.MaxAttempts
// times, sleeping Backoff between attempts; it sets Event.Attempt. It does
// not retry Permanent errors, and stops when ctx is done. The last error
// is returned.
func Retry(p RetryPolicy) Middleware {
	p = p.withDefaults()
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			for n := 1; ; n++ {
				ev.Attempt = n
				err := next(ctx, ev)
				if err == nil || IsPermanent(err) || n >= p.MaxAttempts {
					return err
				}
				t := time.NewTimer(p.Backoff(n))
				select {
				case <-ctx.Done():
					t.Stop()
					return errors.Join(err, ctx.Err())
				case <-t.C:
				}
			}
		}
	}
}

// Timeout cancels the handler's context after d.
func Timeout(d time.Duration) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, ev)
		}
	}
}

// PanicError is the Permanent error Recoverer returns for a panic.
type PanicError struct {
	Value any
	Stack []byte
}

// Error names the panic value.
func (e *PanicError) Error() string { return fmt.Sprintf("handler panic: %v", e.Value) }

// Recoverer turns a handler's panic into a Permanent *PanicError. Put it
// inside DeadLetter (after it in Use) so that a panicking event is
// dead-lettered like a failing one.
func Recoverer() Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) (err error) {
			defer func() {
				if v := recover(); v != nil {
					err = Permanent(&PanicError{Value: v, Stack: debug.Stack()})
				}
			}()
			return next(ctx, ev)
		}
	}
}

type loggerKey struct{}

// Logger returns the logger Logging put in ctx (with the event's fields),
// or slog.Default().
func Logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

// eventLogger is the logger Logging put in ctx, which carries the event's
// fields, or slog.Default() with them.
func eventLogger(ctx context.Context, ev *Event) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default().With(eventAttrs(ev)...)
}

// Logging gives the handler a logger (see Logger) carrying the event's
// fields — group, topic, partition, offset, ce_id, ce_type — and logs each
// event's outcome: debug on success, warn on error, with the duration.
func Logging(l *slog.Logger) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			el := l.With(eventAttrs(ev)...)
			start := time.Now()
			err := next(context.WithValue(ctx, loggerKey{}, el), ev)
			if err != nil {
				el.Warn("event failed", "attempt", ev.Attempt, "delivery_count", ev.DeliveryCount, "duration", time.Since(start), "err", err)
			} else {
				el.Debug("event handled", "duration", time.Since(start))
			}
			return err
		}
	}
}

// Metrics receives one call per handled event. Implement it with the
// metrics library of the application (prometheus/client_golang counters
// and histograms labelled by topic and type, for instance); the SDK module
// does not depend on one.
type Metrics interface {
	EventHandled(ev *Event, d time.Duration, err error)
}

// MetricsFunc adapts a function to Metrics.
type MetricsFunc func(ev *Event, d time.Duration, err error)

// EventHandled calls f.
func (f MetricsFunc) EventHandled(ev *Event, d time.Duration, err error) { f(ev, d, err) }

// Instrument reports every event's duration and outcome to m.
func Instrument(m Metrics) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			start := time.Now()
			err := next(ctx, ev)
			m.EventHandled(ev, time.Since(start), err)
			return err
		}
	}
}

// DeadLetter takes the events whose handler failed (after Retry, when Retry
// is inside it) out of the way:
//
//   - on a share group it returns the error as Permanent, so the router
//     rejects the record and the broker writes it to the group's
//     dead-letter topic (errors.deadletterqueue.topic.name, see
//     ConfigureShareGroup) with its failure headers;
//   - on a classic group it publishes the record to "dlq.<topic>" with its
//     key, value and headers plus the failure headers the broker writes
//     (HeaderDLQGroup … HeaderDLQReason, reason "delivery_limit" after
//     several attempts, "rejected" otherwise) and HeaderDLQMessage, then
//     returns nil so the router commits past it. If that publish fails,
//     the error is returned and the record is not committed.
//
// `eddy dlq peek` and `eddy dlq redrive` treat both kinds alike.
func DeadLetter(pub *Publisher) Middleware {
	return func(next HandlerFunc) HandlerFunc {
		return func(ctx context.Context, ev *Event) error {
			err := next(ctx, ev)
			if err == nil {
				return nil
			}
			if ev.Share {
				return Permanent(err)
			}
			if perr := pub.PublishRecords(ctx, DeadLetterRecord(ev, err)); perr != nil {
				return fmt.Errorf("dead-letter %s/%d@%d: %w (handler: %w)", ev.Topic, ev.Partition, ev.Offset, perr, err)
			}
			eventLogger(ctx, ev).Warn("event dead-lettered", "dlq", DLQPrefix+ev.Topic, "err", err)
			return nil
		}
	}
}

// DeadLetterRecord is the record DeadLetter writes for ev, which failed
// with err, on a classic group.
func DeadLetterRecord(ev *Event, err error) *kgo.Record {
	count := max(ev.Attempt, 1)
	reason := "rejected"
	if count > 1 && !IsPermanent(err) {
		reason = "delivery_limit"
	}
	hs := make([]kgo.RecordHeader, 0, len(ev.Headers)+8)
	hs = append(hs, ev.Headers...)
	add := func(k, v string) { hs = append(hs, kgo.RecordHeader{Key: k, Value: []byte(v)}) }
	add(HeaderDLQGroup, ev.Group)
	add(HeaderDLQTopic, ev.Topic)
	add(HeaderDLQPartition, strconv.Itoa(int(ev.Partition)))
	add(HeaderDLQOffset, strconv.FormatInt(ev.Offset, 10))
	add(HeaderDLQTimestamp, strconv.FormatInt(ev.Timestamp.UnixMilli(), 10))
	add(HeaderDLQDeliveryCount, strconv.Itoa(count))
	add(HeaderDLQReason, reason)
	add(HeaderDLQMessage, err.Error())
	return &kgo.Record{Topic: DLQPrefix + ev.Topic, Key: ev.Key, Value: ev.Data, Headers: hs, Timestamp: ev.Timestamp}
}
