package queues

import (
	"context"
	"crypto/rand"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
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
// the same machine load. It reports each round (records/s, records per
// poll, and the process's CPU time per record: broker and clients run in
// this process) and the median of the rounds' share / classic ratios, for
// two setups:
//
//   - matched: distinct random (incompressible) values, so that the
//     classic consumer's fetch (franz-go's default 1 MiB per partition)
//     carries about 1,000 records, and the share consumer asks for as many
//     (ShareMaxRecords 1000): the same fetch size on both paths. The
//     target (share ≥ 50 % of classic) is judged on this setup: at full
//     size (EDDY_QUEUE_BENCH=1) the test fails when the median ratio is
//     below 0.5.
//   - defaults: franz-go's defaults on a value that compresses about 9×
//     (the alphabet repeated): a classic fetch then carries the whole of a
//     member's partitions (about 18,000 records), a share fetch 500
//     (KIP-1206's default MaxRecords), so share pays 37× more round trips.
//
// EDDY_QUEUE_BENCH_ONLY=share or =classic runs one kind only (to profile
// it); the ratio is then not computed.
func TestBenchShareVsClassic(t *testing.T) {
	n := benchSize(150000, 6000)
	rounds := benchSize(5, 1)
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	for _, setup := range []struct {
		name     string
		random   bool
		shareMax int32
		target   float64
	}{
		{"matched", true, 1000, 0.5},
		{"defaults", false, 0, 0},
	} {
		t.Run(setup.name, func(t *testing.T) {
			r := benchShareVsClassic(t, srv, admin, setup.name, n, rounds, setup.random, setup.shareMax)
			if os.Getenv("EDDY_QUEUE_BENCH") != "" && r > 0 && r < setup.target {
				t.Errorf("median share / classic ratio %.2f, target %.2f", r, setup.target)
			}
		})
	}
}

// benchShareVsClassic runs the rounds of one setup and returns the median
// of the rounds' share / classic ratios (0 when only one kind ran).
func benchShareVsClassic(t *testing.T, srv *kafkatest.Server, admin *kgo.Client, topic string, n, rounds int, random bool, shareMax int32) float64 {
	never := "never"
	newTopic(t, admin, topic, 6, map[string]*string{"eddy.fsync": &never})
	text := make([]byte, 1024)
	for i := range text {
		text[i] = byte('a' + i%26)
	}
	// Random values are 1 KiB windows of a 1 MiB random buffer, distinct
	// within any batch, so they do not compress.
	pool := make([]byte, 1<<20+1024)
	rand.Read(pool)
	const batch = 1000
	for i := 0; i < n; i += batch {
		recs := make([]*kgo.Record, batch)
		for j := range recs {
			v := text
			if random {
				o := (i + j) % 1024 * 1024
				v = pool[o : o+1024]
			}
			recs[j] = &kgo.Record{Topic: topic, Partition: int32((i + j) % 6), Value: v}
		}
		if err := admin.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var stored int64
	dirs, _ := filepath.Glob(filepath.Join(srv.Dir, topic+"-*"))
	for _, d := range dirs {
		if st, err := dirSize(d); err == nil {
			stored += st
		}
	}
	t.Logf("%d records of 1 KiB stored in %d bytes", n, stored)
	run := func(name string, opts []kgo.Opt, ack bool) float64 {
		var got atomic.Int64
		ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
		defer cancel()
		// Timed from the first record received to the last, so the classic
		// group's join and rebalance are not counted against it.
		var first, end, polls atomic.Int64
		var cpu0, cpu1 time.Duration
		var wg sync.WaitGroup
		for range 4 {
			cl := srv.Client(t, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.FetchMaxWait(100 * time.Millisecond)}, opts...)...)
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
						if first.CompareAndSwap(0, time.Now().UnixNano()) {
							cpu0 = processCPU()
						}
						polls.Add(1)
					}
					if got.Add(int64(k)) >= int64(n) {
						if end.CompareAndSwap(0, time.Now().UnixNano()) {
							cpu1 = processCPU()
						}
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
		t.Logf("%s: %d records in %v: %.0f records/s, %.0f records per poll, %.2f µs CPU per record",
			name, n, el.Round(time.Millisecond), rate, float64(n)/float64(polls.Load()), float64((cpu1-cpu0).Microseconds())/float64(n))
		return rate
	}
	only := os.Getenv("EDDY_QUEUE_BENCH_ONLY")
	var classic, shared []float64
	for i := range rounds {
		if only != "share" {
			classic = append(classic, run(fmt.Sprintf("round %d: classic group, 4 members", i+1),
				[]kgo.Opt{kgo.ConsumerGroup(fmt.Sprintf("%s-c%d", topic, i)), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, false))
		}
		if only != "classic" {
			g := fmt.Sprintf("%s-s%d", topic, i)
			setGroupConfigs(t, admin, g, share.ConfigAutoOffsetReset, "earliest")
			opts := []kgo.Opt{kgo.ShareGroup(g)}
			if shareMax > 0 {
				opts = append(opts, kgo.ShareMaxRecords(shareMax))
			}
			shared = append(shared, run(fmt.Sprintf("round %d: share group, 4 members, ack every record", i+1), opts, true))
		}
	}
	if only != "" {
		return 0
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
	fmt.Fprintf(os.Stderr, "BENCH share-vs-classic/%s records=%d rounds=%d classic=%.0f/s share=%.0f/s ratios=%.2f median-ratio=%.2f\n", topic, n, rounds, c, s, ratios, r)
	return r
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

// dirSize returns the bytes of the files under dir.
func dirSize(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		n += info.Size()
		return nil
	})
	return n, err
}

// processCPU returns the user and system CPU time this process used so
// far (the in-process broker and the clients together).
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
