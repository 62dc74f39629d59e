package sdk_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// TestLoadgenRandomAppends drives a running `eddy serve` for the 10 M-stream
// RSS measurement (docs/benchmarks.md, "10,000,000 streams"): EDDY_LOADGEN_CLIENTS
// (default 32) SDK clients, each appending one event with expectedVersion
// any to a random existing stream order-N (N < EDDY_LOADGEN_STREAMS, default
// 10,000,000) of topic EDDY_LOADGEN_TOPIC (default many) for
// EDDY_LOADGEN_SECONDS (default 15). It runs only when EDDY_LOADGEN_URL names
// the server's HTTP base URL, e.g. http://127.0.0.1:8080. Errors are
// counted (the server may be killed mid-run on purpose), not fatal.
// With EDDY_LOADGEN_OWN set, each client appends to a stream of its own
// with exact expected versions instead (the single-event append target of
// issue 6, against a real server).
func TestLoadgenRandomAppends(t *testing.T) {
	base := os.Getenv("EDDY_LOADGEN_URL")
	if base == "" {
		t.Skip("set EDDY_LOADGEN_URL to drive a running eddy serve")
	}
	env := func(k string, def int) int {
		if v := os.Getenv(k); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				t.Fatalf("%s=%q", k, v)
			}
			return n
		}
		return def
	}
	clients := env("EDDY_LOADGEN_CLIENTS", 32)
	streams := env("EDDY_LOADGEN_STREAMS", 10_000_000)
	secs := env("EDDY_LOADGEN_SECONDS", 15)
	topic := os.Getenv("EDDY_LOADGEN_TOPIC")
	if topic == "" {
		topic = "many"
	}
	cl, err := eventstore.New(base, benchClientOpts(t)...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second)
	defer cancel()
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	data := []byte(`{"qty":2}`)
	start := time.Now()
	var wg sync.WaitGroup
	own := os.Getenv("EDDY_LOADGEN_OWN") != ""
	run := time.Now().UnixNano()
	for w := 0; w < clients; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var exp eventstore.ExpectedVersion = eventstore.NoStream{}
			for ctx.Err() == nil {
				stream := "order-" + strconv.Itoa(rand.IntN(streams))
				expected := eventstore.ExpectedVersion(eventstore.Any{})
				if own {
					stream, expected = fmt.Sprintf("own-%d-%d", run, w), exp
				}
				res, err := cl.Append(ctx, topic, stream, expected, eventstore.EventData{ID: eventstore.NewID(), Type: "ItemAdded", Data: data})
				switch {
				case err == nil:
					ok.Add(1)
					exp = eventstore.Version(res.LastVersion)
				case ctx.Err() == nil:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprint(err))
					time.Sleep(10 * time.Millisecond) // the server is down: do not spin
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	t.Logf("%d appends in %.1f s = %.0f/s, %d errors (first: %v)", ok.Load(), el, float64(ok.Load())/el, failed.Load(), firstErr.Load())
}
