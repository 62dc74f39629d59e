package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/record"
)

// BenchmarkViewFetch measures the server's view fetch path on the data of
// cmd/eddy's TestViewPerformance: 40,000 ~1 KiB JSON records in 4
// partitions, produced by franz-go (snappy, its default), 10 % of them
// with total > 1000 and 10 % with the header ce_type=OrderCancelled. One
// iteration reads a whole view from offset 0 with fetch requests as a
// franz-go consumer sends them (50 MiB per request, 8 MiB per partition,
// every partition in each request), following the returned offsets until
// every partition reaches its high watermark. It reports source records
// scanned per second, the process's CPU time per source record (server and
// the fetching client, which only frames requests and slices responses)
// and the matching bytes delivered per iteration.
//
//	go test -run XXX -bench ViewFetch -cpuprofile cpu.out ./internal/kafka
func BenchmarkViewFetch(b *testing.B) {
	const n, parts = 40000, 4
	srv := kafkatest.Start(b)
	if _, err := srv.Broker.CreateTopic("perf", parts, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		b.Fatal(err)
	}
	prod := srv.Client(b, kgo.ProducerLinger(5*time.Millisecond), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(1<<20))
	ctx := context.Background()
	note := strings.Repeat("x", 920)
	var recs []*kgo.Record
	for i := range n {
		total := 100 + i%900
		if i%10 == 0 {
			total = 1001 + i%5000
		}
		typ := "OrderCreated"
		if i%10 == 5 {
			typ = "OrderCancelled"
		}
		recs = append(recs, &kgo.Record{Topic: "perf", Key: fmt.Appendf(nil, "order-%d", i%1000),
			Value:   fmt.Appendf(nil, `{"id":"order-%d","total":%d,"region":"EU","note":"%s"}`, i, total, note),
			Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte(typ)}}})
		if len(recs) == 5000 || i == n-1 {
			if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				b.Fatal(err)
			}
			recs = recs[:0]
		}
	}
	for _, v := range [][2]string{{"perf-big", "value.total > 1000"}, {"perf-cancelled", `headers["ce_type"] == "OrderCancelled"`}} {
		if _, err := srv.Broker.CreateView(v[0], "perf", v[1], -1, false); err != nil {
			b.Fatal(err)
		}
	}
	cl := srv.Client(b)
	for _, topic := range []string{"perf-big", "perf-cancelled", "perf"} {
		info, err := srv.Broker.Topic(topic)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(topic, func(b *testing.B) {
			var bytes, rounds int64
			cpu0 := processCPU()
			for b.Loop() {
				offsets := make([]int64, parts)
				for done := 0; done < parts; {
					rounds++
					req := kmsg.NewPtrFetchRequest()
					req.MaxBytes, req.MaxWaitMillis, req.SessionEpoch = 50<<20, 0, -1
					rt := kmsg.NewFetchRequestTopic()
					rt.Topic, rt.TopicID = topic, info.ID // kgo sends the highest version both sides know
					for p := range int32(parts) {
						if offsets[p] < 0 {
							continue
						}
						rp := kmsg.NewFetchRequestTopicPartition()
						rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = p, offsets[p], 8<<20
						rt.Partitions = append(rt.Partitions, rp)
					}
					req.Topics = append(req.Topics, rt)
					resp, err := req.RequestWith(ctx, cl)
					if err != nil {
						b.Fatal(err)
					}
					for _, t := range resp.Topics {
						for _, p := range t.Partitions {
							if p.ErrorCode != 0 {
								b.Fatalf("partition %d: error %d", p.Partition, p.ErrorCode)
							}
							bytes += int64(len(p.RecordBatches))
							for pos := 0; pos+record.BatchHeaderSize <= len(p.RecordBatches); {
								h, err := record.ParseBatchHeader(p.RecordBatches[pos:])
								if err != nil {
									b.Fatal(err)
								}
								offsets[p.Partition] = h.LastOffset() + 1
								pos += h.Size()
							}
							if offsets[p.Partition] >= p.HighWatermark {
								offsets[p.Partition] = -1
								done++
							}
						}
					}
				}
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "records/s")
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(n*b.N), "cpu-ns/record")
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/op")
			b.ReportMetric(float64(rounds)/float64(b.N), "fetches/op")
		})
	}
}
