package eventstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// syncBuf is a log sink tests read while the server writes.
type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// rawProduce sends one batch to topic/partition at a Produce version (the
// client's highest is pinned to it: kgo otherwise sends its own).
func rawProduce(t *testing.T, srv *kafkatest.Server, version int16, topic string, part int32, batch []byte) kmsg.ProduceResponseTopicPartition {
	t.Helper()
	vs := kversion.Stable()
	vs.SetMaxKeyVersion(int16(kmsg.Produce), version)
	cl := srv.Client(t, kgo.MaxVersions(vs))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := kmsg.NewPtrProduceRequest()
	req.Version = version
	req.Acks = -1
	req.TimeoutMillis = 5000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = part
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Version != version {
		t.Fatalf("produce went out at v%d, want v%d", resp.Version, version)
	}
	cl.Close()
	return resp.Topics[0].Partitions[0]
}

// TestKafkaInvalidRecordEveryVersion: a stale expected version is refused
// with INVALID_RECORD (87) at Produce v3 and v7 as at v9, as Apache Kafka
// answers every version; v8+ carries the reason in ErrorMessage and
// names the record in ErrorRecords; before v8 the broker logs stream,
// expected and actual instead.
func TestKafkaInvalidRecordEveryVersion(t *testing.T) {
	var logs syncBuf
	e := newEnv(t, kafkatest.WithNodeConfig(func(c *node.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}))
	ctx := context.Background()
	if _, err := e.es.Append(ctx, "ver", "order-1", eventstore.NoStream, evs("a", 2)); err != nil {
		t.Fatal(err)
	}
	for _, v := range []int16{3, 7, 8, 9, 11} {
		// Two records: the first expects 1 (right), the second 1 again
		// (stale once the first takes version 2).
		p := rawProduce(t, e.srv, v, "ver", 0, rawBatch("order-1", "eddy-expected-version", "1", 2))
		if p.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("v%d: code %d, want INVALID_RECORD (87)", v, p.ErrorCode)
		}
		if v < 8 {
			continue
		}
		if p.ErrorMessage == nil || !strings.Contains(*p.ErrorMessage, `stream "order-1": expected 1, actual 2`) {
			t.Fatalf("v%d: message %v", v, p.ErrorMessage)
		}
		if len(p.ErrorRecords) != 1 || p.ErrorRecords[0].RelativeOffset != 1 || p.ErrorRecords[0].ErrorMessage == nil ||
			*p.ErrorRecords[0].ErrorMessage != *p.ErrorMessage {
			t.Fatalf("v%d: record errors %+v, want record 1 with the message", v, p.ErrorRecords)
		}
	}
	out := logs.String()
	for _, want := range []string{"produce refused", "stream=order-1", "expected=1", "actual=2", "produce_version=3", "produce_version=7", "record=1"} {
		if !strings.Contains(out, want) {
			t.Fatalf("broker log lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "produce_version=9") {
		t.Fatalf("a v9 refusal was logged (the client has the message):\n%s", out)
	}
	if v, _ := e.es.Head("ver", "order-1"); v != 1 {
		t.Fatalf("head %d after refused batches, want 1", v)
	}
}

// TestKafkaRejectLogRateLimited: a flood of refusals logs at most a burst
// a second, and the next line counts the ones left out.
func TestKafkaRejectLogRateLimited(t *testing.T) {
	var logs syncBuf
	e := newEnv(t, kafkatest.WithNodeConfig(func(c *node.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	}))
	if _, err := e.es.Append(context.Background(), "flood", "s", eventstore.NoStream, evs("a", 1)); err != nil {
		t.Fatal(err)
	}
	for range 30 {
		if p := rawProduce(t, e.srv, 7, "flood", 0, rawBatch("s", "eddy-expected-version", "5", 1)); p.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("code %d", p.ErrorCode)
		}
	}
	if n := strings.Count(logs.String(), "produce refused"); n < 1 || n > 20 {
		t.Fatalf("%d log lines for 30 refusals within ~1 s, want at most two bursts of 10", n)
	}
	time.Sleep(1100 * time.Millisecond)
	rawProduce(t, e.srv, 7, "flood", 0, rawBatch("s", "eddy-expected-version", "5", 1))
	if !strings.Contains(logs.String(), "not_logged_before=") {
		t.Fatalf("no count of unlogged refusals:\n%s", logs.String())
	}
}

// TestKafkaWrongPartition: on a 3-partition event-store topic a keyed
// record produced to a partition other than its stream's (murmur2) is
// refused with INVALID_RECORD naming the stream's partition and the
// librdkafka setting; nothing is written, and the stream's versions go on
// from where they were.
func TestKafkaWrongPartition(t *testing.T) {
	e := newEnv(t)
	if _, err := e.srv.Broker.CreateTopic("parts", 3, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	res, err := e.es.Append(ctx, "parts", "order-7", eventstore.NoStream, evs("a", 3))
	if err != nil {
		t.Fatal(err)
	}
	home := eventstore.Partition([]byte("order-7"), 3)
	if res.Partition != home {
		t.Fatalf("append went to partition %d, murmur2 says %d", res.Partition, home)
	}
	for other := int32(0); other < 3; other++ {
		if other == home {
			continue
		}
		for _, v := range []int16{7, 9} {
			p := rawProduce(t, e.srv, v, "parts", other, rawBatch("order-7", "eddy-expected-version", "0", 1))
			if p.ErrorCode != kerr.InvalidRecord.Code {
				t.Fatalf("partition %d v%d: code %d, want INVALID_RECORD", other, v, p.ErrorCode)
			}
			if v >= 8 {
				want := "lives in partition " + string('0'+byte(home)) + " of 3"
				if p.ErrorMessage == nil || !strings.Contains(*p.ErrorMessage, want) || !strings.Contains(*p.ErrorMessage, "partitioner=murmur2_random") {
					t.Fatalf("partition %d: message %v, want %q and the setting", other, p.ErrorMessage, want)
				}
			}
		}
		// Without an expected version too: the record would start a
		// second, phantom stream.
		if p := rawProduce(t, e.srv, 9, "parts", other, rawBatch("order-7", "x", "y", 1)); p.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("plain keyed record on partition %d: code %d", other, p.ErrorCode)
		}
		if _, _, end, _ := e.srv.Broker.Offsets("parts", other); end != 0 {
			t.Fatalf("partition %d holds %d records", other, end)
		}
	}
	// The stream's own partition takes it, at the right version.
	if p := rawProduce(t, e.srv, 9, "parts", home, rawBatch("order-7", "eddy-expected-version", "2", 1)); p.ErrorCode != 0 {
		t.Fatalf("home partition: code %d %v", p.ErrorCode, p.ErrorMessage)
	}
	if v, _ := e.es.Head("parts", "order-7"); v != 3 {
		t.Fatalf("head %d, want 3", v)
	}
	// franz-go's default partitioner is murmur2: keyed records land home.
	kc := e.srv.Client(t)
	r := &kgo.Record{Topic: "parts", Key: []byte("order-7"), Value: []byte("{}"),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("3")}}}
	if err := kc.ProduceSync(ctx, r).FirstErr(); err != nil || r.Partition != home {
		t.Fatalf("franz-go produce: partition %d, %v", r.Partition, err)
	}
	// A stale one through franz-go: INVALID_RECORD, not retried.
	r = &kgo.Record{Topic: "parts", Key: []byte("order-7"), Value: []byte("{}"),
		Headers: []kgo.RecordHeader{{Key: "eddy-expected-version", Value: []byte("0")}}}
	if err := kc.ProduceSync(ctx, r).FirstErr(); !errors.Is(err, kerr.InvalidRecord) {
		t.Fatalf("stale franz-go produce: %v, want INVALID_RECORD", err)
	}
}

// TestDeleteRecordsOnStreamTopic: DeleteRecords is refused on an
// event-store topic until its config allows it; then the stream keeps its
// versions and reads start at the first event left.
func TestDeleteRecordsOnStreamTopic(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for i := range 5 {
		if _, err := e.es.Append(ctx, "hist", "order-1", eventstore.Any, evs(fmt.Sprint("e", i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.srv.Broker.DeleteRecords("hist", 0, 2); !errors.Is(err, broker.ErrDeleteRecordsRefused) ||
		!strings.Contains(err.Error(), broker.ConfigStreamsAllowDeleteRecords+"=true") {
		t.Fatalf("delete on an event-store topic: %v", err)
	}
	if err := e.srv.Broker.AlterTopicConfigs("hist", []broker.ConfigOp{{Name: broker.ConfigStreamsAllowDeleteRecords, Op: broker.OpSet, Value: "true"}}, false); err != nil {
		t.Fatal(err)
	}
	if start, err := e.srv.Broker.DeleteRecords("hist", 0, 2); err != nil || start != 2 {
		t.Fatalf("delete allowed: %d, %v", start, err)
	}
	page, err := e.es.Read(ctx, "hist", "order-1", eventstore.ReadOptions{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if page.StreamStart != 2 || len(page.Events) != 3 || page.Events[0].Version != 2 || page.Version != 4 {
		t.Fatalf("read after delete: start %d, %d events, first %+v, version %d", page.StreamStart, len(page.Events), page.Events[0], page.Version)
	}
	// Appends go on at the next version.
	if res, err := e.es.Append(ctx, "hist", "order-1", 4, evs("f", 1)); err != nil || res.FirstVersion != 5 {
		t.Fatalf("append after delete: %+v, %v", res, err)
	}
}
