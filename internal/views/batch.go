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
	// KeepCodec recompresses filtered compressed batches (see
	// record.Filtered); false sends them uncompressed.
	KeepCodec bool
	// Min drops records below this offset (those before a fetch's
	// offset, which consumers would skip anyway).
	Min int64

	f    record.Filtered
	rec  filter.Record
	keep func(*record.Record) bool
}

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
	return f.Prog.Match(&f.rec)
}

// AppendBatch appends to dst the batch (one whole stored RecordBatch, h
// its parsed header) keeping only the records that match; see
// record.Filtered.AppendBatch.
func (f *Filter) AppendBatch(dst, batch []byte, h *record.BatchHeader, st *Stats) ([]byte, error) {
	if f.keep == nil {
		f.keep = f.match
	}
	f.f.KeepCodec = f.KeepCodec
	st.Batches++
	st.Bytes += int64(len(batch))
	out, seen, kept, err := f.f.AppendBatch(dst, batch, h, f.keep)
	st.Records += int64(seen)
	st.Matched += int64(kept)
	f.rec = filter.Record{}
	return out, err
}
