package eventstore_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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
			c, br := startServerBroker(b)
			if _, err := br.CreateTopic("bench", 1, map[string]string{"eddy.streams": "true", "eddy.fsync": bc.fsync}, false); err != nil {
				b.Fatal(err)
			}
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
			// Load the topic before timing.
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
