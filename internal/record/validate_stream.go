package record

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Streaming validation of compressed batches: the payload is decompressed
// through a fixed window and parsed record by record as it comes out, so
// validating a batch costs the window, not its decompressed size, and a
// batch that would expand to gigabytes is refused once its output passes
// the limit (or at its first malformed record, usually much sooner).

// streamWindow is the decompression window of one validation.
const streamWindow = 64 << 10

var windows = sync.Pool{New: func() any { b := make([]byte, streamWindow); return &b }}

// errTooLarge is the stream's signal that the output passed its limit.
var errTooLarge = ErrDecompressedTooLarge

// recStream reads decompressed bytes through a window.
type recStream struct {
	src   io.Reader
	buf   []byte
	r, w  int
	pos   int64 // bytes consumed
	total int64 // bytes produced by src
	limit int64
	eof   bool
	err   error
}

// fill makes at least n bytes available (n <= len(buf)) unless the stream
// ends; it returns false when fewer are available.
func (s *recStream) fill(n int) bool {
	if s.w-s.r >= n {
		return true
	}
	if s.r > 0 {
		copy(s.buf, s.buf[s.r:s.w])
		s.w -= s.r
		s.r = 0
	}
	for s.w < n && !s.eof && s.err == nil {
		m, err := s.src.Read(s.buf[s.w:])
		s.w += m
		s.total += int64(m)
		if s.total > s.limit {
			s.err = errTooLarge
			return false
		}
		if err == io.EOF {
			s.eof = true
		} else if err != nil {
			s.err = err
		}
	}
	return s.w-s.r >= n
}

// varint reads a zig-zag varint; ok=false at a malformed or missing one.
func (s *recStream) varint() (int64, bool) {
	s.fill(binary.MaxVarintLen64)
	v, n := binary.Varint(s.buf[s.r:s.w])
	if n <= 0 {
		return 0, false
	}
	s.r += n
	s.pos += int64(n)
	return v, true
}

// skip consumes n bytes; false if the stream ends first.
func (s *recStream) skip(n int64) bool {
	for n > 0 {
		if s.r == s.w && !s.fill(1) {
			return false
		}
		k := min(n, int64(s.w-s.r))
		s.r += int(k)
		s.pos += k
		n -= k
	}
	return true
}

// atEnd reports whether nothing is left in the stream.
func (s *recStream) atEnd() bool { return !s.fill(1) && s.err == nil }

// walkStream is walkRecords over a stream of decompressed bytes.
func walkStream(src io.Reader, count int32, limit int) error {
	wb := windows.Get().(*[]byte)
	defer windows.Put(wb)
	s := &recStream{src: src, buf: *wb, limit: int64(limit)}
	fail := func(i int32, format string, args ...any) error {
		if s.err != nil {
			return s.err
		}
		return recordErr(i, format, args...)
	}
	for i := int32(0); i < count; i++ {
		if s.atEnd() {
			return &BatchError{Reason: fmt.Sprintf("record count is %d but the batch holds %d records", count, i)}
		}
		length, ok := s.varint()
		if !ok || length < 1 {
			return fail(i, "length %d is not valid", length)
		}
		end := s.pos + length
		var v int64
		ok = s.skip(1) // attributes
		if ok {
			_, ok = s.varint() // timestamp delta
		}
		if ok {
			if v, ok = s.varint(); ok && v != int64(i) {
				return fail(i, "offset delta %d, want %d (deltas must run 0..count-1)", v, i)
			}
		}
		for f := 0; f < 2 && ok; f++ { // key, value
			if v, ok = s.varint(); ok && (v < -1 || s.pos+max(v, 0) > end) {
				return fail(i, "field length %d runs past the record", v)
			}
			if ok && v > 0 {
				ok = s.skip(v)
			}
		}
		var nh int64
		if ok {
			if nh, ok = s.varint(); ok && (nh < 0 || nh > end-s.pos) {
				return fail(i, "header count %d", nh)
			}
		}
		for j := int64(0); j < nh && ok; j++ {
			if v, ok = s.varint(); ok && (v < 0 || s.pos+v > end) {
				return fail(i, "header %d has key length %d", j, v)
			}
			if ok && v > 0 {
				ok = s.skip(v)
			}
			if ok {
				if v, ok = s.varint(); ok && (v < -1 || s.pos+max(v, 0) > end) {
					return fail(i, "header %d has value length %d", j, v)
				}
			}
			if ok && v > 0 {
				ok = s.skip(v)
			}
		}
		if !ok || s.pos > end {
			return fail(i, "fields run past its length %d", length)
		}
		if s.pos != end {
			return fail(i, "%d bytes after its last field", end-s.pos)
		}
	}
	if !s.atEnd() {
		if s.err != nil {
			return s.err
		}
		return &BatchError{Reason: fmt.Sprintf("bytes after the last of %d records", count)}
	}
	return s.err
}

// validateCompressed streams the payload of a compressed batch through
// its codec's decoder into walkStream.
func validateCompressed(c Codec, data []byte, count int32, limit int) error {
	var err error
	switch c {
	case CodecGzip:
		d := gzipDecs.Get().(*gzipDec)
		d.src.Reset(data)
		if err = d.r.Reset(&d.src); err == nil {
			err = walkStream(&d.r, count, limit)
		}
		d.src.Reset(nil)
		gzipDecs.Put(d)
	case CodecLZ4:
		d := lz4Decs.Get().(*lz4Dec)
		d.src.Reset(data)
		d.r.Reset(&d.src)
		err = walkStream(d.r, count, limit)
		d.src.Reset(nil)
		lz4Decs.Put(d)
	case CodecZstd:
		if done, zerr := validateZstdSized(data, count, limit); done {
			err = zerr
			break
		}
		z, _ := zstdStreams.Get().(*zstdStream)
		if z == nil {
			return &BatchError{Reason: "zstd: no decoder"}
		}
		z.src.Reset(data)
		if err = z.d.Reset(&z.src); err == nil {
			err = walkStream(z.d, count, limit)
		}
		z.src.Reset(nil)
		zstdStreams.Put(z)
	default:
		// Snappy blocks are not streams: decode (bounded by their
		// declared length) and walk in place.
		buf := bufPool.Get().(*[]byte)
		out, derr := decompressLimited((*buf)[:0], data, c, limit)
		if cap(out) > cap(*buf) && cap(out) <= maxPooled {
			*buf = out[:0]
		}
		defer bufPool.Put(buf)
		if derr != nil {
			err = derr
		} else {
			return walkRecords(out, count)
		}
	}
	var be *BatchError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &be):
		return err
	case errors.Is(err, ErrDecompressedTooLarge):
		return &BatchError{Reason: fmt.Sprintf("%s payload decompresses to more than %d bytes, the limit for this topic", c, limit), TooLarge: true}
	default:
		return &BatchError{Reason: fmt.Sprintf("%s payload does not decompress: %v", c, err)}
	}
}

// zstdCapped decodes whole frames into the caller's buffer and never
// grows it (WithDecodeAllCapLimit): with a buffer of the frame's declared
// size, a frame that lies about its size fails instead of allocating.
var zstdCapped, _ = zstd.NewReader(nil,
	zstd.WithDecoderConcurrency(0),
	zstd.WithDecoderLowmem(true),
	zstd.WithDecoderMaxMemory(MaxDecompressed),
	zstd.WithDecoderMaxWindow(maxZstdWindow),
	zstd.WithDecodeAllCapLimit(true))

// validateZstdSized is the fast path for zstd frames that declare their
// content size (franz-go's and the Java client's do): one DecodeAll into a
// pooled buffer of exactly that size, then an in-place walk. It reports
// done=false when the frame declares no size, or more data follows than
// declared, for the streaming path to handle.
func validateZstdSized(data []byte, count int32, limit int) (done bool, err error) {
	var zh zstd.Header
	if zh.Decode(data) != nil || !zh.HasFCS || zh.FrameContentSize > uint64(limit) {
		if zh.HasFCS && zh.FrameContentSize > uint64(limit) {
			return true, ErrDecompressedTooLarge
		}
		return false, nil
	}
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	need := int(zh.FrameContentSize)
	if cap(*buf) < need {
		if need > maxPooled {
			b := make([]byte, 0, need)
			buf = &b
		} else {
			*buf = make([]byte, 0, need)
		}
	}
	out, derr := zstdCapped.DecodeAll(data, (*buf)[:0])
	if errors.Is(derr, zstd.ErrDecoderSizeExceeded) {
		return false, nil // more frames than the first declared: stream it
	}
	if derr != nil {
		return true, derr
	}
	return true, walkRecords(out, count)
}
