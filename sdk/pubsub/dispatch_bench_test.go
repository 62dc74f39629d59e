package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

type benchOrder struct {
	ID    string  `json:"id"`
	Total float64 `json:"total"`
}

// benchRecords are n records as the Publisher writes them.
func benchRecords(tb testing.TB, n int) []*kgo.Record {
	rs := make([]*kgo.Record, n)
	for i := range rs {
		r, err := Message{Topic: "orders", Key: fmt.Sprint(i % 100), Type: "OrderCreated", Source: "bench",
			Data: benchOrder{ID: fmt.Sprint(i), Total: float64(i)}}.Record()
		if err != nil {
			tb.Fatal(err)
		}
		r.Timestamp = time.Now()
		rs[i] = r
	}
	return rs
}

// processCPU is the process's user+system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// cpuPerOp reports the process CPU time per operation (GC included):
// on a loaded machine a steadier measure than ns/op.
func cpuPerOp(b *testing.B) func() {
	c0 := processCPU()
	return func() { b.ReportMetric(float64((processCPU()-c0).Nanoseconds())/float64(b.N), "cpu-ns/op") }
}

// BenchmarkDispatch is the router's per-record path (reading the
// CloudEvents headers, finding the handler, decoding the data, calling
// it) beside the same work hand-written: the SDK's own CPU per event,
// without a broker. cpu-ns/op is the process CPU per record.
//
//	go test ./sdk/pubsub -run '^$' -bench Dispatch -benchmem
func BenchmarkDispatch(b *testing.B) {
	const batch = 500
	recs := benchRecords(b, batch)
	var sink float64
	h := func(_ context.Context, o benchOrder) error { sink += o.Total; return nil }
	ctx := context.Background()
	b.Run("kgo", func(b *testing.B) {
		defer cpuPerOp(b)()
		for i := 0; i < b.N; i++ {
			r := recs[i%batch]
			typ := ""
			for _, h := range r.Headers {
				if h.Key == HeaderType {
					typ = string(h.Value)
				}
			}
			if typ == "OrderCreated" {
				var o benchOrder
				if err := json.Unmarshal(r.Value, &o); err != nil {
					b.Fatal(err)
				}
				sink += o.Total
			}
		}
	})
	for _, c := range []struct {
		name string
		h    any
	}{{"reflect", h}, {"typed", Typed(h)}} {
		b.Run(c.name, func(b *testing.B) {
			r := NewRouter(nil, "g")
			r.Handle("orders", "OrderCreated", c.h)
			routes := r.routes
			defer cpuPerOp(b)()
			d := dispatcher{group: r.group}
			for i := 0; i < b.N; i += batch {
				n := min(batch, b.N-i)
				sl := getSlab(n)
				evs := d.events(sl.evs, recs[:n])
				hs := r.handlersOf(sl.hs, routes, evs)
				for j := range n {
					ev := &evs[j]
					if h := hs[j]; h != nil {
						if err := h(ctx, ev); err != nil {
							b.Fatal(err)
						}
					}
				}
				putSlab(sl)
			}
		})
	}
}
