package sdk_test

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/sdk/pubsub"
)

// groupSeq numbers the benchmark's consumer groups.
var groupSeq atomic.Int64

// cpuTime is the process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRouterVsKgo consumes the same events (decode the JSON data,
// dispatch on ce_type, commit) once through a Router with typed handlers
// and once with hand-written franz-go code, each in a new consumer group,
// the three variants in turn in every iteration. It reports the process's
// CPU time per event of each (server included, the same for all) and the
// Router's CPU over franz-go's in percent.
//
//	go test ./test/sdk -run '^$' -bench RouterVsKgo -benchtime 3x
func BenchmarkRouterVsKgo(b *testing.B) {
	const events = 50000
	k := startKafkaNode(b)
	ctx := context.Background()
	k.topic(b, "orders", 1)
	msgs := make([]pubsub.Message, 0, 1000)
	for i := range events {
		msgs = append(msgs, pubsub.Message{Topic: "orders", Key: fmt.Sprint(i % 100), Type: "OrderCreated", Data: orderCreated{ID: fmt.Sprint(i), Total: float64(i)}})
		if len(msgs) == cap(msgs) {
			if err := k.pub.Publish(ctx, msgs...); err != nil {
				b.Fatal(err)
			}
			msgs = msgs[:0]
		}
	}
	var sink atomic.Int64
	runPubsub := func(group string, typed bool) {
		var n atomic.Int64
		all := make(chan struct{})
		r := pubsub.NewRouter(k.brokers, group)
		h := func(ctx context.Context, o orderCreated) error {
			sink.Add(int64(o.Total))
			if n.Add(1) == events {
				close(all)
			}
			return nil
		}
		if typed {
			r.Handle("orders", "OrderCreated", pubsub.Typed(h))
		} else {
			r.Handle("orders", "OrderCreated", h)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- r.Run(rctx) }()
		<-all
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}
	run := map[string]func(group string){
		"kgo": func(group string) {
			cl, err := kgo.NewClient(kgo.SeedBrokers(k.brokers...), kgo.ConsumerGroup(group), kgo.ConsumeTopics("orders"),
				kgo.DisableAutoCommit(), kgo.BlockRebalanceOnPoll())
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			n := 0
			for n < events {
				fs := cl.PollRecords(ctx, 500)
				var last *kgo.Record
				fs.EachRecord(func(r *kgo.Record) {
					typ := ""
					for _, h := range r.Headers {
						if h.Key == pubsub.HeaderType {
							typ = string(h.Value)
						}
					}
					if typ == "OrderCreated" {
						var o orderCreated
						if err := json.Unmarshal(r.Value, &o); err != nil {
							b.Error(err)
						}
						sink.Add(int64(o.Total))
					}
					n++
					last = r
				})
				if last != nil {
					if err := cl.CommitRecords(ctx, last); err != nil {
						b.Error(err)
					}
				}
				cl.AllowRebalance()
			}
		},
		"pubsub":       func(group string) { runPubsub(group, false) },
		"pubsub-typed": func(group string) { runPubsub(group, true) },
	}
	// Each iteration runs the three variants in turn, starting with a
	// different one each time, so that they share the machine's load;
	// the overheads are ratios of CPU measured in the same minutes.
	names := []string{"kgo", "pubsub", "pubsub-typed"}
	cpu := map[string]time.Duration{}
	gcs := map[string]uint32{}
	var ms runtime.MemStats
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := range names {
			name := names[(i+j)%len(names)]
			runtime.ReadMemStats(&ms)
			c0, gc0 := cpuTime(), ms.NumGC
			// A group name never used before: one already used (as with
			// -count 2, where b.N repeats) has committed the end of the
			// topic and would wait forever for events that do not come.
			run[name](fmt.Sprintf("%s-%d", name, groupSeq.Add(1)))
			cpu[name] += cpuTime() - c0
			runtime.ReadMemStats(&ms)
			gcs[name] += ms.NumGC - gc0
		}
	}
	per := func(name string) float64 { return float64(cpu[name].Nanoseconds()) / float64(b.N*events) }
	b.ReportMetric(per("kgo"), "kgo-cpu-ns/event")
	b.ReportMetric(per("pubsub"), "reflective-cpu-ns/event")
	b.ReportMetric(per("pubsub-typed"), "typed-cpu-ns/event")
	b.ReportMetric(100*(per("pubsub")/per("kgo")-1), "reflective-over-kgo-%")
	b.ReportMetric(100*(per("pubsub-typed")/per("kgo")-1), "typed-over-kgo-%")
	for _, name := range names {
		b.ReportMetric(float64(gcs[name])/float64(b.N), name+"-gc/run")
	}
	b.ReportMetric(float64(time.Since(start).Nanoseconds())/float64(3*b.N*events), "wall-ns/event")
}
