package record

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Filtered rewrites stored batches keeping only the records a function
// chooses, for views (read-only topics of a source's matching records).
// The zero value is ready; a Filtered belongs to one goroutine at a time
// and reuses its buffers, so filtering allocates nothing once warm.
//
// A kept record is copied as its stored bytes: its offset and timestamp
// deltas stay relative to the batch's base, which is kept, so nothing
// inside a record is re-encoded.
type Filtered struct {
	// KeepCodec recompresses a filtered compressed batch with its codec;
	// false sends it uncompressed (cheaper for the broker, more bytes on
	// the wire).
	KeepCodec bool

	dec   []byte // decompressed records
	plain []byte // kept records, before recompression
	rec   Record
	spans []span
}

type span struct{ start, end int }

// AppendBatch appends to dst the batch (one whole stored batch, h its
// parsed header) with only the records keep returns true for:
//   - all kept: the batch unchanged;
//   - none kept, or a control batch: nothing;
//   - otherwise a batch with the same base offset, partition leader epoch,
//     lastOffsetDelta, timestamps, producer id, epoch and base sequence,
//     the kept records in order, a new record count, length and CRC-32C,
//     uncompressed unless KeepCodec.
//
// It returns the records seen and kept. The Record passed to keep is
// reused and aliases the batch; keep must not retain it. On a decode error
// dst is returned as it came.
func (f *Filtered) AppendBatch(dst, batch []byte, h *BatchHeader, keep func(*Record) bool) (out []byte, seen, kept int, err error) {
	if h.IsControl() {
		return dst, 0, 0, nil
	}
	if len(batch) < BatchHeaderSize || h.Size() != len(batch) {
		return dst, 0, 0, &BatchError{Reason: fmt.Sprintf("batch at offset %d: %d bytes, header says %d", h.BaseOffset, len(batch), h.Size())}
	}
	recs := batch[BatchHeaderSize:]
	if c := h.Codec(); c != CodecNone {
		f.dec, err = Decompress(f.dec[:0], recs, c)
		if err != nil {
			return dst, 0, 0, fmt.Errorf("decompress batch at offset %d (%s): %w", h.BaseOffset, c, err)
		}
		recs = f.dec
	}
	f.spans = f.spans[:0]
	pos := 0
	r := &f.rec
	for i := int32(0); i < h.RecordCount; i++ {
		start := pos
		d := fastDecoder{b: recs, i: pos}
		length := d.varint()
		if d.bad { // a 10-byte varint, or none
			exact := decoder{b: recs[pos:]}
			if length = exact.varint(); exact.err == nil {
				d = fastDecoder{b: recs, i: len(recs) - len(exact.b)}
			}
		}
		if d.bad || length < 1 || length > int64(len(recs)-d.i) {
			return dst, seen, kept, fmt.Errorf("batch at offset %d, record %d: %w", h.BaseOffset, i, ErrShortRecord)
		}
		end := d.i + int(length)
		if err := f.decode(recs[d.i:end], h); err != nil {
			return dst, seen, kept, fmt.Errorf("batch at offset %d, record %d: %w", h.BaseOffset, i, err)
		}
		pos = end
		seen++
		if keep(r) {
			kept++
			if n := len(f.spans); n > 0 && f.spans[n-1].end == start {
				f.spans[n-1].end = end
			} else {
				f.spans = append(f.spans, span{start, end})
			}
		}
	}
	switch {
	case kept == 0:
		return dst, seen, 0, nil
	case kept == seen && pos == len(recs):
		return append(dst, batch...), seen, kept, nil
	}
	mark := len(dst)
	dst = append(dst, batch[:BatchHeaderSize]...)
	codec := CodecNone
	if f.KeepCodec && h.Codec() != CodecNone {
		codec = h.Codec()
		f.plain = f.plain[:0]
		for _, s := range f.spans {
			f.plain = append(f.plain, recs[s.start:s.end]...)
		}
		dst, err = Compress(dst, f.plain, codec)
		if err != nil {
			return dst[:mark], seen, kept, fmt.Errorf("recompress batch at offset %d (%s): %w", h.BaseOffset, codec, err)
		}
	} else {
		for _, s := range f.spans {
			dst = append(dst, recs[s.start:s.end]...)
		}
	}
	b := dst[mark:]
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-BatchLengthOverhead))
	be.PutUint16(b[21:], uint16(h.Attributes)&^AttrCompressionMask|uint16(codec))
	be.PutUint32(b[57:], uint32(kept))
	be.PutUint32(b[crcOffset:], crc32.Checksum(b[crcStart:], castagnoli))
	return dst, seen, kept, nil
}

// decode fills f.rec from one record's body (after its length varint).
// It is decoder's work with the one-byte varints (most of them) read
// inline: this runs once per source record of every view fetch.
func (f *Filtered) decode(b []byte, h *BatchHeader) error {
	r := &f.rec
	r.Attributes = int8(b[0])
	d := fastDecoder{b: b, i: 1}
	r.TimestampDelta = d.varint()
	r.OffsetDelta = int32(d.varint())
	r.Key = d.field(d.varint())
	r.Value = d.field(d.varint())
	nh := d.varint()
	if nh < 0 || nh > int64(len(b)-d.i) {
		return f.decodeExact(b, h)
	}
	r.Headers = r.Headers[:0]
	for range nh {
		k := d.field(d.varint())
		v := d.field(d.varint())
		if d.bad {
			break
		}
		r.Headers = append(r.Headers, Header{Key: k, Value: v})
	}
	if d.bad {
		return f.decodeExact(b, h)
	}
	r.Offset = h.BaseOffset + int64(r.OffsetDelta)
	r.Timestamp = h.BaseTimestamp + r.TimestampDelta
	if h.IsLogAppendTime() {
		r.Timestamp = h.MaxTimestamp
	}
	return nil
}

// fastDecoder reads varints and length-prefixed fields from b[i:]. After a
// field cut short or an overlong varint, bad is set and every read
// returns zero values.
type fastDecoder struct {
	b   []byte
	i   int
	bad bool
}

// varint reads a zigzag varint of up to 9 bytes, as binary.Varint does
// but inlined (a call per varint was a third of the scan of uncompressed
// records). A 10-byte varint (|v| ≥ 2^62, valid but never seen in
// practice) sets bad; decodeExact then decodes the record again.
func (d *fastDecoder) varint() int64 {
	var x uint64
	for s, i := uint(0), d.i; i < len(d.b) && s < 63; s, i = s+7, i+1 {
		c := d.b[i]
		x |= uint64(c&0x7f) << s
		if c < 0x80 {
			d.i = i + 1
			return int64(x>>1) ^ -int64(x&1)
		}
	}
	d.bad = true
	return 0
}

// field returns the next n bytes of a length-prefixed field: nil for a
// negative length (a null field), else capped so appending to it cannot
// overwrite what follows.
func (d *fastDecoder) field(n int64) []byte {
	if n < 0 || d.bad {
		return nil
	}
	if n > int64(len(d.b)-d.i) {
		d.bad = true
		return nil
	}
	start := d.i
	d.i += int(n)
	return d.b[start:d.i:d.i]
}

// decodeExact is decode with decoder (binary.Varint), for the records
// decode refuses: it tells a 10-byte varint from a malformed record.
func (f *Filtered) decodeExact(b []byte, h *BatchHeader) error {
	r := &f.rec
	r.Attributes = int8(b[0])
	body := decoder{b: b[1:]}
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
		return body.err
	}
	r.Offset = h.BaseOffset + int64(r.OffsetDelta)
	r.Timestamp = h.BaseTimestamp + r.TimestampDelta
	if h.IsLogAppendTime() {
		r.Timestamp = h.MaxTimestamp
	}
	return nil
}

// AppendEmptyBatch appends a batch of no records covering offsets [base,
// last] (last-base < 2^31): a consumer that receives it moves its fetch
// offset to last+1, as past a batch that compaction emptied (KAFKA-5443).
// ts is its timestamp.
func AppendEmptyBatch(dst []byte, base, last, ts int64) []byte {
	var b [BatchHeaderSize]byte
	be := binary.BigEndian
	be.PutUint64(b[0:], uint64(base))
	be.PutUint32(b[8:], BatchHeaderSize-BatchLengthOverhead)
	be.PutUint32(b[12:], 0) // partition leader epoch
	b[16] = 2
	be.PutUint32(b[23:], uint32(last-base))
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts))
	be.PutUint64(b[43:], ^uint64(0)) // producer id -1
	be.PutUint16(b[51:], 0xffff)     // epoch -1
	be.PutUint32(b[53:], 0xffffffff) // base sequence -1
	be.PutUint32(b[crcOffset:], crc32.Checksum(b[crcStart:], castagnoli))
	return append(dst, b[:]...)
}
