package record

import (
	"errors"
	"fmt"
)

// Sections are the records sections of validated batches, kept for a
// later reader of the same batches (the broker's append hooks) so that a
// compressed batch is decompressed once per produce, not once per reader.
// Release gives the pooled buffers back; the sections are invalid after
// it.
type Sections struct {
	// Records[i] is batch i's records section: decompressed for a Snappy
	// batch, in place for an uncompressed one, nil for the streamed codecs
	// (gzip, LZ4, zstd), which a reader decompresses itself.
	Records [][]byte
	bufs    []*[]byte
}

// Release returns the sections' pooled buffers.
func (s *Sections) Release() {
	for _, b := range s.bufs {
		if cap(*b) <= maxPooled {
			bufPool.Put(b)
		}
	}
	s.bufs, s.Records = nil, nil
}

// ValidateAllRecordsKeep is ValidateAllRecords that also returns the
// batches' records sections (see Sections). On error nothing is kept.
func ValidateAllRecordsKeep(b []byte, hs []BatchHeader, maxDecompressed int) (*Sections, error) {
	s := &Sections{Records: make([][]byte, len(hs))}
	pos := 0
	for i := range hs {
		h := &hs[i]
		var err error
		switch {
		case h.Size() < BatchHeaderSize || h.Size() > len(b)-pos:
			err = ValidateRecords(h, b[pos:], maxDecompressed) // reports the size error
		case h.Codec() == CodecSnappy:
			limit := maxDecompressed
			if limit <= 0 || limit > MaxDecompressed {
				limit = MaxDecompressed
			}
			buf := bufPool.Get().(*[]byte)
			out, derr := decompressLimited((*buf)[:0], b[pos+BatchHeaderSize:pos+h.Size()], CodecSnappy, limit)
			if cap(out) > cap(*buf) {
				*buf = out[:0]
			}
			s.bufs = append(s.bufs, buf)
			if derr != nil {
				err = snappyErr(derr, limit)
			} else if err = walkRecords(out, h.RecordCount); err == nil {
				s.Records[i] = out
			}
		case h.Codec() == CodecNone:
			data := b[pos+BatchHeaderSize : pos+h.Size()]
			if err = walkRecords(data, h.RecordCount); err == nil {
				s.Records[i] = data
			}
		default:
			err = ValidateRecords(h, b[pos:], maxDecompressed)
		}
		if err != nil {
			s.Release()
			var be *BatchError
			if errors.As(err, &be) {
				be.Pos = pos
			}
			return nil, err
		}
		pos += h.Size()
	}
	return s, nil
}

// snappyErr is validateCompressed's error for a Snappy payload that does
// not decompress.
func snappyErr(err error, limit int) error {
	var be *BatchError
	switch {
	case errors.As(err, &be):
		return err
	case errors.Is(err, ErrDecompressedTooLarge):
		return &BatchError{Reason: fmt.Sprintf("%s payload decompresses to more than %d bytes, the limit for this topic", CodecSnappy, limit), TooLarge: true}
	}
	return &BatchError{Reason: fmt.Sprintf("%s payload does not decompress: %v", CodecSnappy, err)}
}

// ResetRecords positions the Reader before the first record of a batch
// whose records section is already decompressed (Sections.Records).
func (rd *Reader) ResetRecords(h BatchHeader, records []byte) {
	rd.h, rd.err = h, nil
	rd.data = records
	rd.left = max(h.RecordCount, 0)
}

// ForEachSection is ForEachHeader for a batch whose records section is
// already decompressed (Sections.Records, or an uncompressed batch's bytes
// after its header): fn gets every record with a Record reused between
// calls, nothing is decompressed or copied. It stops at fn's first error.
func ForEachSection(h BatchHeader, records []byte, fn func(h *BatchHeader, r *Record) error) error {
	rd := readers.Get().(*Reader)
	defer func() { rd.Release(); readers.Put(rd) }()
	rd.ResetRecords(h, records)
	for rd.Next() {
		if err := fn(&rd.h, &rd.rec); err != nil {
			return err
		}
	}
	return rd.err
}

// ForEachKeyValue calls fn with the key and value (nil when null) of each
// of the count records in records, a records section already proven
// well-formed (ValidateAllRecordsKeep, ValidateRecords); headers are
// skipped, nothing is copied or allocated. It stops at fn's first error
// and reports a section that does not parse after all.
func ForEachKeyValue(records []byte, count int32, fn func(i int, key, value []byte) error) error {
	d := decoder{b: records}
	for i := int32(0); i < count; i++ {
		length := d.varint()
		if d.err != nil || length < 1 || length > int64(len(d.b)) {
			return fmt.Errorf("record %d: %w", i, ErrShortRecord)
		}
		body := decoder{b: d.b[1:length]} // after the attributes byte
		d.b = d.b[length:]
		body.varint() // timestamp delta
		body.varint() // offset delta
		key := body.bytes(body.varint())
		value := body.bytes(body.varint())
		if body.err != nil {
			return fmt.Errorf("record %d: %w", i, body.err)
		}
		if err := fn(int(i), key, value); err != nil {
			return err
		}
	}
	return nil
}
