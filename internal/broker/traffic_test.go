package broker_test

import (
	"sync"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// TestTopicStats checks each topic's partitions, records and bytes (all
// topics' and one's), and (under -race) that reading them while
// partitions are added is safe.
func TestTopicStats(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	for _, name := range []string{"s-a", "s-b"} {
		if _, err := e.b.CreateTopic(name, 1, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.b.Append("s-a", 0, batch(1, 3, "v")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for n := int32(2); n <= 8; n++ {
			if err := e.b.CreatePartitions("s-b", n, false); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for range 50 {
		if got := len(e.b.TopicStats()); got != 2 {
			t.Fatalf("%d topics, want 2", got)
		}
	}
	wg.Wait()
	byName := map[string]broker.TopicStat{}
	for _, s := range e.b.TopicStats() {
		byName[s.Name] = s
	}
	if a := byName["s-a"]; a.Partitions != 1 || a.Records != 3 || a.Bytes <= 0 {
		t.Errorf("s-a %+v, want 1 partition, 3 records and their bytes", a)
	}
	if b := byName["s-b"]; b.Partitions != 8 || b.Records != 0 || b.Bytes != 0 {
		t.Errorf("s-b %+v, want 8 empty partitions", b)
	}
	// One topic's, as the list of every topic has it.
	if a, ok := e.b.TopicStat("s-a"); !ok || a != byName["s-a"] {
		t.Errorf("TopicStat(s-a) = %+v %v, want %+v", a, ok, byName["s-a"])
	}
	if _, ok := e.b.TopicStat("none"); ok {
		t.Error("TopicStat of a topic that does not exist")
	}
}
