package kafka_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// BenchmarkProduce measures end-to-end produce through kgo (acks=all,
// 100-byte records, linger off, 8 partitions) for each fsync policy.
func BenchmarkProduce(b *testing.B) {
	for _, fsync := range []string{"always", "never"} {
		b.Run("fsync="+fsync, func(b *testing.B) {
			srv := kafkatest.Start(b)
			if _, err := srv.Broker.CreateTopic("bench", 8, map[string]string{"eddy.fsync": fsync}, false); err != nil {
				b.Fatal(err)
			}
			cl := srv.Client(b, kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<20))
			val := make([]byte, 100)
			ctx := context.Background()
			b.SetBytes(int64(len(val)))
			b.ReportAllocs()
			b.ResetTimer()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var firstErr error
			for i := 0; i < b.N; i++ {
				wg.Add(1)
				cl.Produce(ctx, &kgo.Record{Value: val}, func(_ *kgo.Record, err error) {
					if err != nil {
						mu.Lock()
						firstErr = err
						mu.Unlock()
					}
					wg.Done()
				})
			}
			wg.Wait()
			b.StopTimer()
			if firstErr != nil {
				b.Fatal(firstErr)
			}
		})
	}
}

// BenchmarkFetch measures consuming stored records through kgo.
func BenchmarkFetch(b *testing.B) {
	srv := kafkatest.Start(b)
	if _, err := srv.Broker.CreateTopic("bench", 1, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		b.Fatal(err)
	}
	prod := srv.Client(b, kgo.DefaultProduceTopic("bench"), kgo.MaxBufferedRecords(1<<20))
	val := make([]byte, 100)
	n := max(b.N, 1000)
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Value: val}
	}
	if err := prod.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(val)))
	b.ReportAllocs()
	b.ResetTimer()
	cons := srv.Client(b, kgo.ConsumeTopics("bench"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	got := 0
	for got < b.N {
		fs := cons.PollFetches(ctx)
		if ctx.Err() != nil {
			b.Fatal(fmt.Errorf("fetched %d of %d: %w", got, b.N, ctx.Err()))
		}
		got += len(fs.Records())
	}
}
