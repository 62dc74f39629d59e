package kafka_test

import (
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// longPollFetch is a fetch of partitions 0..parts-1 of topic from offset 0
// that parks for up to maxWaitMillis until maxBytes (per partition and in
// all) or at least one byte arrives.
func longPollFetch(topic string, parts int32, maxWaitMillis, maxBytes int32) *kmsg.FetchRequest {
	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis, fr.MinBytes, fr.MaxBytes, fr.SessionEpoch = maxWaitMillis, 1, maxBytes, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = topic
	for p := int32(0); p < parts; p++ {
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.PartitionMaxBytes = p, maxBytes
		ft.Partitions = append(ft.Partitions, fp)
	}
	fr.Topics = append(fr.Topics, ft)
	return fr
}

// waitParked waits up to 5 s until exactly n partition waiters are parked
// in b (a long-poll fetch parks one per partition).
func waitParked(t *testing.T, b *broker.Broker, n int) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); b.Waiting() != n; {
		if time.Now().After(deadline) {
			t.Fatalf("%d partition waiters parked, want %d", b.Waiting(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
