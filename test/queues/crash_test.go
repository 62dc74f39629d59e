package queues

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/share"
)

// TestKill9EddyServe kills a real `eddy serve` with SIGKILL twice while a
// franz-go share consumer works through 3,000 records, releasing every
// 100th (poison) on each delivery. After the run: every acknowledgement
// the consumer saw confirmed held (the record never came back), every
// healthy record was consumed, and each poison record is on the
// dead-letter topic exactly once. It runs with record-limit fetches of
// 100 records, and with batch-optimized fetches (franz-go's default) of
// whole 50-record batches.
func TestKill9EddyServe(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns eddy serve")
	}
	t.Run("record-limit", func(t *testing.T) { kill9EddyServe(t, true) })
	t.Run("batch-optimized", func(t *testing.T) { kill9EddyServe(t, false) })
}

func kill9EddyServe(t *testing.T, strict bool) {
	p := eddytest.Start(t)
	addr := p.KafkaAddr()
	admin := kgoClient(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	newTopic(t, admin, "t", 2, nil)
	enable := "true"
	newTopic(t, admin, "dlq.t", 1, map[string]*string{share.TopicConfigDLQEnable: &enable})
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDLQTopic, "dlq.t",
		share.ConfigDeliveryLimit, "5", share.ConfigLockDuration, "2000")
	const total = 3000
	for i := 0; i < total; i += 100 { // stored batches of 50 records
		recs := make([]*kgo.Record, 100)
		for j := range recs {
			v := []byte(strconv.Itoa(i + j))
			recs[j] = &kgo.Record{Topic: "t", Partition: int32((i + j) % 2), Key: v, Value: v}
		}
		if err := admin.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	poison := func(v string) bool { n, _ := strconv.Atoi(v); return n%100 == 13 }

	var (
		mu        sync.Mutex
		confirmed = map[string]bool{}
		consumed  = map[string]bool{}
		ackFailed bool
	)
	opts := []kgo.Opt{kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200 * time.Millisecond),
		kgo.ShareMaxRecords(100), kgo.RetryTimeout(30 * time.Second)}
	if strict {
		opts = append(opts, kgo.ShareMaxRecordsStrict())
	}
	cl := kgoClient(t, addr, append(opts,
		kgo.ShareAckCallback(func(_ *kgo.Client, rs kgo.ShareAckResults) {
			if rs.Error() != nil {
				mu.Lock()
				ackFailed = true
				mu.Unlock()
			}
		}))...)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	killAt := map[int]bool{800: true, 2000: true}
	for ctx.Err() == nil {
		mu.Lock()
		n := len(consumed)
		mu.Unlock()
		if n >= total-total/100 {
			break
		}
		for k := range killAt {
			if n >= k {
				delete(killAt, k)
				t.Logf("kill -9 after %d records", n)
				p.Kill()
				p.Respawn()
			}
		}
		pctx, pcancel := context.WithTimeout(ctx, time.Second)
		fs := cl.PollFetches(pctx)
		pcancel()
		var accepted []string
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			mu.Lock()
			if confirmed[v] {
				t.Errorf("record %s delivered again (delivery %d) after its acknowledgement was confirmed", v, r.DeliveryCount())
			}
			mu.Unlock()
			if poison(v) {
				r.Ack(kgo.AckRelease)
				return
			}
			r.Ack(kgo.AckAccept)
			accepted = append(accepted, v)
		})
		mu.Lock()
		ackFailed = false
		mu.Unlock()
		fctx, fcancel := context.WithTimeout(ctx, 5*time.Second)
		err := cl.FlushAcks(fctx)
		fcancel()
		mu.Lock()
		for _, v := range accepted {
			consumed[v] = true
			if err == nil && !ackFailed {
				confirmed[v] = true
			}
		}
		mu.Unlock()
	}
	if len(consumed) < total-total/100 {
		t.Fatalf("consumed %d of %d healthy records", len(consumed), total-total/100)
	}
	// Each poison record lands on the DLQ once.
	dlq := kgoClient(t, addr, kgo.ConsumeTopics("dlq.t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	dead := map[string]int{}
	deadline := time.Now().Add(30 * time.Second)
	for len(dead) < total/100 && time.Now().Before(deadline) {
		// Keep releasing the poison records still short of the limit;
		// healthy records whose acknowledgement failed around a kill
		// come back and are accepted.
		pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if poison(string(r.Value)) {
				r.Ack(kgo.AckRelease)
			} else {
				r.Ack(kgo.AckAccept)
			}
		})
		pcancel()
		cl.FlushAcks(ctx)
		pctx, pcancel = context.WithTimeout(ctx, 300*time.Millisecond)
		dlq.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
			if !poison(string(r.Value)) {
				t.Errorf("healthy record %s dead-lettered (%s)", r.Value, header(r, share.HeaderReason))
			}
			dead[header(r, share.HeaderPartition)+"/"+header(r, share.HeaderOffset)]++
		})
		pcancel()
	}
	if len(dead) != total/100 {
		t.Fatalf("dead-lettered %d poison records, want %d", len(dead), total/100)
	}
	time.Sleep(500 * time.Millisecond)
	pctx, pcancel := context.WithTimeout(ctx, time.Second)
	dlq.PollFetches(pctx).EachRecord(func(r *kgo.Record) {
		dead[header(r, share.HeaderPartition)+"/"+header(r, share.HeaderOffset)]++
	})
	pcancel()
	for k, n := range dead {
		if n != 1 {
			t.Errorf("poison record %s dead-lettered %d times", k, n)
		}
	}
	t.Logf("confirmed %d acknowledgements, %d dead letters", len(confirmed), len(dead))
}

func kgoClient(t *testing.T, addr string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl
}
