// Package record is the Kafka RecordBatch v2 codec: batch header parsing
// and validation, record iteration (with decompression of gzip, snappy,
// lz4 and zstd into pooled buffers) and batch encoding. Every part of Eddy
// that looks inside a batch uses it; the commit log stores batches as
// produced and needs only CheckBatch and SetBaseOffset from here.
//
// Functions and types are safe for concurrent use except a Reader and a
// Builder, which belong to one goroutine at a time. Iteration is
// allocation-light: a Reader reuses one Record, and its Key, Value and
// header slices alias the batch (or the Reader's decompressed copy), so
// they are valid only until the Reader moves on; copy what you keep.
//
//	var rd record.Reader
//	defer rd.Release()
//	if err := rd.Reset(batch); err != nil { ... }
//	for rd.Next() {
//		r := rd.Record()
//		use(r.Key, r.Value, r.Headers)
//	}
//	if err := rd.Err(); err != nil { ... }
package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
)

// Kafka RecordBatch v2 header layout (all big-endian):
//
//	off  size field
//	  0     8 baseOffset            (rewritten by the broker; outside the CRC)
//	  8     4 batchLength           (bytes after this field)
//	 12     4 partitionLeaderEpoch  (outside the CRC)
//	 16     1 magic                 (must be 2)
//	 17     4 crc                   (CRC-32C of bytes 21..end)
//	 21     2 attributes
//	 23     4 lastOffsetDelta
//	 27     8 baseTimestamp
//	 35     8 maxTimestamp
//	 43     8 producerId
//	 51     2 producerEpoch
//	 55     4 baseSequence
//	 57     4 recordCount
//	 61       records...
const (
	// BatchHeaderSize is the size of a RecordBatch v2 header.
	BatchHeaderSize = 61
	// BatchLengthOverhead is the bytes before and including batchLength:
	// a batch is BatchLength+BatchLengthOverhead bytes long.
	BatchLengthOverhead = 12
	crcStart            = 21
	crcOffset           = 17
)

// Attribute bits of a RecordBatch.
const (
	// AttrCompressionMask selects the compression codec bits.
	AttrCompressionMask = 0x07
	// AttrTimestampLogAppend marks LogAppendTime batches.
	AttrTimestampLogAppend = 0x08
	// AttrTransactional marks transactional batches.
	AttrTransactional = 0x10
	// AttrControl marks control batches.
	AttrControl = 0x20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrInvalidBatch is the sentinel wrapped by every BatchError; test with
// errors.Is(err, ErrInvalidBatch).
var ErrInvalidBatch = errors.New("invalid record batch")

// BatchError describes why a record batch was rejected. Pos is the byte
// position of the batch within the buffer passed to ValidateBatches (or a
// log's Append).
type BatchError struct {
	Pos    int
	Reason string
	// Corrupt is true for CRC mismatches, which Kafka reports as
	// CORRUPT_MESSAGE rather than INVALID_RECORD.
	Corrupt bool
	// TooLarge is true for a payload that decompresses past the limit
	// (ValidateRecords).
	TooLarge bool
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("record batch at byte %d: %s", e.Pos, e.Reason)
}

// Unwrap returns ErrInvalidBatch.
func (e *BatchError) Unwrap() error { return ErrInvalidBatch }

// BatchHeader is a decoded RecordBatch v2 header.
type BatchHeader struct {
	BaseOffset           int64
	BatchLength          int32
	PartitionLeaderEpoch int32
	Magic                int8
	CRC                  uint32
	Attributes           int16
	LastOffsetDelta      int32
	BaseTimestamp        int64
	MaxTimestamp         int64
	ProducerID           int64
	ProducerEpoch        int16
	BaseSequence         int32
	RecordCount          int32
}

// Size is the whole batch's size in bytes, header included.
func (h *BatchHeader) Size() int { return int(h.BatchLength) + BatchLengthOverhead }

// LastOffset is the offset of the batch's last record.
func (h *BatchHeader) LastOffset() int64 { return h.BaseOffset + int64(h.LastOffsetDelta) }

// Compression returns the codec id: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd.
func (h *BatchHeader) Compression() int8 { return int8(h.Attributes & AttrCompressionMask) }

// Codec returns the batch's compression codec.
func (h *BatchHeader) Codec() Codec { return Codec(h.Attributes & AttrCompressionMask) }

// IsControl reports whether the batch holds control records (transaction
// markers) rather than data.
func (h *BatchHeader) IsControl() bool { return h.Attributes&AttrControl != 0 }

// IsTransactional reports whether the batch belongs to a transaction.
func (h *BatchHeader) IsTransactional() bool { return h.Attributes&AttrTransactional != 0 }

// IsLogAppendTime reports whether the batch's timestamps are the broker's
// append time (MaxTimestamp) rather than the producer's.
func (h *BatchHeader) IsLogAppendTime() bool { return h.Attributes&AttrTimestampLogAppend != 0 }

// ParseBatchHeader decodes the header at the start of b without checking the
// CRC or that the whole batch is present. It fails only if b is shorter than
// a header.
func ParseBatchHeader(b []byte) (BatchHeader, error) {
	if len(b) < BatchHeaderSize {
		return BatchHeader{}, &BatchError{Reason: fmt.Sprintf("%d bytes is shorter than a batch header (%d)", len(b), BatchHeaderSize)}
	}
	be := binary.BigEndian
	return BatchHeader{
		BaseOffset:           int64(be.Uint64(b[0:])),
		BatchLength:          int32(be.Uint32(b[8:])),
		PartitionLeaderEpoch: int32(be.Uint32(b[12:])),
		Magic:                int8(b[16]),
		CRC:                  be.Uint32(b[17:]),
		Attributes:           int16(be.Uint16(b[21:])),
		LastOffsetDelta:      int32(be.Uint32(b[23:])),
		BaseTimestamp:        int64(be.Uint64(b[27:])),
		MaxTimestamp:         int64(be.Uint64(b[35:])),
		ProducerID:           int64(be.Uint64(b[43:])),
		ProducerEpoch:        int16(be.Uint16(b[51:])),
		BaseSequence:         int32(be.Uint32(b[53:])),
		RecordCount:          int32(be.Uint32(b[57:])),
	}, nil
}

// CheckBatch validates the batch at the start of b: a whole header, magic 2,
// a batch length that fits in b, a record count of at least 1, a
// lastOffsetDelta that fits the count, and the CRC-32C. It returns the
// header; the batch occupies b[:h.Size()].
func CheckBatch(b []byte) (BatchHeader, error) {
	h, err := ParseBatchHeader(b)
	if err != nil {
		return h, err
	}
	switch {
	case h.Magic != 2:
		return h, &BatchError{Reason: fmt.Sprintf("magic %d, only record batch v2 (magic 2) is supported", h.Magic)}
	case h.BatchLength < BatchHeaderSize-BatchLengthOverhead:
		return h, &BatchError{Reason: fmt.Sprintf("batch length %d is shorter than a header", h.BatchLength)}
	case int64(h.BatchLength)+BatchLengthOverhead > int64(len(b)):
		return h, &BatchError{Reason: fmt.Sprintf("batch length %d runs past the %d bytes available", h.BatchLength, len(b)-BatchLengthOverhead)}
	case h.RecordCount < 1:
		return h, &BatchError{Reason: fmt.Sprintf("record count %d, want at least 1", h.RecordCount)}
	case h.LastOffsetDelta != h.RecordCount-1:
		// Kafka rejects the same inconsistency ("inconsistent batch offset
		// range"); a producer always sends lastOffsetDelta = count-1.
		return h, &BatchError{Reason: fmt.Sprintf("last offset delta %d does not match record count %d", h.LastOffsetDelta, h.RecordCount)}
	}
	if crc := crc32.Checksum(b[crcStart:h.Size()], castagnoli); crc != h.CRC {
		return h, &BatchError{Reason: fmt.Sprintf("CRC-32C mismatch: header says %08x, data has %08x", h.CRC, crc), Corrupt: true}
	}
	return h, nil
}

// ValidateBatches checks every batch in b (one or more back to back) with
// CheckBatch and returns their headers. Errors carry the failing batch's
// position.
func ValidateBatches(b []byte) ([]BatchHeader, error) {
	if len(b) == 0 {
		return nil, &BatchError{Reason: "no record batches"}
	}
	var hs []BatchHeader
	for pos := 0; pos < len(b); {
		h, err := CheckBatch(b[pos:])
		if err != nil {
			var be *BatchError
			if errors.As(err, &be) {
				be.Pos = pos
			}
			return nil, err
		}
		hs = append(hs, h)
		pos += h.Size()
	}
	return hs, nil
}

// SetBaseOffset rewrites the baseOffset field of the batch at the start of b.
// The field is outside the CRC, so the batch stays valid.
func SetBaseOffset(b []byte, off int64) { binary.BigEndian.PutUint64(b[0:], uint64(off)) }

// SetLogAppendTime marks the batch at the start of b as LogAppendTime with
// the given timestamp (milliseconds) and recomputes its CRC, as Kafka does
// for topics with message.timestamp.type=LogAppendTime.
func SetLogAppendTime(b []byte, ts int64) {
	be := binary.BigEndian
	attrs := be.Uint16(b[21:]) | AttrTimestampLogAppend
	be.PutUint16(b[21:], attrs)
	be.PutUint64(b[35:], uint64(ts))
	size := int(int32(be.Uint32(b[8:]))) + BatchLengthOverhead
	be.PutUint32(b[crcOffset:], crc32.Checksum(b[crcStart:size], castagnoli))
}
