package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
)

// Header is one record header. Key and Value alias the batch (or its
// decompressed copy); Value is nil for a null header value.
type Header struct {
	Key   []byte
	Value []byte
}

// Record is one record of a RecordBatch v2. The byte slices alias the
// batch or its decompressed copy.
type Record struct {
	// Attributes is the record's attribute byte (unused by Kafka, kept so a
	// re-encoded record is byte-identical).
	Attributes int8
	// TimestampDelta and OffsetDelta are relative to the batch's
	// BaseTimestamp and BaseOffset.
	TimestampDelta int64
	OffsetDelta    int32
	// Offset is BaseOffset+OffsetDelta. Timestamp is BaseTimestamp +
	// TimestampDelta, or the batch's MaxTimestamp under LogAppendTime.
	Offset    int64
	Timestamp int64
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value
	Headers   []Header
}

// Header returns the value of the first header named k.
func (r *Record) Header(k string) ([]byte, bool) {
	for _, h := range r.Headers {
		if string(h.Key) == k {
			return h.Value, true
		}
	}
	return nil, false
}

// ErrShortRecord is wrapped by iteration errors when a record runs past the
// end of its batch or a length is negative where none may be.
var ErrShortRecord = errors.New("record runs past the batch end")

// maxPooled is the largest decompression buffer a Reader gives back to the
// pool; bigger ones are left to the GC so one huge batch does not pin
// memory.
const maxPooled = 4 << 20

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 64<<10); return &b }}

// Reader iterates over the records of one batch. The zero value is ready
// for Reset; Release gives back its pooled buffer. A Reader is reused
// across batches to keep iteration free of allocations.
type Reader struct {
	h    BatchHeader
	data []byte  // the records section, decompressed
	buf  *[]byte // pooled decompression buffer, nil until needed
	rec  Record
	left int32 // records not yet returned
	err  error
}

// Reset parses the batch at the start of b (which must hold the whole
// batch; bytes past it are ignored), decompresses its records if needed
// and positions the Reader before the first record. It does not check the
// CRC (CheckBatch does).
func (rd *Reader) Reset(b []byte) error {
	rd.err, rd.left, rd.data = nil, 0, nil
	h, err := ParseBatchHeader(b)
	if err != nil {
		rd.err = err
		return err
	}
	return rd.ResetHeader(h, b)
}

// ResetHeader is Reset for a batch whose header the caller already parsed.
func (rd *Reader) ResetHeader(h BatchHeader, b []byte) error {
	rd.h, rd.err, rd.left, rd.data = h, nil, 0, nil
	if h.Size() < BatchHeaderSize || h.Size() > len(b) {
		rd.err = fmt.Errorf("batch at offset %d: %d bytes of %d: %w", h.BaseOffset, len(b), h.Size(), ErrShortRecord)
		return rd.err
	}
	raw := b[BatchHeaderSize:h.Size()]
	if c := h.Codec(); c != CodecNone {
		if rd.buf == nil {
			rd.buf = bufPool.Get().(*[]byte)
		}
		out, err := Decompress((*rd.buf)[:0], raw, c)
		if cap(out) > cap(*rd.buf) {
			*rd.buf = out[:0]
		}
		if err != nil {
			rd.err = fmt.Errorf("decompress batch at offset %d (%s): %w", h.BaseOffset, c, err)
			return rd.err
		}
		raw = out
	}
	rd.data = raw
	rd.left = max(h.RecordCount, 0)
	return nil
}

// Header returns the current batch's header.
func (rd *Reader) Header() *BatchHeader { return &rd.h }

// Next decodes the next record. It returns false at the end of the batch
// or on a decode error (see Err).
func (rd *Reader) Next() bool {
	if rd.err != nil || rd.left <= 0 {
		return false
	}
	rd.left--
	d := decoder{b: rd.data}
	length := d.varint()
	if d.err == nil && (length < 0 || length > int64(len(d.b))) {
		d.err = ErrShortRecord
	}
	if d.err != nil {
		rd.fail(d.err)
		return false
	}
	rd.data = d.b[length:]
	body := decoder{b: d.b[:length:length]}
	if len(body.b) < 1 {
		rd.fail(ErrShortRecord)
		return false
	}
	r := &rd.rec
	r.Attributes = int8(body.b[0])
	body.b = body.b[1:]
	r.TimestampDelta = body.varint()
	r.OffsetDelta = int32(body.varint())
	r.Key = body.bytes(body.varint())
	r.Value = body.bytes(body.varint())
	nh := body.varint()
	if body.err == nil && (nh < 0 || nh > int64(len(body.b))) {
		body.err = ErrShortRecord
	}
	r.Headers = r.Headers[:0]
	for j := int64(0); j < nh && body.err == nil; j++ {
		k := body.bytes(body.varint())
		v := body.bytes(body.varint())
		r.Headers = append(r.Headers, Header{Key: k, Value: v})
	}
	if body.err != nil {
		rd.fail(body.err)
		return false
	}
	r.Offset = rd.h.BaseOffset + int64(r.OffsetDelta)
	r.Timestamp = rd.h.BaseTimestamp + r.TimestampDelta
	if rd.h.IsLogAppendTime() {
		r.Timestamp = rd.h.MaxTimestamp
	}
	return true
}

func (rd *Reader) fail(err error) {
	rd.err = fmt.Errorf("batch at offset %d, record %d: %w", rd.h.BaseOffset, rd.h.RecordCount-rd.left-1, err)
	rd.left = 0
}

// Record returns the record Next decoded. It is reused by the next call.
func (rd *Reader) Record() *Record { return &rd.rec }

// Err returns the first error met by Reset or Next.
func (rd *Reader) Err() error { return rd.err }

// Release returns the Reader's pooled buffer; the records it returned are
// no longer valid. The Reader may be Reset again.
func (rd *Reader) Release() {
	if rd.buf != nil {
		if cap(*rd.buf) <= maxPooled {
			bufPool.Put(rd.buf)
		}
		rd.buf = nil
	}
	rd.data = nil
	rd.rec.Key, rd.rec.Value = nil, nil
	clear(rd.rec.Headers)
	rd.rec.Headers = rd.rec.Headers[:0]
}

var readers = sync.Pool{New: func() any { return new(Reader) }}

// ForEach calls fn for every record of the batch at the start of b, with a
// Record reused between calls. It stops at fn's first error.
func ForEach(b []byte, fn func(h *BatchHeader, r *Record) error) error {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return err
	}
	return ForEachHeader(h, b, fn)
}

// ForEachHeader is ForEach for a batch whose header is already parsed.
func ForEachHeader(h BatchHeader, b []byte, fn func(h *BatchHeader, r *Record) error) error {
	rd := readers.Get().(*Reader)
	defer func() { rd.Release(); readers.Put(rd) }()
	if err := rd.ResetHeader(h, b); err != nil {
		return err
	}
	for rd.Next() {
		if err := fn(&rd.h, &rd.rec); err != nil {
			return err
		}
	}
	return rd.err
}

// ForEachInBatches calls fn for every record of the batches in b (back to
// back, each whole).
func ForEachInBatches(b []byte, fn func(h *BatchHeader, r *Record) error) error {
	for pos := 0; pos < len(b); {
		h, err := ParseBatchHeader(b[pos:])
		if err != nil {
			return fmt.Errorf("batch at byte %d: %w", pos, err)
		}
		if h.Size() < BatchHeaderSize || h.Size() > len(b)-pos {
			return fmt.Errorf("batch at byte %d: %w", pos, ErrShortRecord)
		}
		if err := ForEachHeader(h, b[pos:pos+h.Size()], fn); err != nil {
			return err
		}
		pos += h.Size()
	}
	return nil
}

// decoder reads varints and length-prefixed bytes with a sticky error.
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
		d.err = ErrShortRecord
		return 0
	}
	d.b = d.b[n:]
	return v
}

// bytes returns the next n bytes, nil for n < 0 (a null field).
func (d *decoder) bytes(n int64) []byte {
	if d.err != nil || n < 0 {
		return nil
	}
	if n > int64(len(d.b)) {
		d.err = ErrShortRecord
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}
