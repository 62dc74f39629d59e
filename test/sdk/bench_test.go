package sdk_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// BenchmarkHTTPAppend measures appends with expected-version checks over
// real HTTP (SDK client → httpapi → event store → broker; fsync=always is
// the target, fsync=never shows the CPU ceiling without the disk):
// 32 concurrent clients, each appending to its own stream with the version
// it last wrote as the expected version. events/s is the target metric
// (docs/benchmarks.md).
func BenchmarkHTTPAppend(b *testing.B) {
	for _, bc := range []struct {
		per   int
		fsync string
	}{{1, "always"}, {100, "always"}, {1, "never"}, {100, "never"}} {
		per := bc.per
		b.Run(fmt.Sprintf("events=%d/fsync=%s", per, bc.fsync), func(b *testing.B) {
			if v := os.Getenv("EDDY_FLUSH"); v != "" {
				d, _ := time.ParseDuration(v)
				flushInterval = d
			}
			c, n := startNode(b)
			br, reg := n.Broker, n.Registry
			if _, err := br.CreateTopic("bench", 1, map[string]string{"eddy.streams": "true", "eddy.fsync": bc.fsync}, false); err != nil {
				b.Fatal(err)
			}
			cl, err := eventstore.New(c.BaseURL(), benchClientOpts(b)...)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			data := []byte(`{"sku":"A-1","qty":2,"price":19.99}`)
			const clients = 32
			// Load the topic before timing.
			if _, err := cl.Append(ctx, "bench", "warm", eventstore.Any{}, eventstore.EventData{ID: "w", Type: "T"}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			errc := make(chan error, clients)
			fsyncs0, fsyncSecs0 := fsyncStats(b, reg)
			cpu0 := processCPU()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < clients; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					stream := fmt.Sprintf("order-%d", w)
					var exp eventstore.ExpectedVersion = eventstore.NoStream{}
					evs := make([]eventstore.EventData, per)
					for next.Add(1) <= int64(b.N) {
						for i := range evs {
							evs[i] = eventstore.EventData{ID: eventstore.NewID(), Type: "ItemAdded", Data: data}
						}
						res, err := cl.Append(ctx, "bench", stream, exp, evs...)
						if err != nil {
							errc <- err
							return
						}
						exp = eventstore.Version(res.LastVersion)
					}
				}(w)
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			cpu := processCPU() - cpu0
			fsyncs, fsyncSecs := fsyncStats(b, reg)
			fsyncs -= fsyncs0
			fsyncSecs -= fsyncSecs0
			close(errc)
			for err := range errc {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(b.N*per)/elapsed.Seconds(), "events/s")
			// What explains the rate: CPU (clients and server together, one
			// process) per append, appends per log fsync (group commit), and
			// the mean fsync latency.
			b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/append")
			if fsyncs > 0 {
				b.ReportMetric(float64(b.N)/float64(fsyncs), "appends/fsync")
				b.ReportMetric(fsyncSecs/float64(fsyncs)*1e6, "µs/fsync")
			}
		})
	}
}

// benchClientOpts are the SDK options of the benchmark clients: the SDK's
// default transport, or net/http's Transport when EDDY_BENCH_TRANSPORT is
// nethttp.
func benchClientOpts(tb testing.TB) []eventstore.Opt {
	switch v := os.Getenv("EDDY_BENCH_TRANSPORT"); v {
	case "":
		return nil
	case "nethttp":
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 128}}
		tb.Cleanup(hc.CloseIdleConnections)
		return []eventstore.Opt{eventstore.HTTPClient(hc)}
	default:
		tb.Fatalf("EDDY_BENCH_TRANSPORT=%q: want nethttp or nothing", v)
		return nil
	}
}

// processCPU is the user+system CPU time of this process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// fsyncStats reads the commit log's fsync histogram: how many fsyncs and
// their total seconds.
func fsyncStats(b *testing.B, g prometheus.Gatherer) (n uint64, secs float64) {
	mfs, err := g.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "eddy_log_fsync_duration_seconds" {
			continue
		}
		for _, m := range mf.GetMetric() {
			n += m.GetHistogram().GetSampleCount()
			secs += m.GetHistogram().GetSampleSum()
		}
	}
	return n, secs
}
