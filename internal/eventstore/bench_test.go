package eventstore_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// BenchmarkReadStream reads a 100-event stream whose events are spread
// through a topic of many events in many streams (default 100,000 events
// in 10,000 streams; EDDY_LONG=1: 1,000,000 in 100,000, the target's
// size) and reports the p99 latency of one whole-stream read.
func BenchmarkReadStream(b *testing.B) {
	total, streams := 100_000, 10_000
	if os.Getenv("EDDY_LONG") == "1" {
		total, streams = 1_000_000, 100_000
	}
	e := newEnv(b)
	ctx := context.Background()
	// Populating is not what is measured: fsync=never.
	if _, err := e.srv.Broker.CreateTopic("big", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		b.Fatal(err)
	}
	per := total / streams
	steps := streams
	every := steps / 100
	data := []byte(`{"sku":"A-1","qty":2,"price":19.99}`)
	evs := make([]eventstore.EventData, per)
	target := 0
	for i := 0; i < steps; i++ {
		for j := range evs {
			evs[j] = eventstore.EventData{ID: fmt.Sprintf("%d-%d", i, j), Type: "T", Data: data}
		}
		if _, err := e.es.Append(ctx, "big", fmt.Sprintf("s-%d", i), eventstore.Any, evs); err != nil {
			b.Fatal(err)
		}
		if i%every == 0 && target < 100 {
			if _, err := e.es.Append(ctx, "big", "target", eventstore.Any, []eventstore.EventData{{ID: fmt.Sprint("t", i), Type: "T", Data: data}}); err != nil {
				b.Fatal(err)
			}
			target++
		}
	}
	if err := e.es.Flush(); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		start := time.Now()
		page, err := e.es.Read(ctx, "big", "target", eventstore.ReadOptions{Limit: 100})
		lat = append(lat, time.Since(start))
		if err != nil || len(page.Events) != target {
			b.Fatalf("read %d events, %v; want %d", len(page.Events), err, target)
		}
	}
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")

	// Reopening the index over this data (what a restart costs after a
	// clean stop; after a crash add the catch-up of one flush interval).
	if err := e.es.Close(); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	es2, err := eventstore.Open(eventstore.Config{Path: filepath.Join(e.srv.Dir, "streams.idx")})
	if err == nil {
		err = es2.Recover(e.srv.Broker)
	}
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000, "reopen-ms")
	if err := es2.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkAppendExpected measures Store.Append (no HTTP) with an
// expected-version check per append, 32 concurrent writers, fsync=always.
func BenchmarkAppendExpected(b *testing.B) {
	e := newEnv(b)
	ctx := context.Background()
	if _, err := e.es.Append(ctx, "ab", "warm", eventstore.Any, []eventstore.EventData{{ID: "w", Type: "T"}}); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16) // x GOMAXPROCS(2) = 32 writers
	var n int64
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		stream := fmt.Sprintf("s-%d", time.Now().UnixNano())
		exp := eventstore.NoStream
		i := 0
		for pb.Next() {
			res, err := e.es.Append(ctx, "ab", stream, exp, []eventstore.EventData{{ID: fmt.Sprint(i), Type: "T", Data: []byte(`{"a":1}`)}})
			if err != nil {
				b.Error(err)
				return
			}
			exp = eventstore.ExpectedVersion(res.LastVersion)
			i++
		}
	})
	n = int64(b.N)
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "appends/s")
}
