package views

import (
	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/record"
)

// Filter rewrites stored batches without the records its program does not
// match (record.Filtered with a CEL program). A Filter is not safe for
// concurrent use; it reuses its buffers from batch to batch, so filtering
// allocates nothing of its own.
type Filter struct {
	Prog      *filter.Program
	Partition int32
	// KeepCodec says, per codec, whether a compressed batch whose
	// records only partly match is recompressed with its codec (true) or
	// sent uncompressed (see record.Filtered); nil sends all uncompressed.
	// CheapCodecs is the broker's choice.
	KeepCodec func(record.Codec) bool
	// Min drops records below this offset (those before a fetch's
	// offset, which consumers would skip anyway).
	Min int64

	f    record.Filtered
	m    *filter.Matcher // Prog's, reused while Prog stays the same
	rec  filter.Record
	keep func(*record.Record) bool
}

// CheapCodecs reports whether filtered batches of codec c are worth
// recompressing: snappy and lz4 compress at gigabytes per second, so
// recompressing the matching records costs the broker less CPU than
// writing them uncompressed (a tenth of the bytes on the socket for JSON
// records; BenchmarkViewScan, and the broker's CPU per view fetch in
// cmd/eddy's TestViewPerformance), and the consumer reads a tenth of the
// bytes. gzip and zstd cost more to compress than the bytes they save, so
// their filtered batches are sent uncompressed.
func CheapCodecs(c record.Codec) bool { return c == record.CodecSnappy || c == record.CodecLZ4 }

// Stats counts what Filter calls saw.
type Stats struct {
	Batches, Records, Matched int64
	// Bytes is the stored size of the batches scanned.
	Bytes int64
}

func (f *Filter) match(r *record.Record) bool {
	if r.Offset < f.Min {
		return false
	}
	f.rec = filter.Record{Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp, Partition: f.Partition, Offset: r.Offset}
	return f.m.Match(&f.rec)
}

// AppendBatch appends to dst the batch (one whole stored RecordBatch, h
// its parsed header) keeping only the records that match; see
// record.Filtered.AppendBatch.
func (f *Filter) AppendBatch(dst, batch []byte, h *record.BatchHeader, st *Stats) ([]byte, error) {
	if f.keep == nil {
		f.keep = f.match
	}
	if f.m == nil || f.m.Program() != f.Prog {
		f.m = f.Prog.Matcher()
	}
	f.f.KeepCodec = f.KeepCodec != nil && f.KeepCodec(h.Codec())
	st.Batches++
	st.Bytes += int64(len(batch))
	out, seen, kept, err := f.f.AppendBatch(dst, batch, h, f.keep)
	st.Records += int64(seen)
	st.Matched += int64(kept)
	f.rec = filter.Record{}
	return out, err
}
