package views_test

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/views"
)

// perfBatch builds a batch of n records as cmd/eddy's TestViewPerformance
// produces them (key order-N, header ce_type, ~1 KiB JSON value, 10 % with
// total > 1000), compressed with codec (franz-go's compressor).
func perfBatch(tb testing.TB, base int64, n int, codec kgo.CompressionCodec, attr int16) []byte {
	tb.Helper()
	note := strings.Repeat("x", 920)
	var recs []byte
	for i := range n {
		j := int(base) + i
		total := 100 + j%900
		if j%10 == 0 {
			total = 1001 + j%5000
		}
		typ := "OrderCreated"
		if j%10 == 5 {
			typ = "OrderCancelled"
		}
		r := kmsg.NewRecord()
		r.TimestampDelta64 = int64(i)
		r.OffsetDelta = int32(i)
		r.Key = fmt.Appendf(nil, "order-%d", j%1000)
		r.Value = fmt.Appendf(nil, `{"id":"order-%d","total":%d,"region":"EU","note":"%s"}`, j, total, note)
		r.Headers = []kmsg.Header{{Key: "ce_type", Value: []byte(typ)}}
		r.Length = int32(len(r.AppendTo(nil)) - 1)
		recs = r.AppendTo(recs)
	}
	if attr != 0 {
		comp, err := kgo.DefaultCompressor(codec)
		if err != nil {
			tb.Fatal(err)
		}
		var buf bytes.Buffer
		c, _ := comp.Compress(&buf, recs)
		recs = append([]byte(nil), c...)
	}
	b := kmsg.RecordBatch{FirstOffset: base, Magic: 2, Attributes: attr, LastOffsetDelta: int32(n - 1),
		FirstTimestamp: 1000, MaxTimestamp: 1000 + int64(n-1), ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1,
		NumRecords: int32(n), Records: recs, Length: int32(49 + len(recs))}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], crc32.MakeTable(crc32.Castagnoli)))
	return raw
}

// BenchmarkViewScan measures the broker's per-record scan of a view: one
// 1,000-record batch of ~1 KiB JSON records (snappy, as franz-go sends
// by default, uncompressed, and the other codecs) filtered to the 10 %
// that match, sent uncompressed or recompressed. cpu-ns/record is the process's CPU time
// per source record scanned (steadier than wall time on a busy machine).
//
//	go test -run XXX -bench ViewScan -cpuprofile cpu.out ./internal/views
func BenchmarkViewScan(b *testing.B) {
	const n = 1000
	for _, c := range []struct {
		name  string
		codec kgo.CompressionCodec
		attr  int16
	}{{"snappy", kgo.SnappyCompression(), 2}, {"none", kgo.NoCompression(), 0}, {"gzip", kgo.GzipCompression(), 1},
		{"lz4", kgo.Lz4Compression(), 3}, {"zstd", kgo.ZstdCompression(), 4}} {
		in := perfBatch(b, 0, n, c.codec, c.attr)
		h, err := record.CheckBatch(in)
		if err != nil {
			b.Fatal(err)
		}
		for _, expr := range []string{`value.total > 1000`, `headers["ce_type"] == "OrderCancelled"`} {
			prog, err := filter.Compile(expr)
			if err != nil {
				b.Fatal(err)
			}
			for _, keep := range []bool{false, true} {
				if keep && c.attr == 0 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s/keepCodec=%v", c.name, expr, keep), func(b *testing.B) {
					f := views.Filter{Prog: prog}
					if keep {
						f.KeepCodec = func(record.Codec) bool { return true }
					}
					var out []byte
					var st views.Stats
					b.ReportAllocs()
					b.SetBytes(int64(len(in)))
					cpu0 := processCPU()
					for b.Loop() {
						out, err = f.AppendBatch(out[:0], in, &h, &st)
						if err != nil {
							b.Fatal(err)
						}
					}
					if st.Matched != st.Records/10 {
						b.Fatalf("matched %d of %d", st.Matched, st.Records)
					}
					b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(st.Records), "cpu-ns/record")
					b.ReportMetric(float64(len(out)), "out-bytes")
				})
			}
		}
	}
}

// processCPU is the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
