package eventstore

import (
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// ErrCorruptBatch is returned when a stored batch fails its CRC or header
// check on the read path (bytes damaged on disk after a clean stop, whose
// start skips the scan). The error names topic, partition and offset;
// `eddy log check` finds the batch offline.
var ErrCorruptBatch = errors.New("corrupt record batch in the log")

// Record headers of an event, per the CloudEvents Kafka protocol binding
// (binary content mode) plus Eddy's own.
const (
	HeaderID          = "ce_id"
	HeaderType        = "ce_type"
	HeaderSource      = "ce_source"
	HeaderSpecVersion = "ce_specversion"
	HeaderTime        = "ce_time"
	HeaderContentType = "content-type"
	// HeaderStreamVersion holds the event's version in its stream, decimal.
	HeaderStreamVersion = "eddy-stream-version"
	// HeaderMetadata holds the event's metadata JSON object, if any.
	HeaderMetadata = "eddy-metadata"
	// HeaderExpectedVersion on a record produced over the Kafka protocol
	// makes the append conditional: "any", "no_stream", "exists" or a
	// version number (see ParseExpected).
	HeaderExpectedVersion = "eddy-expected-version"
)

// Header is one record header of an event being written.
type Header struct {
	Key   string
	Value []byte
}

// Record is one decoded record (internal/record's). Key, Value and header
// values alias the batch or its decompressed copy, valid during the
// callback that receives it.
type Record = record.Record

// forEachRecord decodes every record of one batch (decompressing it if
// needed) and calls fn with a Record reused between calls. Control batches
// are skipped.
//
// The batch's CRC is verified first (a batch damaged on disk is an
// ErrCorruptBatch error, never decoded and served), and each record's
// offset is its place in the batch (BaseOffset + i): the offset delta a
// producer wrote is never trusted for positions.
func forEachRecord(h record.BatchHeader, batch []byte, fn func(r *Record) error) error {
	if _, err := record.CheckBatch(batch); err != nil {
		return fmt.Errorf("%w: batch at offset %d: %v", ErrCorruptBatch, h.BaseOffset, err)
	}
	if h.IsControl() {
		return nil
	}
	i := int32(0)
	return record.ForEachHeader(h, batch, func(_ *record.BatchHeader, r *Record) error {
		r.OffsetDelta, r.Offset = i, h.BaseOffset+int64(i)
		i++
		return fn(r)
	})
}

// forEachAppended is forEachRecord for batch i of an append the broker
// has validated (CRC checked, every record proven readable): the CRC is not
// checked again, and a compressed batch is read from the records section
// validation kept (broker.Append.Sections) instead of being decompressed a
// second time, under the partition lock.
func forEachAppended(a *broker.Append, i int, batch []byte, fn func(r *Record) error) error {
	h := a.Headers[i]
	if h.IsControl() {
		return nil
	}
	var recs []byte
	switch {
	case a.Sections != nil && a.Sections.Records[i] != nil:
		recs = a.Sections.Records[i]
	case h.Codec() == record.CodecNone && h.Size() >= record.BatchHeaderSize && h.Size() <= len(batch):
		recs = batch[record.BatchHeaderSize:h.Size()]
	default:
		return forEachRecord(h, batch, fn)
	}
	j := int32(0)
	return record.ForEachSection(h, recs, func(_ *record.BatchHeader, r *Record) error {
		r.OffsetDelta, r.Offset = j, h.BaseOffset+int64(j)
		j++
		return fn(r)
	})
}

// batchBuilder encodes one uncompressed RecordBatch v2 of plain records
// (no producer id) whose timestamps are relative to ts.
type batchBuilder struct {
	b  *record.Builder
	ts int64
}

func newBatchBuilder(ts int64) *batchBuilder {
	return &batchBuilder{b: record.NewBuilder(record.NewHeader(ts)), ts: ts}
}

// strHeader is a header whose value is a string (no []byte conversion).
type strHeader struct{ key, value string }

// addStr appends one record whose headers are strings, then extra ones.
func (bb *batchBuilder) addStr(ts int64, key, value []byte, headers []strHeader, extra []Header) {
	bb.b.BeginRecord(int32(bb.b.Len()), ts-bb.ts, key, value, len(headers)+len(extra))
	for _, h := range headers {
		bb.b.AddStringHeader(h.key, h.value)
	}
	for _, h := range extra {
		bb.b.AddHeader(h.Key, h.Value)
	}
	bb.b.EndRecord()
}

// add appends one record with key, value and headers at timestamp ts.
func (bb *batchBuilder) add(ts int64, key, value []byte, headers []Header) {
	bb.b.BeginRecord(int32(bb.b.Len()), ts-bb.ts, key, value, len(headers))
	for _, h := range headers {
		bb.b.AddHeader(h.Key, h.Value)
	}
	bb.b.EndRecord()
}

// finish fills in the header and CRC and returns the batch.
func (bb *batchBuilder) finish() []byte {
	b, _ := bb.b.Finish(record.CodecNone) // uncompressed: cannot fail
	return b
}
