package eventstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/commitlog"
)

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

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is one record header.
type Header struct {
	Key   string
	Value []byte
}

// Record is one decoded record of a RecordBatch v2. Key, Value and header
// values alias the batch (or its decompressed copy).
type Record struct {
	Offset    int64
	Timestamp int64
	Key       []byte // nil for a null key
	Value     []byte
	Headers   []Header
}

// Header returns the value of the first header named k.
func (r *Record) Header(k string) ([]byte, bool) {
	for _, h := range r.Headers {
		if h.Key == k {
			return h.Value, true
		}
	}
	return nil, false
}

// errShort is the sticky decode error of records.
var errShort = errors.New("record runs past the batch end")

type decoder struct {
	b   []byte
	err error
}

func (d *decoder) varint() int64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.err = errShort
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) bytes(n int64) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 {
		return nil
	}
	if n > int64(len(d.b)) {
		d.err = errShort
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

var decompressor = kgo.DefaultDecompressor()

// recordsOf returns the records section of a batch, decompressed.
func recordsOf(h commitlog.BatchHeader, batch []byte) ([]byte, error) {
	if len(batch) < h.Size() || h.Size() < commitlog.BatchHeaderSize {
		return nil, fmt.Errorf("batch at offset %d: %w", h.BaseOffset, errShort)
	}
	raw := batch[commitlog.BatchHeaderSize:h.Size()]
	c := h.Compression()
	if c == 0 {
		return raw, nil
	}
	out, err := decompressor.Decompress(raw, kgo.CompressionCodecType(c))
	if err != nil {
		return nil, fmt.Errorf("decompress batch at offset %d (codec %d): %w", h.BaseOffset, c, err)
	}
	return out, nil
}

// forEachRecord decodes every record of one batch (decompressing it if
// needed) and calls fn with a Record reused between calls. Control batches
// are skipped.
func forEachRecord(h commitlog.BatchHeader, batch []byte, fn func(r *Record) error) error {
	if h.Attributes&commitlog.AttrControl != 0 {
		return nil
	}
	data, err := recordsOf(h, batch)
	if err != nil {
		return err
	}
	d := decoder{b: data}
	var r Record
	logAppend := h.Attributes&commitlog.AttrTimestampLogAppend != 0
	for i := int32(0); i < h.RecordCount; i++ {
		length := d.varint()
		if d.err == nil && (length < 0 || length > int64(len(d.b))) {
			d.err = errShort
		}
		if d.err != nil {
			break
		}
		rd := decoder{b: d.b[:length]}
		d.b = d.b[length:]
		if len(rd.b) < 1 {
			d.err = errShort
			break
		}
		rd.b = rd.b[1:] // attributes
		tsDelta := rd.varint()
		offDelta := rd.varint()
		r.Key = rd.bytes(rd.varint())
		r.Value = rd.bytes(rd.varint())
		nh := rd.varint()
		if rd.err == nil && (nh < 0 || nh > int64(len(rd.b))) {
			rd.err = errShort
		}
		r.Headers = r.Headers[:0]
		for j := int64(0); j < nh && rd.err == nil; j++ {
			k := rd.bytes(rd.varint())
			v := rd.bytes(rd.varint())
			r.Headers = append(r.Headers, Header{Key: string(k), Value: v})
		}
		if rd.err != nil {
			d.err = rd.err
			break
		}
		r.Offset = h.BaseOffset + offDelta
		r.Timestamp = h.BaseTimestamp + tsDelta
		if logAppend {
			r.Timestamp = h.MaxTimestamp
		}
		if err := fn(&r); err != nil {
			return err
		}
	}
	if d.err != nil {
		return fmt.Errorf("batch at offset %d: %w", h.BaseOffset, d.err)
	}
	return nil
}

// forEachBatchRecord walks every record of batches (back to back).
func forEachBatchRecord(batches []byte, fn func(h *commitlog.BatchHeader, r *Record) error) error {
	for pos := 0; pos < len(batches); {
		h, err := commitlog.ParseBatchHeader(batches[pos:])
		if err != nil {
			return err
		}
		if h.Size() <= 0 || pos+h.Size() > len(batches) {
			return fmt.Errorf("batch at byte %d: %w", pos, errShort)
		}
		if err := forEachRecord(h, batches[pos:pos+h.Size()], func(r *Record) error { return fn(&h, r) }); err != nil {
			return err
		}
		pos += h.Size()
	}
	return nil
}

// batchBuilder encodes one uncompressed RecordBatch v2.
type batchBuilder struct {
	buf   []byte
	body  []byte // scratch for one record
	n     int32
	ts    int64
	maxTS int64
}

func newBatchBuilder(ts int64) *batchBuilder {
	return &batchBuilder{buf: make([]byte, commitlog.BatchHeaderSize, 512), ts: ts, maxTS: ts}
}

func appendVarint(b []byte, v int64) []byte { return binary.AppendVarint(b, v) }

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return appendVarint(b, -1)
	}
	return append(appendVarint(b, int64(len(v))), v...)
}

func appendString(b []byte, v string) []byte {
	return append(appendVarint(b, int64(len(v))), v...)
}

// strHeader is a header whose value is a string (no []byte conversion).
type strHeader struct{ key, value string }

// addStr appends one record whose headers are strings, then extra ones.
func (bb *batchBuilder) addStr(ts int64, key, value []byte, headers []strHeader, extra []Header) {
	body := bb.startRecord(ts, key, value, len(headers)+len(extra))
	for _, h := range headers {
		body = appendString(body, h.key)
		body = appendString(body, h.value)
	}
	for _, h := range extra {
		body = appendString(body, h.Key)
		body = appendBytes(body, h.Value)
	}
	bb.endRecord(ts, body)
}

// add appends one record with key, value and headers at timestamp ts.
func (bb *batchBuilder) add(ts int64, key, value []byte, headers []Header) {
	body := bb.startRecord(ts, key, value, len(headers))
	for _, h := range headers {
		body = appendString(body, h.Key)
		body = appendBytes(body, h.Value)
	}
	bb.endRecord(ts, body)
}

// startRecord begins the next record's body in the reused bb.body: every
// field up to the header count; the caller appends the headers.
func (bb *batchBuilder) startRecord(ts int64, key, value []byte, headers int) []byte {
	body := bb.body[:0]
	body = append(body, 0) // attributes
	body = appendVarint(body, ts-bb.ts)
	body = appendVarint(body, int64(bb.n))
	body = appendBytes(body, key)
	body = appendBytes(body, value)
	return appendVarint(body, int64(headers))
}

// endRecord appends the finished body, length-prefixed, to the batch.
func (bb *batchBuilder) endRecord(ts int64, body []byte) {
	bb.buf = appendVarint(bb.buf, int64(len(body)))
	bb.buf = append(bb.buf, body...)
	bb.body = body
	bb.n++
	if ts > bb.maxTS {
		bb.maxTS = ts
	}
}

// finish fills in the header and CRC and returns the batch.
func (bb *batchBuilder) finish() []byte {
	b := bb.buf
	be := binary.BigEndian
	be.PutUint64(b[0:], 0)
	be.PutUint32(b[8:], uint32(len(b)-12))
	be.PutUint32(b[12:], 0xFFFFFFFF) // partition leader epoch -1
	b[16] = 2
	be.PutUint16(b[21:], 0)
	be.PutUint32(b[23:], uint32(bb.n-1))
	be.PutUint64(b[27:], uint64(bb.ts))
	be.PutUint64(b[35:], uint64(bb.maxTS))
	be.PutUint64(b[43:], 0xFFFFFFFFFFFFFFFF) // producer id -1
	be.PutUint16(b[51:], 0xFFFF)             // producer epoch -1
	be.PutUint32(b[53:], 0xFFFFFFFF)         // base sequence -1
	be.PutUint32(b[57:], uint32(bb.n))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}
