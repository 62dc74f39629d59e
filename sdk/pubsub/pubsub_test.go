package pubsub

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestBackoffBounds(t *testing.T) {
	p := RetryPolicy{Initial: 100 * time.Millisecond, Max: time.Second, Multiplier: 2, Jitter: 0.1}
	for n, base := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 5: time.Second, 30: time.Second} {
		for range 100 {
			d := p.Backoff(n)
			if d < base*9/10 || d > base*11/10 {
				t.Fatalf("Backoff(%d) = %v, want %v ±10%%", n, d, base)
			}
		}
	}
	if d := (RetryPolicy{Jitter: -1}).Backoff(2); d != 200*time.Millisecond {
		t.Fatalf("default backoff without jitter: %v", d)
	}
}

func TestRetryStopsOnPermanentAndSuccess(t *testing.T) {
	calls := 0
	h := Retry(RetryPolicy{MaxAttempts: 5, Initial: time.Microsecond})(func(ctx context.Context, ev *Event) error {
		calls++
		if calls == 2 {
			return Permanent(errors.New("bad"))
		}
		return errors.New("again")
	})
	ev := &Event{}
	if err := h(context.Background(), ev); !IsPermanent(err) || calls != 2 || ev.Attempt != 2 {
		t.Fatalf("err %v after %d calls (attempt %d)", err, calls, ev.Attempt)
	}
	calls = 0
	h = Retry(RetryPolicy{MaxAttempts: 3, Initial: time.Microsecond})(func(ctx context.Context, ev *Event) error { calls++; return errors.New("x") })
	if err := h(context.Background(), &Event{}); err == nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want 3", err, calls)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls = 0
	h = Retry(RetryPolicy{MaxAttempts: 3, Initial: time.Hour})(func(ctx context.Context, ev *Event) error { calls++; return errors.New("x") })
	if err := h(ctx, &Event{}); !errors.Is(err, context.Canceled) || calls != 1 {
		t.Fatalf("cancelled retry: %v after %d calls", err, calls)
	}
}

func TestRecovererAndTimeout(t *testing.T) {
	h := Recoverer()(func(ctx context.Context, ev *Event) error { panic("boom") })
	err := h(context.Background(), &Event{})
	var pe *PanicError
	if !errors.As(err, &pe) || !IsPermanent(err) || pe.Value != "boom" || len(pe.Stack) == 0 {
		t.Fatalf("recovered: %v", err)
	}
	h = Timeout(10 * time.Millisecond)(func(ctx context.Context, ev *Event) error { <-ctx.Done(); return ctx.Err() })
	if err := h(context.Background(), &Event{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("timeout: %v", err)
	}
}

func TestTypedHandlers(t *testing.T) {
	type order struct{ Total int }
	var got order
	for _, h := range []HandlerFunc{
		handlerOf(func(ctx context.Context, o order) error { got = o; return nil }),
		Typed(func(ctx context.Context, o order) error { got = o; return nil }),
	} {
		got = order{}
		if err := h(context.Background(), &Event{Data: []byte(`{"Total": 7}`)}); err != nil || got.Total != 7 {
			t.Fatalf("typed: %v %+v", err, got)
		}
		if err := h(context.Background(), &Event{Data: []byte(`{`)}); !IsPermanent(err) {
			t.Fatalf("bad JSON: %v", err)
		}
	}
	for _, bad := range []any{func() {}, func(context.Context, int) {}, "x", func(context.Context, *Event, int) error { return nil }} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("handler %T accepted", bad)
				}
			}()
			handlerOf(bad)
		}()
	}
}

func TestDeadLetterRecord(t *testing.T) {
	ev := &Event{Topic: "orders", Partition: 2, Offset: 9, Key: []byte("k"), Data: []byte("v"), Group: "g", Attempt: 3,
		Timestamp: time.UnixMilli(1234), Headers: []kgo.RecordHeader{{Key: HeaderType, Value: []byte("T")}}}
	r := DeadLetterRecord(ev, errors.New("nope"))
	want := map[string]string{HeaderType: "T", HeaderDLQGroup: "g", HeaderDLQTopic: "orders", HeaderDLQPartition: "2",
		HeaderDLQOffset: "9", HeaderDLQTimestamp: "1234", HeaderDLQDeliveryCount: "3", HeaderDLQReason: "delivery_limit", HeaderDLQMessage: "nope"}
	got := map[string]string{}
	for _, h := range r.Headers {
		got[h.Key] = string(h.Value)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if r.Topic != "dlq.orders" || string(r.Key) != "k" || string(r.Value) != "v" {
		t.Fatalf("record %s %s %s", r.Topic, r.Key, r.Value)
	}
	if r := DeadLetterRecord(&Event{Topic: "t"}, Permanent(errors.New("x"))); !strings.Contains(string(r.Headers[6].Value), "rejected") {
		t.Fatalf("permanent reason: %v", r.Headers)
	}
}

func TestMessageRecord(t *testing.T) {
	r, err := Message{Topic: "t", Type: "T", Data: []byte("raw"), Subject: "s"}.Record()
	if err != nil || string(r.Value) != "raw" || r.Key != nil {
		t.Fatalf("%v %+v", err, r)
	}
	want := []string{HeaderID, HeaderType, HeaderSource, HeaderSpecVersion, HeaderTime, HeaderContentType, HeaderSubject}
	for i, h := range r.Headers {
		if h.Key != want[i] {
			t.Fatalf("header %d = %s, want %s", i, h.Key, want[i])
		}
	}
	if string(r.Headers[2].Value) != "/topics/t" {
		t.Fatalf("source %s", r.Headers[2].Value)
	}
	if _, err := (Message{Topic: "t", Type: "T", Data: func() {}}).Record(); err == nil {
		t.Fatal("unmarshallable data accepted")
	}
	ev := newEvent(r, "g", false)
	if ev.Type != "T" || ev.Subject != "s" || ev.SpecVersion != "1.0" || ev.Time.IsZero() || ev.ID == "" {
		t.Fatalf("event %+v", ev)
	}
}
