package httpapi_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/node"
)

type streamsEnv struct {
	base string
	b    *broker.Broker
	es   *eventstore.Store
}

// startStreams runs a node with only its HTTP listener, the event-store
// routes tuned by o.
func startStreams(t *testing.T, o httpapi.StreamsOptions) *streamsEnv {
	t.Helper()
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka = nil
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Streams = o
	cfg.EventStore.FlushInterval = 5 * time.Millisecond
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	return &streamsEnv{base: "http://" + n.HTTP.Addr().String(), b: n.Broker, es: n.Events}
}

func (e *streamsEnv) do(t *testing.T, method, path, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s %s: %d non-JSON body %q", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func events(ids ...string) string {
	var parts []string
	for _, id := range ids {
		parts = append(parts, fmt.Sprintf(`{"id":%q,"type":"OrderPlaced","data":{"id":%q},"metadata":{"by":"test"}}`, id, id))
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func TestStreamAppendReadHTTP(t *testing.T) {
	e := startStreams(t, httpapi.StreamsOptions{})
	code, body := e.do(t, "POST", "/v1/topics/orders/streams/order-1", `{"expectedVersion":"no_stream","events":`+events("a", "b")+`}`)
	if code != 200 || body["firstVersion"] != 0.0 || body["lastVersion"] != 1.0 || body["offset"] != 0.0 {
		t.Fatalf("append: %d %v", code, body)
	}
	code, body = e.do(t, "POST", "/v1/topics/orders/streams/order-1", `{"expectedVersion":0,"events":`+events("c")+`}`)
	// The 409 has the common error shape, with the conflict's details
	// inside "error".
	conflict, _ := body["error"].(map[string]any)
	if code != 409 || conflict["code"] != "wrong_expected_version" || conflict["stream"] != "order-1" || conflict["expected"] != 0.0 || conflict["actual"] != 1.0 ||
		!strings.Contains(fmt.Sprint(conflict["message"]), "expected 0, actual 1") {
		t.Fatalf("conflict: %d %v", code, body)
	}
	code, body = e.do(t, "POST", "/v1/topics/orders/streams/order-1", `{"expectedVersion":"no_stream","events":`+events("a", "b")+`}`)
	if code != 200 || body["duplicate"] != true || body["firstVersion"] != 0.0 {
		t.Fatalf("idempotent retry: %d %v", code, body)
	}
	code, body = e.do(t, "POST", "/v1/topics/orders/streams/order-1", `{"expectedVersion":"1","events":`+events("c")+`}`)
	if code != 200 || body["firstVersion"] != 2.0 {
		t.Fatalf("append expected \"1\": %d %v", code, body)
	}
	code, body = e.do(t, "GET", "/v1/topics/orders/streams/order-1?limit=2", "")
	evs, _ := body["events"].([]any)
	if code != 200 || len(evs) != 2 || body["version"] != 2.0 || body["next"] != 2.0 {
		t.Fatalf("read: %d %v", code, body)
	}
	ev := evs[1].(map[string]any)
	if ev["id"] != "b" || ev["type"] != "OrderPlaced" || ev["version"] != 1.0 || ev["offset"] != 1.0 || ev["timestamp"] == nil ||
		ev["data"].(map[string]any)["id"] != "b" || ev["metadata"].(map[string]any)["by"] != "test" {
		t.Fatalf("event: %v", ev)
	}
	code, body = e.do(t, "GET", "/v1/topics/orders/streams/order-1?direction=backward&limit=1", "")
	if evs, _ := body["events"].([]any); code != 200 || len(evs) != 1 || evs[0].(map[string]any)["id"] != "c" {
		t.Fatalf("backward: %d %v", code, body)
	}

	bad := []struct {
		method, path, body string
		code               int
		errCode            string
	}{
		{"POST", "/v1/topics/orders/streams/s", `{"events":`, 400, "bad_request"},
		{"POST", "/v1/topics/orders/streams/s", `{"expectedVersion":"any","events":[{"type":"T"}]}`, 400, "invalid_event"},
		{"POST", "/v1/topics/orders/streams/s", `{"expectedVersion":"any","events":[{"id":"1"}]}`, 400, "invalid_event"},
		{"POST", "/v1/topics/orders/streams/s", `{"expectedVersion":"any","events":[]}`, 400, "invalid_event"},
		{"POST", "/v1/topics/orders/streams/s", `{"expectedVersion":"soon","events":` + events("x") + `}`, 400, "invalid_expected_version"},
		{"POST", "/v1/topics/orders/streams/s", `{"expectedVersion":-7,"events":` + events("x") + `}`, 400, "invalid_expected_version"},
		{"POST", "/v1/topics/orders/streams/s", `{"expected_version":1,"events":` + events("x") + `}`, 400, "bad_request"},
		{"POST", "/v1/topics/orders/streams/s%01", `{"events":` + events("x") + `}`, 400, "invalid_stream"},
		{"POST", "/v1/topics/bad$topic/streams/s", `{"events":` + events("x") + `}`, 400, "invalid_topic"},
		{"GET", "/v1/topics/orders/streams/nope", "", 404, "stream_not_found"},
		{"GET", "/v1/topics/missing/streams/s", "", 404, "topic_not_found"},
		{"GET", "/v1/topics/orders/streams/order-1?from=x", "", 400, "bad_request"},
		{"GET", "/v1/topics/orders/streams/order-1?limit=0", "", 400, "bad_request"},
		{"GET", "/v1/topics/orders/streams/order-1?direction=up", "", 400, "bad_request"},
	}
	for _, c := range bad {
		code, body := e.do(t, c.method, c.path, c.body)
		errObj, _ := body["error"].(map[string]any)
		if code != c.code || errObj["code"] != c.errCode || errObj["message"] == "" {
			t.Errorf("%s %s %s: %d %v, want %d %s", c.method, c.path, c.body, code, body, c.code, c.errCode)
		}
	}
	if _, err := e.b.Topic("bad$topic"); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Errorf("bad request created a topic: %v", err)
	}
	// Over max.message.bytes: 413, nothing written.
	if _, err := e.b.CreateTopic("small", 1, map[string]string{"max.message.bytes": "600"}, false); err != nil {
		t.Fatal(err)
	}
	big := fmt.Sprintf(`{"events":[{"id":"1","type":"T","data":%q}]}`, strings.Repeat("x", 700))
	if code, body := e.do(t, "POST", "/v1/topics/small/streams/s", big); code != 413 {
		t.Fatalf("oversized event: %d %v", code, body)
	}
	if code, _ := e.do(t, "GET", "/v1/topics/small/streams/s", ""); code != 404 {
		t.Fatalf("oversized append left a stream: %d", code)
	}
}

type sseEvent struct{ id, event, data string }

type sseReader struct {
	resp *http.Response
	sc   *bufio.Scanner
	ch   chan sseEvent
}

func openSSE(t *testing.T, ctx context.Context, url, lastID string) *sseReader {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("subscribe: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	r := &sseReader{resp: resp, sc: bufio.NewScanner(resp.Body), ch: make(chan sseEvent, 100)}
	go func() {
		defer close(r.ch)
		var cur sseEvent
		for r.sc.Scan() {
			line := r.sc.Text()
			switch {
			case line == "":
				// The blank line after a comment ends no event.
				if cur != (sseEvent{}) {
					r.ch <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				r.ch <- sseEvent{event: "comment", data: line}
			case strings.HasPrefix(line, "id: "):
				cur.id = line[4:]
			case strings.HasPrefix(line, "event: "):
				cur.event = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return r
}

// next returns the next non-comment event.
func (r *sseReader) next(t *testing.T) sseEvent {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-r.ch:
			if !ok {
				t.Fatal("subscription ended")
			}
			if ev.event != "comment" {
				return ev
			}
		case <-timeout:
			t.Fatal("no event within 10 s")
		}
	}
}

func TestStreamSubscribeResume(t *testing.T) {
	e := startStreams(t, httpapi.StreamsOptions{Heartbeat: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	post := func(ids ...string) {
		t.Helper()
		if code, body := e.do(t, "POST", "/v1/topics/shop/streams/cart-1", `{"events":`+events(ids...)+`}`); code != 200 {
			t.Fatalf("append: %d %v", code, body)
		}
	}
	post("e0", "e1", "e2")
	url := e.base + "/v1/topics/shop/streams/cart-1/subscribe"
	sub1ctx, sub1cancel := context.WithCancel(ctx)
	r := openSSE(t, sub1ctx, url, "")
	var got []string
	last := ""
	for i := 0; i < 3; i++ {
		ev := r.next(t)
		var body eventstore.Event
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			t.Fatal(err)
		}
		if ev.id != fmt.Sprint(i) || body.Version != int64(i) {
			t.Fatalf("event %d: id %q version %d", i, ev.id, body.Version)
		}
		got = append(got, body.ID)
		last = ev.id
	}
	post("e3") // live
	ev := r.next(t)
	if ev.id != "3" {
		t.Fatalf("live event id %q", ev.id)
	}
	last = ev.id
	got = append(got, "e3")
	// Heartbeats on idle.
	deadline := time.After(5 * time.Second)
	for sawHB := false; !sawHB; {
		select {
		case ev := <-r.ch:
			sawHB = ev.event == "comment" && strings.Contains(ev.data, "heartbeat")
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
	sub1cancel()
	post("e4", "e5")
	r2 := openSSE(t, ctx, url, last)
	for i := 4; i <= 6; i++ {
		if i == 6 {
			post("e6")
		}
		ev := r2.next(t)
		var body eventstore.Event
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			t.Fatal(err)
		}
		if ev.id != fmt.Sprint(i) || body.ID != fmt.Sprintf("e%d", i) {
			t.Fatalf("resumed event: id %q body %+v, want %d", ev.id, body, i)
		}
	}

	// Whole-topic subscription resumes from its cursor id.
	post2 := func(stream, id string) {
		if code, body := e.do(t, "POST", "/v1/topics/shop/streams/"+stream, `{"events":`+events(id)+`}`); code != 200 {
			t.Fatalf("append: %d %v", code, body)
		}
	}
	post2("other", "o0")
	tctx, tcancel := context.WithCancel(ctx)
	rt := openSSE(t, tctx, e.base+"/v1/topics/shop/subscribe?from=5", "")
	var ids []string
	var cursor string
	for len(ids) < 3 {
		ev := rt.next(t)
		var body eventstore.Event
		if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, body.ID)
		cursor = ev.id
	}
	if strings.Join(ids, ",") != "e5,e6,o0" || cursor != "0:8" {
		t.Fatalf("topic subscription: %v cursor %q", ids, cursor)
	}
	tcancel()
	post2("other", "o1")
	rt2 := openSSE(t, ctx, e.base+"/v1/topics/shop/subscribe", cursor)
	ev = rt2.next(t)
	if !strings.Contains(ev.data, `"id":"o1"`) || ev.id != "0:9" {
		t.Fatalf("topic resume: %+v", ev)
	}
	if code, _ := e.do(t, "GET", "/v1/topics/shop/subscribe?from=-1", ""); code != 400 {
		t.Fatalf("bad from: %d", code)
	}
}

// TestSlowSubscriberDropped: a subscriber that stops reading is cut off
// with ErrSlowSubscriber once its buffer stays full, not buffered without
// bound.
func TestSlowSubscriberDropped(t *testing.T) {
	e := startStreams(t, httpapi.StreamsOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var evs []eventstore.EventData
	for i := 0; i < 20; i++ {
		evs = append(evs, eventstore.EventData{ID: fmt.Sprint(i), Type: "T"})
	}
	if _, err := e.es.Append(ctx, "slow", "s", eventstore.Any, evs); err != nil {
		t.Fatal(err)
	}
	sub, err := e.es.SubscribeStream(ctx, "slow", "s", 0, eventstore.SubscribeOptions{Buffer: 4, SlowTimeout: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := sub.Err(); !errors.Is(err, eventstore.ErrSlowSubscriber) {
		t.Fatalf("subscription ended with %v, want slow subscriber", err)
	}
	n := 0
	for range sub.C {
		n++
	}
	if n != 4 {
		t.Fatalf("%d events buffered, want the buffer's 4", n)
	}
}
