package eventstore

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// BenchmarkManyStreams indexes one event in each of many streams (default
// 1,000,000; EDDY_LONG=1: 10,000,000), written by Kafka-style batches of
// 1,000 keyed records, and reports the live Go heap afterwards (bounded
// by the heads cache, not the number of streams), the index file size,
// and how long opening the store takes with the index present (restart)
// and lost (full rebuild from the log).
func BenchmarkManyStreams(b *testing.B) {
	streams := 1_000_000
	if os.Getenv("EDDY_LONG") == "1" {
		streams = 10_000_000
	}
	dir := b.TempDir()
	idx := filepath.Join(dir, "streams.idx")
	br, es := openDiskStore(b, dir, Config{Path: idx})
	if _, err := br.CreateTopic("many", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		b.Fatal(err)
	}
	if _, err := es.EnsureTopic("many"); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for s := 0; s < streams; s += 1000 {
			bb := newBatchBuilder(time.Now().UnixMilli())
			for k := s; k < s+1000 && k < streams; k++ {
				bb.add(bb.ts, []byte("order-"+strconv.Itoa(k)), []byte(`{"qty":1}`), nil)
			}
			if _, err := br.Append("many", 0, bb.finish()); err != nil {
				b.Fatal(err)
			}
		}
	}
	if err := es.Flush(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	// Twice: sync.Pool victims (bbolt's page buffers) survive one GC.
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(float64(ms.HeapAlloc)/(1<<20), "live-heap-MB")
	b.ReportMetric(float64(ms.HeapInuse)/(1<<20), "heap-inuse-MB")
	if err := es.Close(); err != nil {
		b.Fatal(err)
	}
	if fi, err := os.Stat(idx); err == nil {
		b.ReportMetric(float64(fi.Size())/(1<<20), "index-MB")
	}
	var err error
	start := time.Now()
	es, err = recoverStore(br, Config{Path: idx})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "reopen-ms")
	if v, err := es.Head("many", "order-"+strconv.Itoa(streams-1)); err != nil || v != int64(b.N-1) {
		b.Fatalf("head after reopen: %d, %v", v, err)
	}
	if err := es.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(idx); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	es, err = recoverStore(br, Config{Path: idx})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(time.Since(start).Milliseconds()), "rebuild-ms")
	if err := es.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkHookPlainTopic is what the event store adds to every produce
// to a topic without eddy.streams: a map lookup and a byte search of the
// batch for the eddy-expected-version header (16 KiB batches of 140
// 100-byte JSON records).
func BenchmarkHookPlainTopic(b *testing.B) {
	s := &Store{}
	s.mu.parts = map[partKey]*partIndex{}
	s.mu.plain = map[string]bool{"plain": true}
	bb := newBatchBuilder(time.Now().UnixMilli())
	val := []byte(`{"order_id":"8c3e0d2a","customer":"c-1029","total":129.95,"status":"pending","items":3,"region":"eu"}`)
	for i := 0; i < 140; i++ {
		bb.add(bb.ts, []byte("order-"+strconv.Itoa(i)), val, nil)
	}
	batch := bb.finish()
	h, err := record.CheckBatch(batch)
	if err != nil {
		b.Fatal(err)
	}
	hs := []record.BatchHeader{h}
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := s.CheckAppend(broker.Append{Topic: "plain", Headers: hs, Batches: batch}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkHookStreamsCompressed is a Kafka produce to an event-store
// topic (eddy.streams=true, fsync=never) of Snappy batches of 100 1-KiB
// JSON records in 100 streams: validation, the event store's per-record
// check and indexing, and the append.
func BenchmarkHookStreamsCompressed(b *testing.B) {
	dir := b.TempDir()
	br, es := openDiskStore(b, dir, Config{Path: filepath.Join(dir, "streams.idx")})
	defer es.Close()
	if _, err := br.CreateTopic("s", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		b.Fatal(err)
	}
	if err := es.refresh(); err != nil { // index the new topic now
		b.Fatal(err)
	}
	val := []byte(`{"order_id":"8c3e0d2a","customer":"c-1029","total":129.95,"status":"pending","items":3,"region":"eu","note":"` + strings.Repeat("n", 900) + `"}`)
	bld := record.NewBuilder(record.NewHeader(time.Now().UnixMilli()))
	for i := 0; i < 100; i++ {
		bld.BeginRecord(int32(i), 0, []byte("order-"+strconv.Itoa(i)), val, 1)
		bld.AddStringHeader("ce_type", "OrderCreated")
		bld.EndRecord()
	}
	batch, err := bld.Finish(record.CodecSnappy)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(100 * len(val)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := br.Write("s", 0, batch, broker.WriteOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
