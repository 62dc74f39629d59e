package record

import (
	"encoding/binary"
	"hash/crc32"
)

// NewHeader returns the header of a new batch of plain records (no
// producer id, epoch or sequence; partition leader epoch -1) whose records'
// timestamps are relative to baseTimestamp (milliseconds).
func NewHeader(baseTimestamp int64) BatchHeader {
	return BatchHeader{
		PartitionLeaderEpoch: -1,
		Magic:                2,
		BaseTimestamp:        baseTimestamp,
		MaxTimestamp:         baseTimestamp,
		ProducerID:           -1,
		ProducerEpoch:        -1,
		BaseSequence:         -1,
	}
}

// Builder encodes one RecordBatch v2 from records. It keeps the header it
// was Reset with (base offset, partition leader epoch, attributes other
// than the codec, base timestamp, producer id, epoch and base sequence), so
// a batch read with a Reader and re-encoded with some records left out
// keeps its offsets: lastOffsetDelta stays the original's unless a record
// goes past it. Finish computes the record count, the max timestamp (kept
// under LogAppendTime), the batch length and the CRC-32C.
//
// A Builder reuses its buffers across Reset calls; the slice Finish
// returns is valid until the next Reset.
type Builder struct {
	h     BatchHeader
	buf   []byte // header space, then the uncompressed records
	body  []byte // one record's body
	out   []byte // compressed batch
	n     int32
	maxTS int64
	// per record being built
	recTS int64
}

// NewBuilder returns a Builder for a batch with header h.
func NewBuilder(h BatchHeader) *Builder {
	b := &Builder{}
	b.Reset(h)
	return b
}

// NewBuilderBuffers returns a Builder for a batch with header h that
// encodes into buf's capacity (its contents are overwritten; a caller that
// knows the batch's size allocates it once) and builds each record in
// scratch, which the caller may take back with Scratch after Finish.
func NewBuilderBuffers(h BatchHeader, buf, scratch []byte) *Builder {
	b := &Builder{buf: buf[:0], body: scratch[:0]}
	b.Reset(h)
	return b
}

// Scratch returns the buffer records are built in, for reuse elsewhere once
// the Builder is done.
func (b *Builder) Scratch() []byte { return b.body[:0] }

// Reset starts a new batch with header h, reusing the Builder's buffers.
func (b *Builder) Reset(h BatchHeader) {
	b.h = h
	if cap(b.buf) < BatchHeaderSize {
		b.buf = make([]byte, BatchHeaderSize, max(512, cap(b.buf)))
	}
	b.buf = b.buf[:BatchHeaderSize]
	b.n = 0
	b.maxTS = h.BaseTimestamp
	if h.IsLogAppendTime() {
		b.maxTS = h.MaxTimestamp
	}
}

// Len returns the number of records added since Reset.
func (b *Builder) Len() int { return int(b.n) }

// Add appends a copy of r (its attributes, deltas, key, value and
// headers; Offset and Timestamp are ignored).
func (b *Builder) Add(r *Record) {
	b.BeginRecord(r.OffsetDelta, r.TimestampDelta, r.Key, r.Value, len(r.Headers))
	b.body[0] = byte(r.Attributes)
	for _, h := range r.Headers {
		b.body = appendBytes(b.body, h.Key)
		b.body = appendBytes(b.body, h.Value)
	}
	b.EndRecord()
}

// BeginRecord starts a record with the given deltas, key, value (nil for
// null) and number of headers; add exactly that many with AddHeader or
// AddStringHeader, then call EndRecord.
func (b *Builder) BeginRecord(offsetDelta int32, timestampDelta int64, key, value []byte, headers int) {
	body := b.body[:0]
	body = append(body, 0) // attributes
	body = binary.AppendVarint(body, timestampDelta)
	body = binary.AppendVarint(body, int64(offsetDelta))
	body = appendBytes(body, key)
	body = appendBytes(body, value)
	b.body = binary.AppendVarint(body, int64(headers))
	b.h.LastOffsetDelta = max(b.h.LastOffsetDelta, offsetDelta)
	b.recTS = b.h.BaseTimestamp + timestampDelta
}

// AddHeader adds a header to the record begun; a nil value is null.
func (b *Builder) AddHeader(key string, value []byte) {
	b.body = appendString(b.body, key)
	b.body = appendBytes(b.body, value)
}

// AddStringHeader adds a header whose value is a string.
func (b *Builder) AddStringHeader(key, value string) {
	b.body = appendString(b.body, key)
	b.body = appendString(b.body, value)
}

// EndRecord finishes the record begun and appends it to the batch.
func (b *Builder) EndRecord() {
	b.buf = binary.AppendVarint(b.buf, int64(len(b.body)))
	b.buf = append(b.buf, b.body...)
	b.n++
	if !b.h.IsLogAppendTime() && b.recTS > b.maxTS {
		b.maxTS = b.recTS
	}
}

// Finish fills in the header, compresses the records with codec c and
// returns the whole batch, CRC included. The returned slice aliases the
// Builder's buffers.
func (b *Builder) Finish(c Codec) ([]byte, error) {
	out := b.buf
	if c != CodecNone {
		var err error
		b.out, err = Compress(append(b.out[:0], b.buf[:BatchHeaderSize]...), b.buf[BatchHeaderSize:], c)
		if err != nil {
			return nil, err
		}
		out = b.out
	}
	h := &b.h
	be := binary.BigEndian
	be.PutUint64(out[0:], uint64(h.BaseOffset))
	be.PutUint32(out[8:], uint32(len(out)-BatchLengthOverhead))
	be.PutUint32(out[12:], uint32(h.PartitionLeaderEpoch))
	out[16] = 2
	attrs := uint16(h.Attributes)&^AttrCompressionMask | uint16(c)
	be.PutUint16(out[21:], attrs)
	be.PutUint32(out[23:], uint32(h.LastOffsetDelta))
	be.PutUint64(out[27:], uint64(h.BaseTimestamp))
	be.PutUint64(out[35:], uint64(b.maxTS))
	be.PutUint64(out[43:], uint64(h.ProducerID))
	be.PutUint16(out[51:], uint16(h.ProducerEpoch))
	be.PutUint32(out[53:], uint32(h.BaseSequence))
	be.PutUint32(out[57:], uint32(b.n))
	be.PutUint32(out[crcOffset:], crc32.Checksum(out[crcStart:], castagnoli))
	return out, nil
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	return append(binary.AppendVarint(b, int64(len(v))), v...)
}

func appendString(b []byte, v string) []byte {
	return append(binary.AppendVarint(b, int64(len(v))), v...)
}
