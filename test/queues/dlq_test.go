package queues

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/share"
)

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// TestPoisonRecordToDLQ: one record released on every delivery reaches the
// delivery limit and lands on the dead-letter topic once, with its headers
// and original key and value; one rejected record lands there at once; the
// rest of the partition keeps flowing meanwhile.
func TestPoisonRecordToDLQ(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	enable := "true"
	newTopic(t, admin, "dlq.t", 1, map[string]*string{share.TopicConfigDLQEnable: &enable})
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDeliveryLimit, "3", share.ConfigDLQTopic, "dlq.t")
	produce(t, admin, "t", 200, func(int) int32 { return 0 })

	cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(100*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	accepted := map[string]bool{}
	poisonDeliveries := 0
	for (len(accepted) < 198 || poisonDeliveries < 3) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			switch string(r.Value) {
			case "7":
				poisonDeliveries++
				if int(r.DeliveryCount()) != poisonDeliveries {
					t.Errorf("poison delivery %d has count %d", poisonDeliveries, r.DeliveryCount())
				}
				r.Ack(kgo.AckRelease)
			case "42":
				r.Ack(kgo.AckReject)
			default:
				accepted[string(r.Value)] = true
				r.Ack(kgo.AckAccept)
			}
		})
	}
	cl.FlushAcks(context.Background())
	if len(accepted) != 198 || poisonDeliveries != 3 {
		t.Fatalf("accepted %d, poison delivered %d times (limit 3)", len(accepted), poisonDeliveries)
	}

	dlq := srv.Client(t, kgo.ConsumeTopics("dlq.t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var got []*kgo.Record
	for len(got) < 2 && ctx.Err() == nil {
		dlq.PollFetches(ctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) != 2 {
		t.Fatalf("dlq has %d records, want 2", len(got))
	}
	want := map[string]map[string]string{
		"42": {share.HeaderReason: "rejected", share.HeaderOffset: "42", share.HeaderDeliveryCount: "1"},
		"7":  {share.HeaderReason: "delivery_limit", share.HeaderOffset: "7", share.HeaderDeliveryCount: "3"},
	}
	for _, r := range got {
		w := want[string(r.Value)]
		if w == nil || string(r.Key) != string(r.Value) {
			t.Fatalf("unexpected dlq record key %q value %q", r.Key, r.Value)
		}
		w[share.HeaderGroup], w[share.HeaderTopic], w[share.HeaderPartition] = "g", "t", "0"
		for k, v := range w {
			if got := header(r, k); got != v {
				t.Errorf("record %s header %s = %q, want %q", r.Value, k, got, v)
			}
		}
		// KIP-1191's context header names as Apache Kafka writes them.
		for _, k := range []string{"__dlq.errors.group", "__dlq.errors.topic", "__dlq.errors.partition", "__dlq.errors.offset", "__dlq.errors.delivery.count", "__dlq.errors.message"} {
			if header(r, k) == "" {
				t.Errorf("record %s lacks header %s", r.Value, k)
			}
		}
		if ts, err := strconv.ParseInt(header(r, share.HeaderTimestamp), 10, 64); err != nil || ts <= 0 {
			t.Errorf("record %s timestamp header %q", r.Value, header(r, share.HeaderTimestamp))
		}
	}
	// Wait a few sweeps: nothing is written twice.
	time.Sleep(200 * time.Millisecond)
	dctx, dcancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer dcancel()
	if more := dlq.PollFetches(dctx); more.NumRecords() != 0 {
		t.Fatalf("dlq got %d more records", more.NumRecords())
	}
	info, _ := srv.Share.Describe("g")
	if p := info.Partitions[0]; p.StartOffset != 200 || p.DeadLettered != 2 {
		t.Fatalf("partition state %+v", p)
	}
}

// TestRetryBackoff: a record released on every delivery comes back after
// first×2^(n−1) ±10 %, while the records behind it are delivered at once.
//
// franz-go sends one share request at a time per broker, so a release
// made while the client's next ShareFetch is parked reaches the broker
// only when that fetch returns. Each interval is therefore bounded below
// from before the release was handed to the client (the backoff cannot
// start earlier) and above from when the client reported it delivered (it
// cannot start later); the broker side, a parked fetch woken exactly at
// the backoff's end, is TestParkedFetchWakesAtBackoffEnd in
// internal/share.
func TestRetryBackoff(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDeliveryLimit, "5",
		share.ConfigBackoff, "200", share.ConfigBackoffMax, "700")
	produce(t, admin, "t", 1, func(int) int32 { return 0 })

	cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var delivered, releasing, released []time.Time
	producedLater := false
	var laterAt time.Time
	var sent time.Time
	for len(delivered) < 5 && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if r.Offset == 0 {
				delivered = append(delivered, time.Now())
				releasing = append(releasing, time.Now())
				r.Ack(kgo.AckRelease)
				if err := cl.FlushAcks(ctx); err != nil {
					t.Errorf("flush release: %v", err)
				}
				released = append(released, time.Now())
				if !producedLater {
					producedLater = true
					sent = time.Now()
					produce(t, admin, "t", 1, func(int) int32 { return 0 })
				}
				return
			}
			laterAt = time.Now()
			r.Ack(kgo.AckAccept)
		})
	}
	if laterAt.IsZero() || laterAt.Sub(sent) > 150*time.Millisecond {
		t.Errorf("the record behind the backed-off one came %v after it was produced", laterAt.Sub(sent))
	}
	if len(delivered) != 5 {
		t.Fatalf("poison delivered %d times", len(delivered))
	}
	for i := 1; i < len(delivered); i++ {
		want := time.Duration(min(200*(1<<(i-1)), 700)) * time.Millisecond
		lo := time.Duration(float64(want) * 0.9)
		hi := time.Duration(float64(want)*1.1) + 100*time.Millisecond // the redelivery's round trip
		fromRelease, fromAcked := delivered[i].Sub(releasing[i-1]), delivered[i].Sub(released[i-1])
		if fromRelease < lo || fromAcked > hi {
			t.Errorf("interval %d: %v after the release was made, %v after the broker confirmed it; want the %v backoff ±10 %% (≥ %v, ≤ %v)",
				i, fromRelease, fromAcked, want, lo, hi)
		} else {
			t.Logf("interval %d: %v after the release, %v after its confirmation (backoff %v)", i, fromRelease, fromAcked, want)
		}
	}
}
