package clients

import (
	"encoding/json"
	"strconv"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// checkNumbered reads topic with `eddy consume --format json` and checks it
// holds values 0..total-1 exactly once each, keyed key-<n> with header
// n=<n>, as the producer scripts write them. It reads until total records
// arrived (not to the end as it is when the consumer starts): an acks=0
// producer exits before the broker has made its last records durable and
// visible, so they may still be in flight.
func checkNumbered(t *testing.T, s *eddytest.Process, topic string, total int) {
	t.Helper()
	r := eddy(t, s, "", "consume", topic, "--from-beginning", "--count", strconv.Itoa(total), "--format", "json")
	seen := make(map[int]int)
	for _, l := range lines(r.stdout) {
		var rec struct {
			Key     *string `json:"key"`
			Value   *string `json:"value"`
			Headers []struct {
				Key   string `json:"key"`
				Value string `json:"value"`
			} `json:"headers"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if rec.Value == nil || rec.Key == nil {
			t.Errorf("record without key or value: %s", l)
			continue
		}
		n, err := strconv.Atoi(*rec.Value)
		if err != nil {
			t.Errorf("value %q", *rec.Value)
			continue
		}
		if *rec.Key != "key-"+*rec.Value || len(rec.Headers) != 1 || rec.Headers[0].Key != "n" || rec.Headers[0].Value != *rec.Value {
			t.Errorf("record %s: want key key-%d and header n=%d", l, n, n)
		}
		seen[n]++
	}
	for n := range total {
		if seen[n] != 1 {
			t.Errorf("%s: value %d stored %d times, want once", topic, n, seen[n])
		}
	}
	if len(seen) != total {
		t.Errorf("%s: %d distinct values, want %d", topic, len(seen), total)
	}
}

func TestKafkaPythonProducerCodecsAndAcks(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "kp", "--partitions", "2")
	first := 0
	for _, codec := range []string{"none", "gzip"} {
		for _, acks := range []string{"0", "1", "all"} {
			python(t, s, "kafka_python_producer.py", s.KafkaAddr(), "kp", strconv.Itoa(first), "20", codec, acks)
			first += 20
		}
	}
	checkNumbered(t, s, "kp", first)
}

func TestConfluentProducerCodecsAndIdempotence(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "cp", "--partitions", "3")
	first := 0
	produce := func(extra ...string) {
		t.Helper()
		args := append([]string{"produce", s.KafkaAddr(), "cp", strconv.Itoa(first), "50"}, extra...)
		python(t, s, "confluent_client.py", args...)
		first += 50
	}
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		produce("compression.type="+codec, "enable.idempotence=true")
	}
	produce("acks=1")
	produce("acks=0")
	checkNumbered(t, s, "cp", first)
}
