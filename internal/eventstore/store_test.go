package eventstore_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	srv *kafkatest.Server
	es  *eventstore.Store
}

func newEnv(t testing.TB, opts ...kafkatest.Option) *env {
	t.Helper()
	srv := kafkatest.Start(t, opts...)
	return &env{srv: srv, es: srv.Events}
}

func evs(prefix string, n int) []eventstore.EventData {
	out := make([]eventstore.EventData, n)
	for i := range out {
		out[i] = eventstore.EventData{ID: fmt.Sprintf("%s-%d", prefix, i), Type: "OrderCreated", Data: json.RawMessage(fmt.Sprintf(`{"n":%d}`, i))}
	}
	return out
}

func TestAppendReadConflict(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	res, err := e.es.Append(ctx, "orders", "order-42", eventstore.NoStream, evs("a", 2))
	if err != nil {
		t.Fatal(err)
	}
	if res.FirstVersion != 0 || res.LastVersion != 1 {
		t.Fatalf("result %+v, want versions 0-1", res)
	}
	info, err := e.srv.Broker.Topic("orders")
	if err != nil || !eventstore.IsStreamTopic(info) || info.Overrides[broker.ConfigRetentionMs] != "-1" {
		t.Fatalf("auto-created topic %+v, %v: want eddy.streams=true and infinite retention", info, err)
	}
	_, err = e.es.Append(ctx, "orders", "order-42", eventstore.NoStream, evs("b", 1))
	var wev *eventstore.WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Actual != 1 || wev.Stream != "order-42" || wev.Expected != eventstore.NoStream {
		t.Fatalf("append no_stream to existing stream: %v, want wrong expected version actual 1", err)
	}
	if _, err := e.es.Append(ctx, "orders", "order-42", 0, evs("c", 1)); !errors.As(err, &wev) || wev.Actual != 1 {
		t.Fatalf("append expected 0: %v", err)
	}
	if _, err := e.es.Append(ctx, "orders", "order-43", eventstore.StreamExists, evs("d", 1)); !errors.As(err, &wev) || wev.Actual != -1 {
		t.Fatalf("append exists to a new stream: %v", err)
	}
	res, err = e.es.Append(ctx, "orders", "order-42", 1, evs("e", 3))
	if err != nil || res.FirstVersion != 2 || res.LastVersion != 4 {
		t.Fatalf("append expected 1: %+v, %v", res, err)
	}
	if res, err = e.es.Append(ctx, "orders", "order-42", eventstore.Any, evs("f", 1)); err != nil || res.FirstVersion != 5 {
		t.Fatalf("append any: %+v, %v", res, err)
	}
	page, err := e.es.Read(ctx, "orders", "order-42", eventstore.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantIDs := []string{"a-0", "a-1", "e-0", "e-1", "e-2", "f-0"}
	if len(page.Events) != len(wantIDs) || page.Version != 5 {
		t.Fatalf("read %d events version %d, want %d version 5", len(page.Events), page.Version, len(wantIDs))
	}
	for i, ev := range page.Events {
		if ev.ID != wantIDs[i] || ev.Version != int64(i) || ev.Type != "OrderCreated" || ev.Timestamp == 0 || len(ev.Data) == 0 {
			t.Fatalf("event %d: %+v", i, ev)
		}
	}
	back, err := e.es.Read(ctx, "orders", "order-42", eventstore.ReadOptions{From: -1, Limit: 2, Backward: true})
	if err != nil || len(back.Events) != 2 || back.Events[0].Version != 5 || back.Events[1].Version != 4 || back.Next == nil || *back.Next != 3 {
		t.Fatalf("backward page: %+v, %v", back, err)
	}
	fwd, err := e.es.Read(ctx, "orders", "order-42", eventstore.ReadOptions{From: 2, Limit: 2})
	if err != nil || len(fwd.Events) != 2 || fwd.Events[0].Version != 2 || fwd.Next == nil || *fwd.Next != 4 {
		t.Fatalf("forward page: %+v, %v", fwd, err)
	}
	if _, err := e.es.Read(ctx, "orders", "nope", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Fatalf("read missing stream: %v", err)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	cases := []struct {
		name   string
		stream string
		events []eventstore.EventData
		want   error
	}{
		{"no events", "s", nil, eventstore.ErrInvalidEvent},
		{"missing id", "s", []eventstore.EventData{{Type: "T"}}, eventstore.ErrInvalidEvent},
		{"missing type", "s", []eventstore.EventData{{ID: "1"}}, eventstore.ErrInvalidEvent},
		{"duplicate ids", "s", []eventstore.EventData{{ID: "1", Type: "T"}, {ID: "1", Type: "T"}}, eventstore.ErrInvalidEvent},
		{"bad data", "s", []eventstore.EventData{{ID: "1", Type: "T", Data: json.RawMessage("{")}}, eventstore.ErrInvalidEvent},
		{"metadata not object", "s", []eventstore.EventData{{ID: "1", Type: "T", Metadata: json.RawMessage("[1]")}}, eventstore.ErrInvalidEvent},
		{"empty stream", "", evs("x", 1), eventstore.ErrInvalidStream},
		{"control char", "a\x01b", evs("x", 1), eventstore.ErrInvalidStream},
	}
	for _, c := range cases {
		if _, err := e.es.Append(ctx, "bad", c.stream, eventstore.Any, c.events); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if _, err := e.es.Append(ctx, "bad topic!", "s", eventstore.Any, evs("x", 1)); !errors.Is(err, broker.ErrInvalidTopic) {
		t.Errorf("bad topic: %v", err)
	}
	if _, err := e.srv.Broker.Topic("bad"); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Errorf("rejected appends created topic: %v", err)
	}
	// Over max.message.bytes: nothing written.
	if _, err := e.srv.Broker.CreateTopic("small", 1, map[string]string{"max.message.bytes": "1000", broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	big := evs("big", 2)
	big[1].Data = json.RawMessage(`"` + string(make([]byte, 0)) + fmt.Sprintf("%0900d", 0) + `"`)
	if _, err := e.es.Append(ctx, "small", "s", eventstore.Any, big); !errors.Is(err, broker.ErrMessageTooLarge) {
		t.Errorf("oversized append: %v", err)
	}
	if _, err := e.es.Read(ctx, "small", "s", eventstore.ReadOptions{}); !errors.Is(err, eventstore.ErrStreamNotFound) {
		t.Errorf("oversized append left something: %v", err)
	}
}

func TestAutoCreateOff(t *testing.T) {
	e := newEnv(t, kafkatest.WithBrokerConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	if _, err := e.es.Append(context.Background(), "orders", "o-1", eventstore.Any, evs("x", 1)); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("append to unknown topic with auto-create off: %v", err)
	}
}

// TestRacingWriters: 16 writers append to one stream with the version they
// read as the expected version; every version is won by exactly one append
// and the stream has no gaps and no duplicates.
func TestRacingWriters(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const writers, perWriter = 16, 12
	var mu sync.Mutex
	won := map[int64]string{}
	var wg sync.WaitGroup
	errc := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < perWriter; {
				cur, err := e.es.Head("race", "s")
				if errors.Is(err, broker.ErrUnknownTopic) || errors.Is(err, eventstore.ErrNotStreamTopic) {
					cur = -1
				} else if err != nil {
					errc <- err
					return
				}
				id := fmt.Sprintf("w%d-%d", w, i)
				res, err := e.es.Append(ctx, "race", "s", eventstore.ExpectedVersion(cur), []eventstore.EventData{{ID: id, Type: "T"}})
				var wev *eventstore.WrongExpectedVersionError
				if errors.As(err, &wev) {
					continue
				}
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				if prev, ok := won[res.FirstVersion]; ok {
					mu.Unlock()
					errc <- fmt.Errorf("version %d won by %s and %s", res.FirstVersion, prev, id)
					return
				}
				won[res.FirstVersion] = id
				mu.Unlock()
				i++
			}
		}(w)
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}
	page, err := e.es.Read(ctx, "race", "s", eventstore.ReadOptions{Limit: eventstore.MaxReadLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Events) != writers*perWriter {
		t.Fatalf("stream has %d events, want %d", len(page.Events), writers*perWriter)
	}
	seen := map[string]bool{}
	for i, ev := range page.Events {
		if ev.Version != int64(i) || won[ev.Version] != ev.ID || seen[ev.ID] {
			t.Fatalf("event %d: version %d id %s, winner %s (dup %v)", i, ev.Version, ev.ID, won[ev.Version], seen[ev.ID])
		}
		seen[ev.ID] = true
	}
}

func TestIdempotentRetry(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	first, err := e.es.Append(ctx, "idem", "s", eventstore.NoStream, evs("a", 2))
	if err != nil {
		t.Fatal(err)
	}
	again, err := e.es.Append(ctx, "idem", "s", eventstore.NoStream, evs("a", 2))
	if err != nil || !again.Duplicate || again.FirstVersion != 0 || again.LastVersion != 1 || again.Offset != first.Offset {
		t.Fatalf("retry: %+v, %v; first %+v", again, err, first)
	}
	if _, err := e.es.Append(ctx, "idem", "s", 1, evs("b", 1)); err != nil {
		t.Fatal(err)
	}
	// The retry of the first append still matches after later appends.
	if again, err = e.es.Append(ctx, "idem", "s", eventstore.NoStream, evs("a", 2)); err != nil || !again.Duplicate {
		t.Fatalf("late retry: %+v, %v", again, err)
	}
	// Same ids at another position: a conflict.
	var wev *eventstore.WrongExpectedVersionError
	if _, err := e.es.Append(ctx, "idem", "s", 0, evs("a", 2)); !errors.As(err, &wev) || wev.Actual != 2 {
		t.Fatalf("same ids elsewhere: %v", err)
	}
	// Partly matching ids: a conflict.
	partial := evs("a", 2)
	partial[1].ID = "other"
	if _, err := e.es.Append(ctx, "idem", "s", eventstore.NoStream, partial); !errors.As(err, &wev) {
		t.Fatalf("partial match: %v", err)
	}
	// Any: a retry of the last append is recognised.
	if _, err := e.es.Append(ctx, "idem", "s", eventstore.Any, evs("c", 1)); err != nil {
		t.Fatal(err)
	}
	if again, err = e.es.Append(ctx, "idem", "s", eventstore.Any, evs("c", 1)); err != nil || !again.Duplicate || again.FirstVersion != 3 {
		t.Fatalf("any retry: %+v, %v", again, err)
	}
	page, err := e.es.Read(ctx, "idem", "s", eventstore.ReadOptions{})
	if err != nil || len(page.Events) != 4 {
		t.Fatalf("stream after retries: %d events, %v; want 4", len(page.Events), err)
	}
}

// TestKafkaInterop: a franz-go consumer reads appended events with their
// CloudEvents headers; records produced over Kafka advance stream
// versions; a stale eddy-expected-version header is refused with
// INVALID_RECORD naming stream, expected and actual.
func TestKafkaInterop(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.es.Append(ctx, "shop", "order-1", eventstore.NoStream, evs("a", 2)); err != nil {
		t.Fatal(err)
	}
	cl := e.srv.Client(t, kgo.ConsumeTopics("shop"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.RecordPartitioner(kgo.StickyKeyPartitioner(nil)))
	var got []*kgo.Record
	for len(got) < 2 {
		fs := cl.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got = append(got, fs.Records()...)
	}
	r := got[1]
	hdr := map[string]string{}
	for _, h := range r.Headers {
		hdr[h.Key] = string(h.Value)
	}
	if string(r.Key) != "order-1" || hdr["ce_id"] != "a-1" || hdr["ce_type"] != "OrderCreated" || hdr["ce_specversion"] != "1.0" ||
		hdr["ce_source"] != "/topics/shop/streams/order-1" || hdr["content-type"] != "application/json" || hdr["eddy-stream-version"] != "1" || hdr["ce_time"] == "" {
		t.Fatalf("record key %q headers %v", r.Key, hdr)
	}
	if _, err := time.Parse(time.RFC3339Nano, hdr["ce_time"]); err != nil {
		t.Fatalf("ce_time: %v", err)
	}
	var data map[string]int
	if err := json.Unmarshal(r.Value, &data); err != nil || data["n"] != 1 {
		t.Fatalf("value %s: %v", r.Value, err)
	}

	// A plain record with the key advances the stream.
	plain := &kgo.Record{Topic: "shop", Key: []byte("order-1"), Value: []byte("raw")}
	if err := cl.ProduceSync(ctx, plain).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if v, err := e.es.Head("shop", "order-1"); err != nil || v != 2 {
		t.Fatalf("head after plain produce: %d, %v; want 2", v, err)
	}
	// A stale expected version is refused, and nothing is written.
	stale := &kgo.Record{Topic: "shop", Key: []byte("order-1"), Value: []byte(`{}`),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("1")}}}
	err := cl.ProduceSync(ctx, stale).FirstErr()
	if err == nil || !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("stale produce: %v, want INVALID_RECORD", err)
	}
	if v, _ := e.es.Head("shop", "order-1"); v != 2 {
		t.Fatalf("stale produce wrote: head %d", v)
	}
	// A batch where one record fails is refused whole.
	good := &kgo.Record{Topic: "shop", Key: []byte("order-1"), Value: []byte(`{}`),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("2")}}}
	bad := &kgo.Record{Topic: "shop", Key: []byte("order-1"), Value: []byte(`{}`),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("7")}}}
	if err := cl.ProduceSync(ctx, good, bad).FirstErr(); err == nil {
		t.Fatal("batch with one stale record accepted")
	}
	// (franz-go may split them into two batches; either way the stale one
	// must fail and the stream must hold only what succeeded.)
	head, _ := e.es.Head("shop", "order-1")
	if head != 2 && head != 3 {
		t.Fatalf("head %d after mixed produce", head)
	}
	fresh := &kgo.Record{Topic: "shop", Key: []byte("order-1"), Value: []byte(`{}`),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte(strconv.FormatInt(head, 10))}}}
	if err := cl.ProduceSync(ctx, fresh).FirstErr(); err != nil {
		t.Fatalf("produce with the right expected version: %v", err)
	}
	page, err := e.es.Read(ctx, "shop", "order-1", eventstore.ReadOptions{})
	if err != nil || int64(len(page.Events)) != head+2 || string(page.Events[2].DataBase64) != "raw" {
		t.Fatalf("stream after Kafka produces: %+v, %v", page, err)
	}
	// The header on a plain topic is refused rather than ignored.
	if _, err := e.srv.Broker.CreateTopic("plain", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	onPlain := &kgo.Record{Topic: "plain", Key: []byte("k"), Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("0")}}}
	if err := cl.ProduceSync(ctx, onPlain).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("conditional produce to a plain topic: %v", err)
	}
}

func TestEnableExistingTopic(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl := e.srv.Client(t, kgo.AllowAutoTopicCreation())
	for i := 0; i < 5; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "legacy", Key: []byte("k" + strconv.Itoa(i%2)), Value: []byte(`{}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := e.es.Append(ctx, "legacy", "k0", 2, evs("x", 1))
	if err != nil || res.FirstVersion != 3 {
		t.Fatalf("append after enabling: %+v, %v", res, err)
	}
	page, err := e.es.Read(ctx, "legacy", "k1", eventstore.ReadOptions{})
	if err != nil || len(page.Events) != 2 {
		t.Fatalf("read pre-existing stream: %+v, %v", page, err)
	}
	versions := []int64{}
	for _, ev := range page.Events {
		versions = append(versions, ev.Version)
	}
	if !sort.SliceIsSorted(versions, func(i, j int) bool { return versions[i] < versions[j] }) || versions[0] != 0 {
		t.Fatalf("versions %v", versions)
	}
}

// TestPartitionMatchesKafka: a stream maps to the partition a Kafka
// client's default partitioner picks for the key, so records produced
// over Kafka with the stream id as key join the stream.
func TestPartitionMatchesKafka(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.srv.Broker.CreateTopic("parts", 7, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := e.srv.Client(t)
	for i := 0; i < 40; i++ {
		key := []byte("order-" + strconv.Itoa(i*7919))
		r := &kgo.Record{Topic: "parts", Key: key}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
		if want := eventstore.Partition(key, 7); r.Partition != want {
			t.Fatalf("key %s: franz-go chose partition %d, Partition says %d", key, r.Partition, want)
		}
	}
}

// TestRetentionStreamStart: when retention deleted a stream's oldest
// events, a read returns what is left and says where the stream starts;
// versions keep counting.
func TestRetentionStreamStart(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.srv.Broker.CreateTopic("ret", 1, map[string]string{broker.ConfigStreams: "true",
		broker.ConfigSegmentBytes: "1024", broker.ConfigRetentionBytes: "2048"}, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := e.es.Append(ctx, "ret", "s", eventstore.ExpectedVersion(i-1), evs(fmt.Sprint("e", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if e.srv.Broker.EnforceRetention() == 0 {
		t.Fatal("retention deleted nothing")
	}
	page, err := e.es.Read(ctx, "ret", "s", eventstore.ReadOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if page.StreamStart == 0 || page.Version != 39 || len(page.Events) != int(40-page.StreamStart) || page.Events[0].Version != page.StreamStart {
		t.Fatalf("after retention: start %d version %d, %d events from %d", page.StreamStart, page.Version, len(page.Events), page.Events[0].Version)
	}
	if res, err := e.es.Append(ctx, "ret", "s", 39, evs("late", 1)); err != nil || res.FirstVersion != 40 {
		t.Fatalf("append after retention: %+v, %v", res, err)
	}
}

// TestCompressedKafkaProduce: compressed batches from Kafka producers are
// decompressed to index their keys and check their headers.
func TestCompressedKafkaProduce(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.es.Append(ctx, "zs", "k", eventstore.NoStream, evs("a", 1)); err != nil {
		t.Fatal(err)
	}
	for _, codec := range []kgo.CompressionCodec{kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		cl := e.srv.Client(t, kgo.ProducerBatchCompression(codec), kgo.ProducerLinger(50*time.Millisecond))
		head, _ := e.es.Head("zs", "k")
		val := []byte(strings.Repeat(`{"x":"compressible"}`, 50))
		var recs []*kgo.Record
		for i := 0; i < 5; i++ {
			recs = append(recs, &kgo.Record{Topic: "zs", Key: []byte("k"), Value: val,
				Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte(strconv.FormatInt(head+int64(i), 10))}}})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("%v: %v", codec, err)
		}
		if v, _ := e.es.Head("zs", "k"); v != head+5 {
			t.Fatalf("%v: head %d, want %d", codec, v, head+5)
		}
		stale := &kgo.Record{Topic: "zs", Key: []byte("k"), Value: val, Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("0")}}}
		if err := cl.ProduceSync(ctx, stale).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
			t.Fatalf("%v: stale compressed produce: %v", codec, err)
		}
	}
	page, err := e.es.Read(ctx, "zs", "k", eventstore.ReadOptions{Limit: 1000})
	if err != nil || len(page.Events) != 21 {
		t.Fatalf("read: %d events, %v", len(page.Events), err)
	}
}

// TestTopicRecreated: a deleted and recreated topic starts its streams
// afresh, also across a restart.
func TestTopicRecreated(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.es.Append(ctx, "re", "s", eventstore.NoStream, evs("a", 3)); err != nil {
		t.Fatal(err)
	}
	if err := e.srv.Broker.DeleteTopic("re"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.es.Read(ctx, "re", "s", eventstore.ReadOptions{}); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("read of a deleted topic: %v", err)
	}
	res, err := e.es.Append(ctx, "re", "s", eventstore.NoStream, evs("b", 1))
	if err != nil || res.FirstVersion != 0 || res.Offset != 0 {
		t.Fatalf("append to the recreated topic: %+v, %v", res, err)
	}
	page, err := e.es.Read(ctx, "re", "s", eventstore.ReadOptions{})
	if err != nil || len(page.Events) != 1 || page.Events[0].ID != "b-0" {
		t.Fatalf("read of the recreated topic: %+v, %v", page, err)
	}
}

// rawBatch encodes one uncompressed RecordBatch v2 of keyed records with
// one header each (what a Kafka producer sends).
func rawBatch(key, hkey, hval string, n int) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		body := []byte{0}
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, int64(len(key)))
		body = append(body, key...)
		body = binary.AppendVarint(body, 2)
		body = append(body, "{}"...)
		body = binary.AppendVarint(body, 1)
		body = binary.AppendVarint(body, int64(len(hkey)))
		body = append(body, hkey...)
		body = binary.AppendVarint(body, int64(len(hval)))
		body = append(body, hval...)
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, 61, 61+len(recs))
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(61-12+len(recs)))
	b[16] = 2
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[43:], ^uint64(0))
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(n))
	b = append(b, recs...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestKafkaErrorMessage: a refused conditional produce carries
// INVALID_RECORD and a message naming stream, expected and actual.
func TestKafkaErrorMessage(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := e.es.Append(ctx, "msg", "order-1", eventstore.NoStream, evs("a", 2)); err != nil {
		t.Fatal(err)
	}
	cl := e.srv.Client(t)
	produce := func(batch []byte) kmsg.ProduceResponseTopicPartition {
		req := kmsg.NewPtrProduceRequest()
		req.Version = 9
		req.Acks = -1
		req.TimeoutMillis = 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = "msg"
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = batch
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, cl)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Topics[0].Partitions[0]
	}
	p := produce(rawBatch("order-1", "eddy-expected-version", "0", 2))
	if p.ErrorCode != kerr.InvalidRecord.Code || p.ErrorMessage == nil ||
		!strings.Contains(*p.ErrorMessage, `stream "order-1": expected 0, actual 1`) {
		t.Fatalf("stale produce: code %d message %v", p.ErrorCode, p.ErrorMessage)
	}
	p = produce(rawBatch("order-1", "eddy-expected-version", "1", 1))
	if p.ErrorCode != 0 || p.BaseOffset != 2 {
		t.Fatalf("produce with the right version: code %d offset %d", p.ErrorCode, p.BaseOffset)
	}
	// A multi-record batch: each record sees the versions the earlier ones
	// take, so "2" then "2" fails on the second and nothing is written.
	p = produce(rawBatch("order-1", "eddy-expected-version", "2", 2))
	if p.ErrorCode != kerr.InvalidRecord.Code || !strings.Contains(*p.ErrorMessage, "expected 2, actual 3") {
		t.Fatalf("batch with a stale second record: code %d message %v", p.ErrorCode, p.ErrorMessage)
	}
	if v, _ := e.es.Head("msg", "order-1"); v != 2 {
		t.Fatalf("head %d after refused batch, want 2", v)
	}
}
