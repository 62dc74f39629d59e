package queues

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/share"
)

// The queue benchmarks run with EDDY_QUEUE_BENCH=1 (they take tens of
// seconds); without it they run a small smoke size so they stay tested.
func benchSize(full, smoke int) int {
	if os.Getenv("EDDY_QUEUE_BENCH") != "" {
		return full
	}
	return smoke
}

// TestBenchShareVsClassic measures consuming 1 KiB records from 6
// partitions with 4 share-group members acknowledging every record, and
// with 4 classic consumer-group members, alternating rounds over the same
// records (each round a fresh group reading from the start) so both see
// the same machine load. It reports each round and the median of the
// rounds' share / classic ratios.
func TestBenchShareVsClassic(t *testing.T) {
	n := benchSize(150000, 6000)
	rounds := benchSize(5, 1)
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	never := "never"
	newTopic(t, admin, "t", 6, map[string]*string{"eddy.fsync": &never})
	val := make([]byte, 1024)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	const batch = 1000
	for i := 0; i < n; i += batch {
		recs := make([]*kgo.Record, batch)
		for j := range recs {
			recs[j] = &kgo.Record{Topic: "t", Partition: int32((i + j) % 6), Value: val}
		}
		if err := admin.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	run := func(name string, opts []kgo.Opt, ack bool) float64 {
		var got atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		// Timed from the first record received to the last, so the classic
		// group's join and rebalance are not counted against it.
		var first, end atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			cl := srv.Client(t, append([]kgo.Opt{kgo.ConsumeTopics("t"), kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer cl.Close()
				for got.Load() < int64(n) && ctx.Err() == nil {
					pctx, pc := context.WithTimeout(ctx, 200*time.Millisecond)
					fs := cl.PollFetches(pctx)
					pc()
					k := 0
					fs.EachRecord(func(r *kgo.Record) {
						k++
						if ack {
							r.Ack(kgo.AckAccept)
						}
					})
					if k > 0 {
						first.CompareAndSwap(0, time.Now().UnixNano())
					}
					if got.Add(int64(k)) >= int64(n) {
						end.CompareAndSwap(0, time.Now().UnixNano())
					}
				}
				if ack {
					cl.FlushAcks(context.Background())
				}
			}()
		}
		wg.Wait()
		if got.Load() < int64(n) {
			t.Fatalf("%s consumed %d of %d", name, got.Load(), n)
		}
		el := time.Duration(end.Load() - first.Load())
		rate := float64(n) / el.Seconds()
		t.Logf("%s: %d records of 1 KiB in %v: %.0f records/s", name, n, el.Round(time.Millisecond), rate)
		return rate
	}
	var classic, shared []float64
	for i := range rounds {
		classic = append(classic, run(fmt.Sprintf("round %d: classic group, 4 members", i+1),
			[]kgo.Opt{kgo.ConsumerGroup(fmt.Sprintf("c%d", i)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, false))
		g := fmt.Sprintf("s%d", i)
		setGroupConfigs(t, admin, g, share.ConfigAutoOffsetReset, "earliest")
		shared = append(shared, run(fmt.Sprintf("round %d: share group, 4 members, ack every record", i+1),
			[]kgo.Opt{kgo.ShareGroup(g)}, true))
	}
	median := func(v []float64) float64 {
		s := slices.Clone(v)
		slices.Sort(s)
		return s[len(s)/2]
	}
	ratios := make([]float64, rounds)
	for i := range ratios {
		ratios[i] = shared[i] / classic[i]
	}
	c, s, r := median(classic), median(shared), median(ratios)
	t.Logf("medians: classic %.0f records/s, share %.0f records/s; share / classic per round %.2f, median %.2f", c, s, ratios, r)
	fmt.Fprintf(os.Stderr, "BENCH share-vs-classic records=%d rounds=%d classic=%.0f/s share=%.0f/s ratios=%.2f median-ratio=%.2f\n", n, rounds, c, s, ratios, r)
}

// TestBenchPoisonBackoffLatency measures the produce-to-acknowledge
// latency (record timestamp to the broker's confirmation of the ack) of
// healthy records in a partition that also holds a poison record
// released on every delivery with backoff, against the same load without
// the poison record.
func TestBenchPoisonBackoffLatency(t *testing.T) {
	dur := time.Duration(benchSize(10, 2)) * time.Second
	measure := func(name string, poison bool) time.Duration {
		srv := kafkatest.Start(t)
		admin := manualProducer(t, srv)
		newTopic(t, admin, "t", 1, nil)
		setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDeliveryLimit, "10",
			share.ConfigBackoff, "50", share.ConfigBackoffMax, "1000", share.ConfigLockDuration, "5000")
		cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(50*time.Millisecond))
		ctx, cancel := context.WithTimeout(context.Background(), dur+30*time.Second)
		defer cancel()
		// Start the consumer at the empty partition, then produce at a
		// steady 1000 records/s for dur.
		var lat []time.Duration
		var mu sync.Mutex
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
				}
				pctx, pc := context.WithTimeout(ctx, 100*time.Millisecond)
				fs := cl.PollFetches(pctx)
				pc()
				var produced []time.Time
				fs.EachRecord(func(r *kgo.Record) {
					if string(r.Value) == "poison" {
						r.Ack(kgo.AckRelease)
						return
					}
					r.Ack(kgo.AckAccept)
					produced = append(produced, r.Timestamp)
				})
				// Acknowledged once the broker confirmed the acks durable.
				if err := cl.FlushAcks(ctx); err != nil {
					continue
				}
				now := time.Now()
				mu.Lock()
				for _, ts := range produced {
					lat = append(lat, now.Sub(ts))
				}
				mu.Unlock()
			}
		}()
		prod := srv.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.ProducerLinger(0))
		if poison {
			prod.ProduceSync(ctx, &kgo.Record{Topic: "t", Value: []byte("poison")})
		}
		tick := time.NewTicker(time.Millisecond)
		deadline := time.Now().Add(dur)
		for time.Now().Before(deadline) {
			<-tick.C
			prod.Produce(ctx, &kgo.Record{Topic: "t", Value: []byte("ok")}, nil)
		}
		tick.Stop()
		prod.Flush(ctx)
		time.Sleep(500 * time.Millisecond)
		close(stop)
		<-done
		mu.Lock()
		defer mu.Unlock()
		slices.Sort(lat)
		if len(lat) == 0 {
			t.Fatalf("%s: nothing acknowledged", name)
		}
		p50, p99 := lat[len(lat)/2], lat[len(lat)*99/100]
		t.Logf("%s: %d healthy records, produce-to-ack p50 %v p99 %v", name, len(lat), p50.Round(100*time.Microsecond), p99.Round(100*time.Microsecond))
		return p99
	}
	without := measure("without poison", false)
	with := measure("with a poison record retried with backoff", true)
	ratio := float64(with) / float64(without)
	verdict := "within"
	if ratio > 1.5 {
		verdict = "over"
	}
	t.Logf("p99 with / without = %.2f (%s the 1.5× target)", ratio, verdict)
	fmt.Fprintf(os.Stderr, "BENCH poison-backoff p99-without=%v p99-with=%v ratio=%.2f\n", without, with, float64(with)/float64(without))
}
