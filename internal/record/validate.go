package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// Proving a produced batch readable before it is stored. CheckBatch looks
// at the header and the CRC only; a batch whose records are random bytes,
// whose payload does not decompress or whose records do not match its
// header passes it, and then every consumer of the partition fails on it
// forever. ValidateRecords walks every record the way a consumer will.

// ValidateRecords proves that the batch at the start of b (checked with
// CheckBatch, h its header) holds exactly h.RecordCount readable records:
// the payload decompresses (to at most maxDecompressed bytes, when it is
// positive), every record's fields lie within its length, record i has
// offset delta i, header keys are not null, and nothing follows the last
// record. It returns a *BatchError (wrapping ErrInvalidBatch) naming the
// first problem. Uncompressed batches are walked in place without
// allocating; compressed ones are decompressed once, in a streaming
// fashion through a 64 KiB window, and parsed as they come out
// (validate_stream.go), so a decompression bomb costs the window and stops
// at maxDecompressed bytes of output or at its first malformed record.
func ValidateRecords(h *BatchHeader, b []byte, maxDecompressed int) error {
	if h.Size() < BatchHeaderSize || h.Size() > len(b) {
		return &BatchError{Reason: fmt.Sprintf("batch of %d bytes runs past the %d available", h.Size(), len(b))}
	}
	data := b[BatchHeaderSize:h.Size()]
	if c := h.Codec(); c != CodecNone {
		if maxDecompressed <= 0 || maxDecompressed > MaxDecompressed {
			maxDecompressed = MaxDecompressed
		}
		return validateCompressed(c, data, h.RecordCount, maxDecompressed)
	}
	return walkRecords(data, h.RecordCount)
}

// ValidateAllRecords runs ValidateRecords on each batch of b (back to
// back, as ValidateBatches returned their headers hs). Errors carry the
// failing batch's position.
func ValidateAllRecords(b []byte, hs []BatchHeader, maxDecompressed int) error {
	pos := 0
	for i := range hs {
		if err := ValidateRecords(&hs[i], b[pos:], maxDecompressed); err != nil {
			var be *BatchError
			if errors.As(err, &be) {
				be.Pos = pos
			}
			return err
		}
		pos += hs[i].Size()
	}
	return nil
}

// walkRecords checks that data holds exactly count well-formed records
// with offset deltas 0..count-1. It works on positions in data, with the
// one-byte varints every record is mostly made of decoded inline: it runs
// on every produced batch.
func walkRecords(data []byte, count int32) error {
	p := 0
	for i := int32(0); i < count; i++ {
		if p == len(data) {
			return &BatchError{Reason: fmt.Sprintf("record count is %d but the batch holds %d records", count, i)}
		}
		length, q := vAt(data, p)
		if q < 0 || length < 1 || length > int64(len(data)-q) {
			return recordErr(i, "length %d does not fit the %d bytes left", length, len(data)-max(q, p))
		}
		end := q + int(length)
		r := data[:end]
		q++              // attributes byte
		_, q = vAt(r, q) // timestamp delta
		od, q := vAt(r, q)
		if q >= 0 && od != int64(i) {
			return recordErr(i, "offset delta %d, want %d (deltas must run 0..count-1)", od, i)
		}
		var kl, vl, nh int64
		kl, q = vAt(r, q)
		if q >= 0 && kl < -1 {
			return recordErr(i, "key length %d", kl)
		}
		q = skipAt(r, q, kl)
		vl, q = vAt(r, q)
		if q >= 0 && vl < -1 {
			return recordErr(i, "value length %d", vl)
		}
		q = skipAt(r, q, vl)
		nh, q = vAt(r, q)
		if q >= 0 && (nh < 0 || nh > int64(end-q)) {
			return recordErr(i, "header count %d", nh)
		}
		for j := int64(0); j < nh && q >= 0; j++ {
			var hk, hv int64
			hk, q = vAt(r, q)
			if q >= 0 && hk < 0 {
				return recordErr(i, "header %d has key length %d", j, hk)
			}
			q = skipAt(r, q, hk)
			hv, q = vAt(r, q)
			if q >= 0 && hv < -1 {
				return recordErr(i, "header %d has value length %d", j, hv)
			}
			q = skipAt(r, q, hv)
		}
		if q < 0 {
			return recordErr(i, "fields run past its length %d", length)
		}
		if q != end {
			return recordErr(i, "%d bytes after its last field", end-q)
		}
		p = end
	}
	if p != len(data) {
		return &BatchError{Reason: fmt.Sprintf("%d bytes after the last of %d records", len(data)-p, count)}
	}
	return nil
}

// vAt decodes the zig-zag varint at b[p:], returning it and the
// position after it; the position is -1 when p is already -1 or the
// varint is malformed or cut short. One-byte varints take the inlined
// path.
func vAt(b []byte, p int) (int64, int) {
	if uint(p) < uint(len(b)) {
		if c := b[p]; c < 0x80 {
			return int64(c>>1) ^ -int64(c&1), p + 1
		}
	}
	return vSlow(b, p)
}

func vSlow(b []byte, p int) (int64, int) {
	if p < 0 || p >= len(b) {
		return 0, -1
	}
	if p+1 < len(b) && b[p+1] < 0x80 { // two bytes: lengths up to 8 KiB
		x := int64(b[p]&0x7f) | int64(b[p+1])<<7
		return x>>1 ^ -(x & 1), p + 2
	}
	v, n := binary.Varint(b[p:])
	if n <= 0 {
		return 0, -1
	}
	return v, p + n
}

// skipAt skips a field of n bytes (none for a null field, n = -1) at p;
// -1 when it runs past b or p is already -1.
func skipAt(b []byte, p int, n int64) int {
	if p < 0 || n <= 0 {
		return p
	}
	if n > int64(len(b)-p) {
		return -1
	}
	return p + int(n)
}

func recordErr(i int32, format string, args ...any) error {
	return &BatchError{Reason: fmt.Sprintf("record %d: ", i) + fmt.Sprintf(format, args...)}
}

// Streaming zstd decoders, one per concurrent validation: unlike the
// shared DecodeAll decoder they stop at the caller's limit instead of
// materialising whatever a frame claims.
var zstdStreams = sync.Pool{New: func() any {
	d, err := zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(1),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(MaxDecompressed),
		zstd.WithDecoderMaxWindow(maxZstdWindow))
	if err != nil {
		return nil
	}
	return &zstdStream{d: d}
}}

type zstdStream struct {
	d   *zstd.Decoder
	src bytes.Reader
}

// maxZstdWindow caps the window a zstd frame may ask the decoder to
// allocate (producers use at most a few MiB).
const maxZstdWindow = 64 << 20

// decompressLimited is Decompress reading at most limit bytes of output:
// streams are read in pieces and stop past limit, so a small batch that
// would expand to gigabytes costs at most limit bytes.
func decompressLimited(dst, src []byte, c Codec, limit int) ([]byte, error) {
	switch c {
	case CodecGzip:
		d := gzipDecs.Get().(*gzipDec)
		defer gzipDecs.Put(d)
		d.src.Reset(src)
		if err := d.r.Reset(&d.src); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return readAllLimited(dst, &d.r, limit)
	case CodecLZ4:
		d := lz4Decs.Get().(*lz4Dec)
		defer lz4Decs.Put(d)
		d.src.Reset(src)
		d.r.Reset(&d.src)
		return readAllLimited(dst, d.r, limit)
	case CodecSnappy:
		if len(src) >= 16 && bytes.HasPrefix(src, xerialMagic) {
			return decodeXerialLimited(dst, src[16:], limit)
		}
		if n, err := s2.DecodedLen(src); err == nil && n > limit {
			return dst, ErrDecompressedTooLarge
		}
		return decodeSnappyBlock(dst, src)
	case CodecZstd:
		z, _ := zstdStreams.Get().(*zstdStream)
		if z == nil {
			return dst, errors.New("zstd: no decoder")
		}
		z.src.Reset(src)
		if err := z.d.Reset(&z.src); err != nil {
			zstdStreams.Put(z)
			return dst, fmt.Errorf("zstd: %w", err)
		}
		out, err := readAllLimited(dst, z.d, limit)
		z.src.Reset(nil)
		zstdStreams.Put(z)
		if err != nil && !errors.Is(err, ErrDecompressedTooLarge) {
			return out, fmt.Errorf("zstd: %w", err)
		}
		return out, err
	}
	return Decompress(dst, src, c)
}

// readAllLimited reads r to its end into dst's spare capacity, growing it
// as needed, and fails once more than limit bytes came out.
func readAllLimited(dst []byte, r io.Reader, limit int) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			grow := max(4096, cap(dst)-start)
			grow = min(grow, limit+1-(len(dst)-start))
			if grow <= 0 {
				return dst[:start], ErrDecompressedTooLarge
			}
			dst = slices.Grow(dst, grow)
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > limit {
			return dst[:start], ErrDecompressedTooLarge
		}
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst[:start], err
		}
	}
}

func decodeXerialLimited(dst, src []byte, limit int) ([]byte, error) {
	start := len(dst)
	for len(src) > 0 {
		if len(src) < 4 {
			return dst[:start], errXerial
		}
		n := uint32(src[0])<<24 | uint32(src[1])<<16 | uint32(src[2])<<8 | uint32(src[3])
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return dst[:start], errXerial
		}
		if m, err := s2.DecodedLen(src[:n]); err == nil && len(dst)-start+m > limit {
			return dst[:start], ErrDecompressedTooLarge
		}
		var err error
		if dst, err = decodeSnappyBlock(dst, src[:n]); err != nil {
			return dst[:start], err
		}
		src = src[n:]
	}
	return dst, nil
}
