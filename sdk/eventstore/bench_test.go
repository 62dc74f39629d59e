package eventstore_test

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// BenchmarkHTTPAppend measures appends with expected-version checks over
// real HTTP (SDK client → httpapi → event store → broker, fsync=always):
// 32 concurrent clients, each appending to its own stream with the version
// it last wrote as the expected version. events/s is the target metric
// (docs/benchmarks.md).
func BenchmarkHTTPAppend(b *testing.B) {
	for _, per := range []int{1, 100} {
		b.Run(fmt.Sprintf("events=%d", per), func(b *testing.B) {
			c := startServer(b)
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
			defer hc.CloseIdleConnections()
			base := c.BaseURL()
			cl, err := eventstore.New(base, eventstore.HTTPClient(hc))
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			data := []byte(`{"sku":"A-1","qty":2,"price":19.99}`)
			const clients = 32
			// Create the topic before timing.
			if _, err := cl.Append(ctx, "bench", "warm", eventstore.Any{}, eventstore.EventData{ID: "w", Type: "T"}); err != nil {
				b.Fatal(err)
			}
			var next atomic.Int64
			var wg sync.WaitGroup
			errc := make(chan error, clients)
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
			close(errc)
			for err := range errc {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "appends/s")
			b.ReportMetric(float64(b.N*per)/elapsed.Seconds(), "events/s")
		})
	}
}
