package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
)

// Codec is a RecordBatch compression codec, the low three attribute bits.
type Codec int8

// The codecs of RecordBatch v2.
const (
	CodecNone   Codec = 0
	CodecGzip   Codec = 1
	CodecSnappy Codec = 2
	CodecLZ4    Codec = 3
	CodecZstd   Codec = 4
)

// String returns the codec's Kafka name (compression.type).
func (c Codec) String() string {
	switch c {
	case CodecNone:
		return "none"
	case CodecGzip:
		return "gzip"
	case CodecSnappy:
		return "snappy"
	case CodecLZ4:
		return "lz4"
	case CodecZstd:
		return "zstd"
	}
	return fmt.Sprintf("codec(%d)", int8(c))
}

// MaxDecompressed bounds what one batch may decompress to, so a small
// malicious batch cannot make the server allocate without limit. Kafka's
// own bound is the fetch and message size settings; 256 MiB is far above
// any batch Eddy accepts (max.message.bytes) yet bounded.
const MaxDecompressed = 256 << 20

// ErrDecompressedTooLarge is returned when a batch decompresses to more
// than MaxDecompressed bytes.
var ErrDecompressedTooLarge = errors.New("batch decompresses to more than 256 MiB")

// ErrUnknownCodec is returned for codec ids above 4.
var ErrUnknownCodec = errors.New("unknown compression codec")

// Pooled stream decoders: gzip and lz4 are streams, so each decoder is
// kept with the bytes.Reader it reads from.
type gzipDec struct {
	r   gzip.Reader
	src bytes.Reader
}

type lz4Dec struct {
	r   *lz4.Reader
	src bytes.Reader
}

var (
	gzipDecs = sync.Pool{New: func() any { return new(gzipDec) }}
	lz4Decs  = sync.Pool{New: func() any { return &lz4Dec{r: lz4.NewReader(nil)} }}
	// One zstd decoder serves every goroutine: DecodeAll is safe for
	// concurrent use and keeps its own pool of block decoders.
	zstdDec, _ = zstd.NewReader(nil,
		zstd.WithDecoderConcurrency(0),
		zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxMemory(MaxDecompressed))
	zstdEnc, _ = zstd.NewWriter(nil, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault))
	gzipEncs   = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(nil, gzip.DefaultCompression); return w }}
	lz4Encs    = sync.Pool{New: func() any { return lz4.NewWriter(nil) }}
)

// xerialMagic starts snappy data framed the way the Java client writes it
// (snappy-java's stream format): magic, version, compatible version, then
// blocks each prefixed by a big-endian length.
var xerialMagic = []byte{0x82, 'S', 'N', 'A', 'P', 'P', 'Y', 0}

// Decompress appends src decompressed with codec c to dst and returns the
// extended slice. CodecNone appends src as is.
func Decompress(dst, src []byte, c Codec) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		d := gzipDecs.Get().(*gzipDec)
		defer gzipDecs.Put(d)
		d.src.Reset(src)
		if err := d.r.Reset(&d.src); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return readAllBounded(dst, &d.r)
	case CodecLZ4:
		d := lz4Decs.Get().(*lz4Dec)
		defer lz4Decs.Put(d)
		d.src.Reset(src)
		d.r.Reset(&d.src)
		return readAllBounded(dst, d.r)
	case CodecSnappy:
		if len(src) >= 16 && bytes.HasPrefix(src, xerialMagic) {
			return decodeXerial(dst, src[16:])
		}
		return decodeSnappyBlock(dst, src)
	case CodecZstd:
		out, err := zstdDec.DecodeAll(src, dst)
		if errors.Is(err, zstd.ErrDecoderSizeExceeded) {
			return dst, ErrDecompressedTooLarge
		}
		if err != nil {
			return dst, fmt.Errorf("zstd: %w", err)
		}
		return out, nil
	}
	return dst, fmt.Errorf("%w %d", ErrUnknownCodec, int8(c))
}

// readAllBounded reads r to its end into dst's spare capacity, growing it
// as needed, and fails past MaxDecompressed.
func readAllBounded(dst []byte, r io.Reader) ([]byte, error) {
	start := len(dst)
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, max(4096, cap(dst)-start))
		}
		n, err := r.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if len(dst)-start > MaxDecompressed {
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

func decodeSnappyBlock(dst, src []byte) ([]byte, error) {
	n, err := s2.DecodedLen(src)
	if err != nil {
		return dst, fmt.Errorf("snappy: %w", err)
	}
	if n > MaxDecompressed-len(dst) {
		return dst, ErrDecompressedTooLarge
	}
	dst = slices.Grow(dst, n)
	out, err := s2.Decode(dst[len(dst):len(dst)+n], src)
	if err != nil {
		return dst, fmt.Errorf("snappy: %w", err)
	}
	return dst[:len(dst)+len(out)], nil
}

var errXerial = errors.New("snappy: malformed xerial framing")

func decodeXerial(dst, src []byte) ([]byte, error) {
	start := len(dst)
	for len(src) > 0 {
		if len(src) < 4 {
			return dst[:start], errXerial
		}
		n := binary.BigEndian.Uint32(src)
		src = src[4:]
		if uint64(n) > uint64(len(src)) {
			return dst[:start], errXerial
		}
		var err error
		if dst, err = decodeSnappyBlock(dst, src[:n]); err != nil {
			return dst[:start], err
		}
		if len(dst)-start > MaxDecompressed {
			return dst[:start], ErrDecompressedTooLarge
		}
		src = src[n:]
	}
	return dst, nil
}

// Compress appends src compressed with codec c to dst. Snappy is written
// as one raw block (what librdkafka and franz-go write; Kafka reads both
// that and the Java client's xerial framing).
func Compress(dst, src []byte, c Codec) ([]byte, error) {
	switch c {
	case CodecNone:
		return append(dst, src...), nil
	case CodecGzip:
		w := gzipEncs.Get().(*gzip.Writer)
		defer gzipEncs.Put(w)
		buf := bytes.NewBuffer(dst)
		w.Reset(buf)
		if _, err := w.Write(src); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		if err := w.Close(); err != nil {
			return dst, fmt.Errorf("gzip: %w", err)
		}
		return buf.Bytes(), nil
	case CodecLZ4:
		w := lz4Encs.Get().(*lz4.Writer)
		defer lz4Encs.Put(w)
		buf := bytes.NewBuffer(dst)
		w.Reset(buf)
		if _, err := w.Write(src); err != nil {
			return dst, fmt.Errorf("lz4: %w", err)
		}
		if err := w.Close(); err != nil {
			return dst, fmt.Errorf("lz4: %w", err)
		}
		return buf.Bytes(), nil
	case CodecSnappy:
		dst = slices.Grow(dst, s2.MaxEncodedLen(len(src)))
		out := s2.EncodeSnappy(dst[len(dst):cap(dst)], src)
		return dst[:len(dst)+len(out)], nil
	case CodecZstd:
		return zstdEnc.EncodeAll(src, dst), nil
	}
	return dst, fmt.Errorf("%w %d", ErrUnknownCodec, int8(c))
}
