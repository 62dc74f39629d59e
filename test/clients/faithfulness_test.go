package clients

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// streamTopic creates a 3-partition event-store topic and appends n events
// to stream over HTTP (through `eddy stream append`), as issue 15's repro.
func streamTopic(t *testing.T, s *eddytest.Process, topic, stream string, n int) {
	t.Helper()
	eddy(t, s, "", "topic", "create", topic, "--partitions", "3", "--config", "eddy.streams=true")
	for i := range n {
		mustCmd(t, s, 30*time.Second, "", eddytest.Binary(), "stream", "append", topic, stream, "--type", "OrderPlaced",
			"--data", "{}", "--expected-version", expectedFor(i), "--server", s.HTTPAddr())
	}
}

func expectedFor(i int) string {
	if i == 0 {
		return "no_stream"
	}
	return strconv.Itoa(i - 1)
}

// streamVersions reads a stream over HTTP and returns its events' versions
// and partitions.
func streamVersions(t *testing.T, s *eddytest.Process, topic, stream string) (versions []int64, partitions map[int32]bool) {
	t.Helper()
	r := mustCmd(t, s, 30*time.Second, "", eddytest.Binary(), "stream", "read", topic, stream, "--server", s.HTTPAddr())
	partitions = map[int32]bool{}
	for _, l := range lines(r.stdout) {
		var ev struct {
			Version   int64 `json:"version"`
			Partition int32 `json:"partition"`
		}
		if err := json.Unmarshal([]byte(l), &ev); err != nil {
			t.Fatalf("stream read line %q: %v", l, err)
		}
		versions = append(versions, ev.Version)
		partitions[ev.Partition] = true
	}
	return versions, partitions
}

// TestStreamsUnderLibrdkafkaPartitioner is issue 15's repro: librdkafka's
// default partitioner (consistent_random, CRC32) sends order-7 to another
// partition than murmur2's. That record is refused with INVALID_RECORD
// (nothing written, no phantom stream), the broker logs why, and with
// partitioner=murmur2_random the same clients append to the stream.
func TestStreamsUnderLibrdkafkaPartitioner(t *testing.T) {
	t.Parallel()
	needKcat(t)
	needPython(t, "confluent_kafka")
	s := eddytest.Start(t)
	streamTopic(t, s, "orders", "order-7", 3)

	// kcat with its defaults and a stale version: refused.
	r := runCmd(t, 60*time.Second, "{}\n", "kcat", "-b", s.KafkaAddr(), "-P", "-t", "orders", "-k", "order-7",
		"-H", "eddy-expected-version=0")
	if r.code == 0 || !strings.Contains(r.stderr, "Broker failed to validate record") {
		t.Fatalf("kcat default partitioner: exit %d, stderr %q; want a refusal", r.code, r.stderr)
	}
	l, err := s.WaitLog("produce refused (Produce before v8 cannot carry the reason to the client)", 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if reason, _ := l["reason"].(string); !strings.Contains(reason, `stream "order-7"`) || !strings.Contains(reason, "lives in partition 1 of 3") ||
		!strings.Contains(reason, "partitioner=murmur2_random") {
		t.Fatalf("broker log reason %q", reason)
	}
	// Even with the right version the wrong partition is refused: it
	// would start a second stream.
	r = runCmd(t, 60*time.Second, "{}\n", "kcat", "-b", s.KafkaAddr(), "-P", "-t", "orders", "-k", "order-7",
		"-H", "eddy-expected-version=2")
	if r.code == 0 {
		t.Fatalf("kcat default partitioner with the right version was accepted: %q", r.stderr)
	}
	if v, parts := streamVersions(t, s, "orders", "order-7"); len(v) != 3 || len(parts) != 1 {
		t.Fatalf("stream after refused kcat records: versions %v in partitions %v", v, parts)
	}

	// kcat with murmur2_random: the record joins the stream at version 3.
	mustCmd(t, s, 60*time.Second, "{}\n", "kcat", "-b", s.KafkaAddr(), "-P", "-t", "orders", "-k", "order-7",
		"-H", "eddy-expected-version=2", "-X", "partitioner=murmur2_random")
	// A stale version in the right partition: refused (87, non-retriable).
	r = runCmd(t, 60*time.Second, "{}\n", "kcat", "-b", s.KafkaAddr(), "-P", "-t", "orders", "-k", "order-7",
		"-H", "eddy-expected-version=0", "-X", "partitioner=murmur2_random")
	if r.code == 0 || !strings.Contains(r.stderr, "Broker failed to validate record") {
		t.Fatalf("kcat stale version: exit %d, stderr %q", r.code, r.stderr)
	}

	// confluent-kafka with its defaults: refused, non-retriable.
	type result struct {
		Partition *int32 `json:"partition"`
		Error     string `json:"error"`
		Message   string `json:"message"`
		Retriable bool   `json:"retriable"`
	}
	confluent := func(expected string, extra ...string) result {
		r := python(t, s, "confluent_streams.py", append([]string{"produce", s.KafkaAddr(), "orders", "order-7", expected}, extra...)...)
		var res result
		if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &res); err != nil {
			t.Fatalf("confluent_streams.py printed %q: %v", r.stdout, err)
		}
		return res
	}
	if res := confluent("3"); res.Error != "INVALID_RECORD" || res.Retriable {
		t.Fatalf("confluent-kafka default partitioner: %+v", res)
	}
	if res := confluent("3", "partitioner=murmur2_random"); res.Error != "" || res.Partition == nil || *res.Partition != 1 {
		t.Fatalf("confluent-kafka murmur2_random: %+v", res)
	}
	v, parts := streamVersions(t, s, "orders", "order-7")
	if len(v) != 5 || v[4] != 4 || len(parts) != 1 || !parts[1] {
		t.Fatalf("stream: versions %v in partitions %v, want 0..4 in partition 1", v, parts)
	}
	// Nothing reached the other partitions.
	for _, p := range []string{"0", "2"} {
		r := mustCmd(t, s, 30*time.Second, "", "kcat", "-b", s.KafkaAddr(), "-C", "-t", "orders", "-p", p, "-o", "beginning", "-e", "-q")
		if r.stdout != "" {
			t.Fatalf("partition %s holds %q", p, r.stdout)
		}
	}
}

// TestKafkajsStaleVersionNotRetried: kafkajs (Produce v7, the tutorial's
// client) gets INVALID_RECORD for a stale eddy-expected-version, which it
// treats as final: one Produce request, a non-retriable error (with
// CORRUPT_MESSAGE it retried with backoff and reported a CRC failure).
func TestKafkajsStaleVersionNotRetried(t *testing.T) {
	t.Parallel()
	needKafkajs(t)
	s := eddytest.Start(t)
	streamTopic(t, s, "orders", "order-7", 2)
	run := func(expected string) map[string]any {
		r := mustCmd(t, s, 90*time.Second, "", "node", filepath.Join(kafkajsDir, "stale_version.js"), s.KafkaAddr(), "orders", "order-7", expected)
		var out map[string]any
		ls := lines(r.stdout)
		if len(ls) == 0 || json.Unmarshal([]byte(ls[len(ls)-1]), &out) != nil {
			t.Fatalf("stale_version.js printed %q", r.stdout)
		}
		return out
	}
	out := run("0")
	if out["ok"] != false || out["type"] != "INVALID_RECORD" || out["retriable"] != false || out["produceRequests"] != float64(1) {
		t.Fatalf("kafkajs stale version: %v; want one Produce request and a non-retriable INVALID_RECORD", out)
	}
	if _, err := s.WaitLog("produce refused (Produce before v8 cannot carry the reason to the client)", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	// kafkajs's default partitioner is murmur2: the right version lands.
	if out := run("1"); out["ok"] != true || out["produceRequests"] != float64(1) {
		t.Fatalf("kafkajs right version: %v", out)
	}
	if v, _ := streamVersions(t, s, "orders", "order-7"); len(v) != 3 {
		t.Fatalf("stream versions %v, want 0..2", v)
	}
}

// TestEddyProducePrintsBrokerMessage: `eddy produce` shows why the broker
// refused a record (franz-go drops Produce v8+ error messages; the CLI
// reads them off the connection).
func TestEddyProducePrintsBrokerMessage(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	streamTopic(t, s, "orders", "order-7", 2)
	r := runCmd(t, 60*time.Second, "order-7:{}\n", eddytest.Binary(), "produce", "orders", "--key-separator", ":",
		"--header", "eddy-expected-version=0", "--brokers", s.KafkaAddr())
	if r.code != 1 || !strings.Contains(r.stderr, `wrong expected version for stream "order-7": expected 0, actual 1`) ||
		!strings.Contains(r.stderr, "INVALID_RECORD") {
		t.Fatalf("eddy produce stale version: exit %d, stderr %q", r.code, r.stderr)
	}
	r = runCmd(t, 60*time.Second, "order-7:{}\n", eddytest.Binary(), "produce", "orders", "--key-separator", ":",
		"--partition", "0", "--brokers", s.KafkaAddr())
	if r.code != 1 || !strings.Contains(r.stderr, "lives in partition 1 of 3") {
		t.Fatalf("eddy produce to the wrong partition: exit %d, stderr %q", r.code, r.stderr)
	}
	eddy(t, s, "order-7:{}\n", "produce", "orders", "--key-separator", ":", "--header", "eddy-expected-version=1")
}

// TestConfluentTransactionsFailFast: a librdkafka transactional producer
// fails at once with a fatal error whose message says Eddy has no
// transactions (the transaction APIs are not advertised, and the
// coordinator lookup refuses every transactional id).
func TestConfluentTransactionsFailFast(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := eddytest.Start(t)
	r := python(t, s, "confluent_streams.py", "transactions", s.KafkaAddr())
	var out struct {
		Error   *string `json:"error"`
		Message string  `json:"message"`
		Fatal   bool    `json:"fatal"`
		Seconds float64 `json:"seconds"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &out); err != nil {
		t.Fatalf("confluent_streams.py printed %q: %v", r.stdout, err)
	}
	if out.Error == nil || !out.Fatal || !strings.Contains(out.Message, "does not support transactions") || out.Seconds > 5 {
		t.Fatalf("init_transactions: %+v", out)
	}
}
