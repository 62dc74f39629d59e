package node

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/httpapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testConfig is a node on dir with both listeners on free loopback ports.
func testConfig(dir string) Config {
	cfg := DefaultConfig(dir)
	cfg.Kafka.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.EventStore.FlushInterval = 5 * time.Millisecond
	return cfg
}

func openT(t *testing.T, cfg Config) *Node {
	t.Helper()
	n, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Close(context.Background()) })
	return n
}

// TestOpenCloseOrder: Open brings every part up in the documented order
// and serves both protocols; Close drains the listeners first and then
// closes the parts in reverse, the event store before the broker it
// reads, and releases the lock last.
func TestOpenCloseOrder(t *testing.T) {
	dir := t.TempDir()
	n := openT(t, testConfig(dir))
	if n.Meta == nil || n.Producers == nil || n.Events == nil || n.Broker == nil || n.Groups == nil || n.Share == nil || n.Kafka == nil || n.HTTP == nil || n.Registry == nil {
		t.Fatalf("a part is not opened: %+v", []bool{n.Meta == nil, n.Producers == nil, n.Events == nil, n.Broker == nil,
			n.Groups == nil, n.Share == nil, n.Kafka == nil, n.HTTP == nil, n.Registry == nil})
	}
	var names []string
	for _, c := range n.closers {
		names = append(names, c.name)
	}
	want := []string{"data dir lock", "meta store", "producer manager", "event store", "broker", "log metrics", "event store", "group coordinator", "share state log", "share group coordinator"}
	if !slices.Equal(names, want) {
		t.Fatalf("closes registered in order %q, want %q", names, want)
	}
	if l := []string{n.listeners[0].name, n.listeners[1].name}; !slices.Equal(l, []string{"http", "kafka"}) {
		t.Fatalf("listeners %q", l)
	}

	// Both protocols reach the same store: an HTTP append is read back as a
	// Kafka record.
	if _, err := n.Broker.CreateTopic("orders", 1, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	base := "http://" + n.HTTP.Addr().String()
	resp, err := http.Post(base+"/v1/topics/orders/streams/order-1", "application/json",
		strings.NewReader(`{"expectedVersion":"no_stream","events":[{"id":"e1","type":"OrderCreated","data":{}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("append: %d %s", resp.StatusCode, body)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()), kgo.ConsumeTopics("orders"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	fs := cl.PollFetches(ctx)
	cl.Close()
	if recs := fs.Records(); len(recs) != 1 || string(recs[0].Key) != "order-1" {
		t.Fatalf("consumed %d records (%v)", len(recs), fs.Errors())
	}
	if code := get(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d", code)
	}
	// /v1/status reads the node's parts.
	var st httpapi.Status
	if resp, err := http.Get(base + "/v1/status"); err != nil {
		t.Fatal(err)
	} else {
		err = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	if st.Listeners["kafka"] != n.Kafka.Addr().String() || st.TopicCount != 1 || st.Topics[0].Records != 1 || st.Groups == nil {
		t.Fatalf("status %+v", st)
	}

	// Close drains both listeners (in parallel), then runs the registered
	// closes in reverse.
	var mu sync.Mutex
	var ran []string
	record := func(name string, inner func(context.Context) error) func(context.Context) error {
		return func(ctx context.Context) error {
			mu.Lock()
			ran = append(ran, name)
			mu.Unlock()
			return inner(ctx)
		}
	}
	for i := range n.listeners {
		n.listeners[i].close = record("drain", n.listeners[i].close)
	}
	for i := range n.closers {
		n.closers[i].close = record(n.closers[i].name, n.closers[i].close)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	wantRan := []string{"drain", "drain", "share group coordinator", "share state log", "group coordinator", "event store", "log metrics", "broker", "event store", "producer manager", "meta store", "data dir lock"}
	if !slices.Equal(ran, wantRan) {
		t.Fatalf("close ran %q, want %q", ran, wantRan)
	}
	if err := n.Close(context.Background()); err != nil {
		t.Fatalf("second close: %v", err)
	}
	checkUnlocked(t, dir)
}

func get(t *testing.T, url string) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// checkUnlocked fails unless dir's lock can be taken (and releases it).
func checkUnlocked(t *testing.T, dir string) {
	t.Helper()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("data dir still locked: %v", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
}

// TestOpenFailureReleasesEverything: a step failing halfway (a listener
// whose port is taken, after storage is open; the HTTP listener, before
// it) closes what Open opened: the lock is free, no goroutine is left
// (goleak in TestMain), and the same directory opens afterwards.
func TestOpenFailureReleasesEverything(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, c := range []struct {
		name string
		edit func(*Config)
	}{
		{"kafka", func(c *Config) { c.Kafka.Addr = taken.Addr().String() }},
		{"http", func(c *Config) { c.HTTP.Addr = taken.Addr().String() }},
		{"meta", func(c *Config) {
			// meta.db is a directory: bbolt cannot open it.
			if err := os.MkdirAll(filepath.Join(c.DataDir, "meta.db"), 0o755); err != nil {
				t.Fatal(err)
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(dir)
			c.edit(&cfg)
			if n, err := Open(cfg); err == nil {
				n.Close(context.Background())
				t.Fatal("Open succeeded")
			}
			checkUnlocked(t, dir)
			if c.name == "meta" {
				return
			}
			n := openT(t, testConfig(dir))
			if err := n.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestDataDirLocked: a second node on a directory in use is refused,
// naming the lock, and leaves the first running.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	n := openT(t, testConfig(dir))
	if _, err := Open(testConfig(dir)); !errors.Is(err, ErrDataDirLocked) || !strings.Contains(err.Error(), "LOCK") {
		t.Fatalf("second node: %v, want ErrDataDirLocked", err)
	}
	if code := get(t, "http://"+n.HTTP.Addr().String()+"/readyz"); code != 200 {
		t.Fatalf("first node /readyz %d after the refused second", code)
	}
}

// TestRestartSameDir: what one node wrote, the next node on the same
// directory has: records, stream versions, idempotent producer ids.
func TestRestartSameDir(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.Kafka, cfg.HTTP = nil, nil
	n, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := n.Broker.CreateTopic("orders", 2, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	ev := []eventstore.EventData{{ID: "a", Type: "T"}, {ID: "b", Type: "T"}}
	if _, err := n.Events.Append(ctx, "orders", "order-7", eventstore.NoStream, ev); err != nil {
		t.Fatal(err)
	}
	pid, _, err := n.Producers.InitProducerID("")
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Close(ctx); err != nil {
		t.Fatal(err)
	}

	n2, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n2.Close(ctx)
	if v, err := n2.Events.Head("orders", "order-7"); err != nil || v != 1 {
		t.Fatalf("stream head after restart: %d, %v", v, err)
	}
	// The hook chain is in place after a restart: a conflicting append is
	// refused.
	var wev *eventstore.WrongExpectedVersionError
	if _, err := n2.Events.Append(ctx, "orders", "order-7", eventstore.NoStream, []eventstore.EventData{{ID: "c", Type: "T"}}); !errors.As(err, &wev) || wev.Actual != 1 {
		t.Fatalf("conflicting append after restart: %v", err)
	}
	if id, _, err := n2.Producers.InitProducerID(""); err != nil || id <= pid {
		t.Fatalf("producer id %d after restart (had %d): %v", id, pid, err)
	}
	if topics := n2.Broker.Topics(); len(topics) != 1 || topics[0].Name != "orders" {
		t.Fatalf("topics after restart: %+v", topics)
	}
}
