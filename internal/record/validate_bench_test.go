package record

import (
	"math/rand/v2"
	"testing"
)

// validateBenchBatch is a 1 MiB-ish batch of 1 KiB records (half random, half
// repeated bytes, so compression has something to do), with codec c.
func validateBenchBatch(b *testing.B, c Codec) []byte {
	bd := NewBuilder(NewHeader(1_700_000_000_000))
	val := make([]byte, 1024)
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 1000; i++ {
		for j := 0; j < 512; j++ {
			val[j] = byte(r.Uint32())
		}
		bd.BeginRecord(int32(i), int64(i), nil, val, 0)
		bd.EndRecord()
	}
	out, err := bd.Finish(c)
	if err != nil {
		b.Fatal(err)
	}
	return append([]byte(nil), out...)
}

// BenchmarkValidateRecords measures the produce path's record validation
// against CheckBatch (header and CRC, which it always ran) on the same
// batch; SetBytes is the uncompressed records' size, so MB/s compares
// with produce throughput.
func BenchmarkValidateRecords(b *testing.B) {
	for _, c := range []Codec{CodecNone, CodecZstd, CodecLZ4, CodecGzip, CodecSnappy} {
		batch := validateBenchBatch(b, c)
		h, err := CheckBatch(batch)
		if err != nil {
			b.Fatal(err)
		}
		b.Run("check/"+c.String(), func(b *testing.B) {
			b.SetBytes(1000 * 1024)
			for b.Loop() {
				_, _ = CheckBatch(batch)
			}
		})
		b.Run("validate/"+c.String(), func(b *testing.B) {
			b.SetBytes(1000 * 1024)
			b.ReportAllocs()
			for b.Loop() {
				if err := ValidateRecords(&h, batch, 64<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecompressOnly is what decompressing the same batches costs
// (a consumer's decode), the floor ValidateRecords compares with.
func BenchmarkDecompressOnly(b *testing.B) {
	for _, c := range []Codec{CodecZstd, CodecLZ4, CodecGzip} {
		batch := validateBenchBatch(b, c)
		h, _ := CheckBatch(batch)
		var dst []byte
		b.Run(c.String(), func(b *testing.B) {
			b.SetBytes(1000 * 1024)
			for b.Loop() {
				var err error
				if dst, err = Decompress(dst[:0], batch[BatchHeaderSize:h.Size()], c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateBenchPayload validates what `eddy bench produce
// --record-size 1024 --compression zstd|snappy` sends: 1,000 copies of one
// 1 KiB record value, which zstd shrinks to about 5 KB and Snappy to about
// 59 KB, so that validation is all decompression output, content checksum
// and record walk.
func BenchmarkValidateBenchPayload(b *testing.B) {
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 {}:,\""
	val := make([]byte, 1024)
	r := rand.New(rand.NewPCG(1, 2))
	for j := range val {
		val[j] = alpha[r.IntN(len(alpha))]
	}
	for _, c := range []Codec{CodecNone, CodecZstd, CodecSnappy} {
		bd := NewBuilder(NewHeader(1_700_000_000_000))
		for i := 0; i < 1000; i++ {
			bd.BeginRecord(int32(i), int64(i), nil, val, 0)
			bd.EndRecord()
		}
		out, err := bd.Finish(c)
		if err != nil {
			b.Fatal(err)
		}
		batch := append([]byte(nil), out...)
		h, err := CheckBatch(batch)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.String(), func(b *testing.B) {
			b.SetBytes(1000 * 1024)
			b.ReportAllocs()
			for b.Loop() {
				if err := ValidateRecords(&h, batch, 64<<20); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
