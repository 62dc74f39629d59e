package kafka_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// BenchmarkProduceACLs measures end-to-end produce through kgo (acks=all,
// 1 KiB records, linger off, 8 partitions, fsync=never so the broker's CPU
// is what is measured) with no authorizer, with the ACL authorizer and
// only the ACLs the producer needs, and with 10,000 other ACLs besides
// (literal and prefixed, 500 principals): the target is that
// 10,000 ACLs cost at most 5 % of the records/s.
//
//	go test ./internal/kafka -run '^$' -bench ProduceACLs -benchmem -count 3
func BenchmarkProduceACLs(b *testing.B) {
	for _, n := range []int{-1, 0, 10000} {
		name := fmt.Sprintf("acls=%d", n)
		if n < 0 {
			name = "authorizer=none"
		}
		b.Run(name, func(b *testing.B) {
			cl := aclBenchServer(b, n)
			b.SetBytes(1024)
			b.ReportAllocs()
			b.ResetTimer()
			produceN(b, cl, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// BenchmarkProduceACLsInterleaved is the same comparison made robust to a
// shared, noisy machine: three nodes (no authorizer, the needed ACLs only,
// 10,000 ACLs besides) run side by side and take turns producing bursts
// of records, round after round, so that load from elsewhere hits all
// three alike; it reports each node's median records/s and the ratio of
// 10,000 ACLs to none.
//
//	go test ./internal/kafka -run '^$' -bench ProduceACLsInterleaved -benchtime 1x
func BenchmarkProduceACLsInterleaved(b *testing.B) {
	const rounds, burst = 15, 20000
	ns := []int{-1, 0, 10000}
	cls := make([]*kgo.Client, len(ns))
	for i, n := range ns {
		cls[i] = aclBenchServer(b, n)
		produceN(b, cls[i], burst) // warm up
	}
	rates := make([][]float64, len(ns))
	b.ResetTimer()
	for range b.N {
		for r := range rounds {
			for k := range ns {
				i := (r + k) % len(ns) // each node goes first in turn
				start := time.Now()
				produceN(b, cls[i], burst)
				rates[i] = append(rates[i], burst/time.Since(start).Seconds())
			}
		}
	}
	b.StopTimer()
	med := make([]float64, len(ns))
	for i := range ns {
		slices.Sort(rates[i])
		med[i] = rates[i][len(rates[i])/2]
	}
	b.ReportMetric(med[0], "none_records/s")
	b.ReportMetric(med[1], "acls0_records/s")
	b.ReportMetric(med[2], "acls10000_records/s")
	b.ReportMetric(med[2]/med[0], "ratio_10000_vs_none")
	b.ReportMetric(med[2]/med[1], "ratio_10000_vs_0")
}

// aclBenchServer starts a node with n ACLs (-1: no authorizer) and
// returns a producer client for its 8-partition fsync=never topic.
func aclBenchServer(b *testing.B, n int) *kgo.Client {
	b.Helper()
	var opts []kafkatest.Option
	if n >= 0 {
		opts = append(opts, kafkatest.WithNodeConfig(func(c *node.Config) { c.ACL = &acl.Options{} }))
	}
	srv := kafkatest.Start(b, opts...)
	if _, err := srv.Broker.CreateTopic("bench", 8, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		b.Fatal(err)
	}
	if n >= 0 {
		bs := make([]acl.Binding, 0, n+2)
		for i := range n {
			pt := kmsg.ACLResourcePatternTypeLiteral
			if i%4 == 0 {
				pt = kmsg.ACLResourcePatternTypePrefixed
			}
			bs = append(bs, acl.Binding{ResourceType: kmsg.ACLResourceTypeTopic, ResourceName: fmt.Sprintf("team%d.topic%d", i%97, i), PatternType: pt,
				Principal: fmt.Sprintf("User:u%d", i%500), Host: "*", Operation: kmsg.ACLOperationWrite, Permission: kmsg.ACLPermissionTypeAllow})
		}
		bs = append(bs, allowACL(kmsg.ACLOperationWrite, kmsg.ACLResourceTypeTopic, "bench"), clusterACL(kmsg.ACLOperationIdempotentWrite))
		if _, err := srv.Node.ACL.Create(bs); err != nil {
			b.Fatal(err)
		}
		if srv.Node.ACL.Len() != n+2 {
			b.Fatalf("%d ACLs, want %d", srv.Node.ACL.Len(), n+2)
		}
	}
	return srv.Client(b, kgo.DefaultProduceTopic("bench"), kgo.ProducerLinger(0), kgo.MaxBufferedRecords(1<<20))
}

// produceN produces n 1 KiB records and waits for every acknowledgement.
func produceN(b *testing.B, cl *kgo.Client, n int) {
	val := make([]byte, 1024)
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	for range n {
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
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}
