package kafka_test

import (
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestConcurrentProducersKeepOrder: several clients produce keyed records
// to a multi-partition topic at once (pipelined, idempotent, one
// group-commit fsync per round) while a consumer reads; every record
// arrives exactly once and each producer's records stay in order within a
// partition. EDDY_LONG=1 runs ten times more.
func TestConcurrentProducersKeepOrder(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("conc", 4, nil, false); err != nil {
		t.Fatal(err)
	}
	const producers = 4
	perProducer := 2000
	if os.Getenv("EDDY_LONG") == "1" {
		perProducer *= 10
	}
	ctx := ctxT(t, 60*time.Second)
	cons := srv.Client(t, kgo.ConsumeTopics("conc"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := 0; p < producers; p++ {
		cl := srv.Client(t, kgo.DefaultProduceTopic("conc"), kgo.ProducerLinger(time.Millisecond))
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pw sync.WaitGroup
			for i := 0; i < perProducer; i++ {
				pw.Add(1)
				key := fmt.Sprintf("p%d-k%d", p, i%8)
				cl.Produce(ctx, &kgo.Record{Key: []byte(key), Value: []byte(fmt.Sprintf("%d/%d", p, i))}, func(_ *kgo.Record, err error) {
					if err != nil {
						select {
						case errs <- err:
						default:
						}
					}
					pw.Done()
				})
			}
			pw.Wait()
		}()
	}
	seen := map[string]bool{}
	last := map[string]int{} // key → last sequence seen
	total := producers * perProducer
	for len(seen) < total {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d: %v", len(seen), total, ctx.Err())
		}
		fs.EachRecord(func(r *kgo.Record) {
			v := string(r.Value)
			if seen[v] {
				t.Fatalf("duplicate %s", v)
			}
			seen[v] = true
			var p, i int
			fmt.Sscanf(v, "%d/%d", &p, &i)
			k := string(r.Key)
			if prev, ok := last[k]; ok && i <= prev {
				t.Fatalf("key %s: %d after %d", k, i, prev)
			}
			last[k] = i
		})
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatalf("produce: %v", err)
	default:
	}
}
