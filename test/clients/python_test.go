package clients

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// order is the tutorial's event as the test scripts produce it.
type order struct {
	OrderID int `json:"order_id"`
	Total   int `json:"total"`
}

func TestKafkaPythonTutorialProducerAssignedConsumer(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := eddytest.Start(t)
	const n = 25

	r := python(t, s, "tutorial_producer.py", s.KafkaAddr(), strconv.Itoa(n))
	if got := len(lines(r.stdout)); got != n || !strings.Contains(r.stdout, "Produced order created event: 24") {
		t.Fatalf("producer printed %d lines:\n%s", got, r.stdout)
	}

	// The topic was auto-created by the producer's Metadata request.
	d := eddy(t, s, "", "topic", "describe", "order-events")
	if !strings.Contains(d.stdout, "Partitions: 1") {
		t.Errorf("order-events after the tutorial producer:\n%s", d.stdout)
	}

	r = python(t, s, "assigned_consumer.py", s.KafkaAddr(), "order-events", strconv.Itoa(n))
	var offsets []int64
	for i, l := range lines(r.stdout) {
		var rec struct {
			Partition int32   `json:"partition"`
			Offset    int64   `json:"offset"`
			Value     order   `json:"value"`
			Key       *string `json:"key"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("consumer line %q: %v", l, err)
		}
		if rec.Value.OrderID != i || rec.Value.Total != i*10 || rec.Key != nil {
			t.Errorf("record %d: %+v", i, rec)
		}
		offsets = append(offsets, rec.Offset)
	}
	if len(offsets) != n {
		t.Fatalf("kafka-python consumer read %d records, want %d", len(offsets), n)
	}
	for i, o := range offsets {
		if o != int64(i) {
			t.Fatalf("offsets %v, want 0..%d", offsets, n-1)
		}
	}

	// The eddy CLI sees the same JSON values.
	c := eddy(t, s, "", "consume", "order-events", "--from-beginning", "--count", "1")
	if c.stdout != `{"order_id": 0, "total": 0}`+"\n" {
		t.Errorf("eddy consume: %q", c.stdout)
	}
}

func TestKafkaPythonAssignedConsumerMultiPartition(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "multi", "--partitions", "4")
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "k%d\t%d\n", i, i)
	}
	eddy(t, s, in.String(), "produce", "multi", "--key-separator", "\t")
	r := python(t, s, "assigned_consumer.py", s.KafkaAddr(), "multi", "40")
	seen := map[int]bool{}
	parts := map[int32]bool{}
	for _, l := range lines(r.stdout) {
		var rec struct {
			Partition int32  `json:"partition"`
			Key       string `json:"key"`
			Value     int    `json:"value"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("consumer line %q: %v", l, err)
		}
		if rec.Key != fmt.Sprintf("k%d", rec.Value) {
			t.Errorf("record %+v", rec)
		}
		seen[rec.Value] = true
		parts[rec.Partition] = true
	}
	if len(seen) != 40 {
		t.Errorf("read %d distinct records, want 40", len(seen))
	}
	if len(parts) < 2 {
		t.Errorf("40 keys landed in partitions %v only", parts)
	}
}

func TestKafkaPythonTutorialGroupConsumer(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	s := eddytest.Start(t)
	python(t, s, "tutorial_producer.py", s.KafkaAddr(), "10")

	r := python(t, s, "tutorial_consumer.py", s.KafkaAddr(), "10")
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("Processing order: %d", i))
	}
	if got := lines(r.stdout); !slices.Equal(got, want) {
		t.Fatalf("tutorial consumer printed %q, want %q", got, want)
	}
	waitLag(t, s, "order-processor", 0)

	// More orders; the same group resumes after what it committed.
	python(t, s, "tutorial_producer.py", s.KafkaAddr(), "15")
	r = python(t, s, "tutorial_consumer.py", s.KafkaAddr(), "15")
	if got := lines(r.stdout); len(got) != 15 || got[0] != "Processing order: 0" || got[14] != "Processing order: 14" {
		t.Errorf("second run printed %q, want the 15 new orders", got)
	}
	waitLag(t, s, "order-processor", 0)
}

func TestConfluentKafkaManualCommitAcrossRestart(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "payments", "--partitions", "3")
	python(t, s, "confluent_client.py", "produce", s.KafkaAddr(), "payments", "0", "30")

	r := python(t, s, "confluent_client.py", "consume", s.KafkaAddr(), "payments", "billing", "12")
	first := lines(r.stdout)
	waitLag(t, s, "billing", 18)

	s.Restart()

	python(t, s, "confluent_client.py", "produce", s.KafkaAddr(), "payments", "30", "10")
	r = python(t, s, "confluent_client.py", "consume", s.KafkaAddr(), "payments", "billing", "28")
	second := lines(r.stdout)

	all := append(slices.Clone(first), second...)
	seen := map[string]int{}
	for _, v := range all {
		seen[v]++
	}
	for n := range 40 {
		if c := seen[strconv.Itoa(n)]; c != 1 {
			t.Errorf("value %d read %d times across the restart (first run %q, second %q)", n, c, first, second)
		}
	}
	waitLag(t, s, "billing", 0)
}

// testTwoMembers runs two consumers of one group from lib on a 4-partition
// topic: both get partitions, and together they read every record.
func testTwoMembers(t *testing.T, lib string) {
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "shared", "--partitions", "4")
	var in strings.Builder
	for i := range 40 {
		fmt.Fprintf(&in, "k%d:%d\n", i, i)
	}
	eddy(t, s, in.String(), "produce", "shared", "--key-separator", ":")

	r := python(t, s, "two_members.py", lib, s.KafkaAddr(), "shared", "pair", "40")
	var out struct {
		Values      []string  `json:"values"`
		Assignments [][]int32 `json:"assignments"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); err != nil {
		t.Fatalf("output %q: %v", r.stdout, err)
	}
	seen := map[string]int{}
	for _, v := range out.Values {
		seen[v]++
	}
	for i := range 40 {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("value %d read %d times", i, seen[strconv.Itoa(i)])
		}
	}
	if len(out.Assignments) != 2 || len(out.Assignments[0]) == 0 || len(out.Assignments[1]) == 0 ||
		len(out.Assignments[0])+len(out.Assignments[1]) != 4 {
		t.Errorf("assignments %v, want the 4 partitions split over both members", out.Assignments)
	}
	waitLag(t, s, "pair", 0)
}

func TestKafkaPythonTwoMemberGroup(t *testing.T) {
	t.Parallel()
	needPython(t, "kafka")
	testTwoMembers(t, "kafka-python")
}

func TestConfluentKafkaTwoMemberGroup(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	testTwoMembers(t, "confluent")
}
