package kafka_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
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

// BenchmarkFetchRaw measures the server's fetch path alone: a raw
// connection fetching the same 1 MiB of stored batches again and again
// (reads pooled, batches written with writev).
func BenchmarkFetchRaw(b *testing.B) {
	srv := kafkatest.Start(b)
	if _, err := srv.Broker.CreateTopic("raw", 1, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		b.Fatal(err)
	}
	val := string(make([]byte, 16<<10))
	for i := 0; i < 64; i++ {
		if _, err := srv.Broker.Append("raw", 0, makeBatch(1, val)); err != nil {
			b.Fatal(err)
		}
	}
	rc := dialRaw(b, srv.Addr)
	fr := fetchReq(1<<20, fetchPartReq{topic: "raw", max: 1 << 20})
	frameBytes := frame(fr, 11, 1)
	b.ReportAllocs()
	b.ResetTimer()
	var total int64
	var size [4]byte
	buf := make([]byte, 2<<20)
	for i := 0; i < b.N; i++ {
		rc.write(frameBytes)
		if _, err := io.ReadFull(rc.c, size[:]); err != nil {
			b.Fatal(err)
		}
		n := int(binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(rc.c, buf[:n]); err != nil {
			b.Fatal(err)
		}
		total += int64(n)
	}
	b.SetBytes(total / int64(b.N))
}
