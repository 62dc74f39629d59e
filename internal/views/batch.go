package views

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/filter"
)

// RecordBatch v2 header layout (see docs/format/log.md).
const (
	offLength     = 8
	offCRC        = 17
	offAttributes = 21
	offLastDelta  = 23
	offBaseTS     = 27
	offMaxTS      = 35
	offProducerID = 43
	offEpoch      = 51
	offBaseSeq    = 53
	offCount      = 57
	headerSize    = 61
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is returned for a stored batch whose records do not decode.
var ErrCorrupt = errors.New("corrupt record batch")

var decompressor = kgo.DefaultDecompressor()

// Filter rewrites stored batches without the records its program does
// not match. A Filter is not safe for concurrent use; its scratch buffers
// are reused from batch to batch, so filtering allocates nothing of its
// own beyond decompression.
type Filter struct {
	Prog      *filter.Program
	Partition int32

	rec   filter.Record
	hdrs  []filter.Header
	spans []span
}

type span struct{ start, end int }

// Stats counts what Filter calls saw.
type Stats struct {
	Batches, Records, Matched int64
	// Bytes is the stored size of the batches scanned.
	Bytes int64
}

// AppendBatch appends to dst the batch (one whole stored RecordBatch, h
// its parsed header) keeping only the records that match: unchanged when
// all match; nothing when none does; otherwise a new uncompressed batch with
// the same base offset, lastOffsetDelta, timestamps and producer fields,
// holding the matching records as they were (their offset and timestamp
// deltas stay valid), with a new CRC. Control batches are dropped.
func (f *Filter) AppendBatch(dst, batch []byte, h *commitlog.BatchHeader, st *Stats) ([]byte, error) {
	st.Batches++
	st.Bytes += int64(len(batch))
	if h.Attributes&commitlog.AttrControl != 0 {
		return dst, nil
	}
	if len(batch) < headerSize || h.Size() != len(batch) {
		return dst, fmt.Errorf("%w: batch at offset %d: %d bytes, header says %d", ErrCorrupt, h.BaseOffset, len(batch), h.Size())
	}
	recs := batch[headerSize:]
	if c := h.Compression(); c != 0 {
		var err error
		recs, err = decompressor.Decompress(recs, kgo.CompressionCodecType(c))
		if err != nil {
			return dst, fmt.Errorf("%w: decompress batch at offset %d (codec %d): %v", ErrCorrupt, h.BaseOffset, c, err)
		}
	}
	f.spans = f.spans[:0]
	logAppend := h.Attributes&commitlog.AttrTimestampLogAppend != 0
	pos := 0
	for i := int32(0); i < h.RecordCount; i++ {
		start := pos
		length, n := binary.Varint(recs[pos:])
		if n <= 0 || length < 0 || int64(len(recs)-pos-n) < length {
			return dst, fmt.Errorf("%w: batch at offset %d: record %d runs past the batch end", ErrCorrupt, h.BaseOffset, i)
		}
		pos += n
		end := pos + int(length)
		if err := f.parse(recs[pos:end], h, logAppend); err != nil {
			return dst, fmt.Errorf("%w: batch at offset %d: record %d: %v", ErrCorrupt, h.BaseOffset, i, err)
		}
		pos = end
		st.Records++
		if f.Prog.Match(&f.rec) {
			st.Matched++
			if n := len(f.spans); n > 0 && f.spans[n-1].end == start {
				f.spans[n-1].end = end
			} else {
				f.spans = append(f.spans, span{start, end})
			}
		}
	}
	switch {
	case len(f.spans) == 0:
		return dst, nil
	case len(f.spans) == 1 && f.spans[0].start == 0 && f.spans[0].end == pos && pos == len(recs):
		return append(dst, batch...), nil // every record matched
	}
	matched := int32(0)
	mark := len(dst)
	dst = append(dst, batch[:headerSize]...)
	for _, s := range f.spans {
		dst = append(dst, recs[s.start:s.end]...)
	}
	// Count the kept records again from the spans: one varint length each.
	for _, s := range f.spans {
		for p := s.start; p < s.end; {
			l, n := binary.Varint(recs[p:])
			p += n + int(l)
			matched++
		}
	}
	out := dst[mark:]
	binary.BigEndian.PutUint32(out[offLength:], uint32(len(out)-12))
	attrs := binary.BigEndian.Uint16(out[offAttributes:]) &^ commitlog.AttrCompressionMask
	binary.BigEndian.PutUint16(out[offAttributes:], attrs)
	binary.BigEndian.PutUint32(out[offCount:], uint32(matched))
	binary.BigEndian.PutUint32(out[offCRC:], crc32.Checksum(out[offAttributes:], castagnoli))
	return dst, nil
}

// parse fills f.rec from one record's body (after its length).
func (f *Filter) parse(b []byte, h *commitlog.BatchHeader, logAppend bool) error {
	if len(b) < 1 {
		return errors.New("empty record")
	}
	d := dec{b: b[1:]} // attributes
	tsDelta := d.varint()
	offDelta := d.varint()
	f.rec.Key = d.bytes()
	f.rec.Value = d.bytes()
	nh := d.varint()
	if d.err == nil && (nh < 0 || nh > int64(len(d.b))) {
		return errors.New("bad header count")
	}
	f.hdrs = f.hdrs[:0]
	for j := int64(0); j < nh && d.err == nil; j++ {
		k := d.bytes()
		v := d.bytes()
		f.hdrs = append(f.hdrs, filter.Header{Key: k, Value: v})
	}
	if d.err != nil {
		return d.err
	}
	f.rec.Headers = f.hdrs
	f.rec.Offset = h.BaseOffset + offDelta
	f.rec.Timestamp = h.BaseTimestamp + tsDelta
	if logAppend {
		f.rec.Timestamp = h.MaxTimestamp
	}
	f.rec.Partition = f.Partition
	return nil
}

type dec struct {
	b   []byte
	err error
}

var errShort = errors.New("record runs past its end")

func (d *dec) varint() int64 {
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

// bytes reads a varint length and that many bytes (nil for -1).
func (d *dec) bytes() []byte {
	n := d.varint()
	if d.err != nil || n < 0 {
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

// AppendEmptyBatch appends a batch holding no records that covers offsets
// [base, last]: a consumer that receives it moves its fetch offset to
// last+1, as it does past a batch that compaction emptied (KAFKA-5443). ts
// is its timestamp (the last scanned record's).
func AppendEmptyBatch(dst []byte, base, last, ts int64) []byte {
	var h [headerSize]byte
	be := binary.BigEndian
	be.PutUint64(h[0:], uint64(base))
	be.PutUint32(h[offLength:], headerSize-12)
	be.PutUint32(h[12:], 0) // partition leader epoch
	h[16] = 2               // magic
	be.PutUint16(h[offAttributes:], 0)
	be.PutUint32(h[offLastDelta:], uint32(last-base))
	be.PutUint64(h[offBaseTS:], uint64(ts))
	be.PutUint64(h[offMaxTS:], uint64(ts))
	be.PutUint64(h[offProducerID:], ^uint64(0)) // -1
	be.PutUint16(h[offEpoch:], 0xffff)          // -1
	be.PutUint32(h[offBaseSeq:], 0xffffffff)    // -1
	be.PutUint32(h[offCount:], 0)
	be.PutUint32(h[offCRC:], crc32.Checksum(h[offAttributes:], castagnoli))
	return append(dst, h[:]...)
}
