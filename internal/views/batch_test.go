package views

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/filter"
)

// buildBatch encodes n records at base with franz-go's kmsg, compressed
// with codec (0-4); record i has key k<i>, value {"n": i} and a header.
func buildBatch(t testing.TB, base int64, n int, codec int8, valueOf func(i int) []byte) []byte {
	t.Helper()
	var recs []byte
	for i := 0; i < n; i++ {
		r := kmsg.NewRecord()
		r.TimestampDelta64 = int64(i)
		r.OffsetDelta = int32(i)
		r.Key = []byte(fmt.Sprintf("k%d", i))
		r.Value = valueOf(i)
		r.Headers = []kmsg.Header{{Key: "i", Value: []byte(fmt.Sprint(i))}}
		r.Length = int32(len(r.AppendTo(nil)) - 1) // the body after a zero length varint
		recs = r.AppendTo(recs)
	}
	if codec != 0 {
		c := [...]kgo.CompressionCodec{kgo.NoCompression(), kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()}[codec]
		comp, err := kgo.DefaultCompressor(c)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		c2, _ := comp.Compress(&buf, recs)
		recs = append([]byte(nil), c2...)
	}
	b := kmsg.RecordBatch{FirstOffset: base, Magic: 2, Attributes: int16(codec), LastOffsetDelta: int32(n - 1),
		FirstTimestamp: 1000, MaxTimestamp: 1000 + int64(n-1), ProducerID: 7, ProducerEpoch: 1, FirstSequence: 3,
		NumRecords: int32(n), Records: recs, Length: int32(49 + len(recs))}
	raw := b.AppendTo(nil)
	binary.BigEndian.PutUint32(raw[17:], crc32.Checksum(raw[21:], castagnoli))
	return raw
}

// decodeAll checks that out is well-formed batches (CRC right, lengths
// right, offsets only increasing) and returns the offsets and keys of its
// records.
func decodeAll(t testing.TB, out []byte) (offsets []int64, keys []string) {
	t.Helper()
	last := int64(-1)
	for len(out) > 0 {
		h, err := commitlog.ParseBatchHeader(out)
		if err != nil || h.Size() > len(out) || h.Size() < 61 {
			t.Fatalf("output batch header: %v (%d bytes left)", err, len(out))
		}
		if crc := crc32.Checksum(out[21:h.Size()], castagnoli); crc != h.CRC {
			t.Fatalf("batch at %d: CRC %x, header says %x", h.BaseOffset, crc, h.CRC)
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(out[:h.Size()]); err != nil {
			t.Fatalf("decode: %v", err)
		}
		if b.FirstOffset <= last {
			t.Fatalf("batch base %d after offset %d", b.FirstOffset, last)
		}
		raw := b.Records
		if c := b.Attributes & 7; c != 0 {
			raw, err = kgo.DefaultDecompressor().Decompress(raw, kgo.CompressionCodecType(c))
			if err != nil {
				t.Fatal(err)
			}
		}
		for i := int32(0); i < b.NumRecords; i++ {
			var r kmsg.Record
			l, n := binary.Varint(raw)
			if n <= 0 || int(l) > len(raw)-n {
				t.Fatalf("record %d length", i)
			}
			if err := r.ReadFrom(raw[:n+int(l)]); err != nil {
				t.Fatalf("record %d: %v", i, err)
			}
			raw = raw[n+int(l):]
			off := b.FirstOffset + int64(r.OffsetDelta)
			if off <= last || off > b.FirstOffset+int64(b.LastOffsetDelta) {
				t.Fatalf("record offset %d after %d (batch [%d, %d])", off, last, b.FirstOffset, b.FirstOffset+int64(b.LastOffsetDelta))
			}
			last = off
			offsets = append(offsets, off)
			keys = append(keys, string(r.Key))
		}
		if len(raw) != 0 {
			t.Fatalf("%d bytes after the records", len(raw))
		}
		if end := b.FirstOffset + int64(b.LastOffsetDelta); end > last {
			last = end
		}
		out = out[h.Size():]
	}
	return offsets, keys
}

func TestAppendBatch(t *testing.T) {
	jsonVal := func(i int) []byte { return []byte(fmt.Sprintf(`{"n": %d}`, i)) }
	for codec := int8(0); codec <= 4; codec++ {
		for _, tc := range []struct {
			expr string
			want []int64
			same bool
		}{
			{"value.n % 3 == 0", []int64{100, 103, 106, 109}, false},
			{"true", []int64{100, 101, 102, 103, 104, 105, 106, 107, 108, 109}, codec == 0 || true},
			{"false", nil, false},
			{`headers.i == "9"`, []int64{109}, false},
			{`key == "k0" || key == "k1"`, []int64{100, 101}, false},
		} {
			p, err := filter.Compile(tc.expr)
			if err != nil {
				t.Fatal(err)
			}
			in := buildBatch(t, 100, 10, codec, jsonVal)
			h, err := commitlog.CheckBatch(in)
			if err != nil {
				t.Fatal(err)
			}
			f := Filter{Prog: p}
			var st Stats
			out, err := f.AppendBatch([]byte("prefix"), in, &h, &st)
			if err != nil {
				t.Fatal(err)
			}
			if string(out[:6]) != "prefix" {
				t.Fatal("dst clobbered")
			}
			out = out[6:]
			offs, _ := decodeAll(t, out)
			if fmt.Sprint(offs) != fmt.Sprint(tc.want) {
				t.Fatalf("codec %d %s: offsets %v, want %v", codec, tc.expr, offs, tc.want)
			}
			if st.Records != 10 || st.Matched != int64(len(tc.want)) {
				t.Fatalf("stats %+v", st)
			}
			if len(tc.want) == 10 && string(out) != string(in) {
				t.Fatal("all matched but the batch changed")
			}
			if len(tc.want) > 0 && len(tc.want) < 10 {
				oh, _ := commitlog.ParseBatchHeader(out)
				if oh.BaseOffset != 100 || oh.LastOffsetDelta != 9 || oh.ProducerID != 7 || oh.ProducerEpoch != 1 || oh.BaseSequence != 3 || oh.Compression() != 0 {
					t.Fatalf("header %+v", oh)
				}
			}
		}
	}
}

func TestAppendEmptyBatch(t *testing.T) {
	out := AppendEmptyBatch(nil, 50, 99, 1234)
	h, err := commitlog.ParseBatchHeader(out)
	if err != nil {
		t.Fatal(err)
	}
	if h.BaseOffset != 50 || h.LastOffset() != 99 || h.RecordCount != 0 || h.Size() != len(out) {
		t.Fatalf("%+v", h)
	}
	offs, _ := decodeAll(t, out)
	if len(offs) != 0 {
		t.Fatal(offs)
	}
}

// BenchmarkFilterBatch measures filtering a batch of 100 1 KiB JSON records
// at 10 % selectivity.
func BenchmarkFilterBatch(b *testing.B) {
	pad := make([]byte, 900)
	for i := range pad {
		pad[i] = 'x'
	}
	val := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"id": %d, "total": %d, "note": "%s"}`, i, (i%10)*250, pad))
	}
	for _, expr := range []string{"value.total > 2000", `headers.i == "5"`} {
		p, _ := filter.Compile(expr)
		in := buildBatch(b, 0, 100, 0, val)
		h, _ := commitlog.CheckBatch(in)
		f := Filter{Prog: p}
		var st Stats
		out := make([]byte, 0, len(in))
		b.Run(expr, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			for b.Loop() {
				out, _ = f.AppendBatch(out[:0], in, &h, &st)
			}
		})
	}
}

// FuzzAppendBatch: whatever the records and the filter, the output always
// decodes, its CRCs are right, its offsets only increase and are a subset
// of the input's; garbage input never panics.
func FuzzAppendBatch(f *testing.F) {
	f.Add(uint8(10), uint8(3), uint8(0), uint8(0), []byte(`{"n": 1}`))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), []byte(`x`))
	f.Add(uint8(50), uint8(7), uint8(4), uint8(1), []byte{})
	f.Add(uint8(3), uint8(2), uint8(2), uint8(0), []byte{0xff, 0, 1})
	progs := map[uint8]*filter.Program{}
	for i, e := range []string{"offset % 3 == 0", "key.endsWith(\"1\")", "size(raw) > 2", "value != null"} {
		p, err := filter.Compile(e)
		if err != nil {
			f.Fatal(err)
		}
		progs[uint8(i)] = p
	}
	f.Fuzz(func(t *testing.T, n, mod, codec, prog uint8, value []byte) {
		if n == 0 {
			n = 1
		}
		p := progs[prog%4]
		in := buildBatch(t, int64(mod)*1000, int(n), int8(codec%5), func(i int) []byte {
			if i%int(mod%5+1) == 0 {
				return value
			}
			return nil
		})
		h, err := commitlog.CheckBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		fl := Filter{Prog: p}
		var st Stats
		out, err := fl.AppendBatch(nil, in, &h, &st)
		if err != nil {
			t.Fatal(err)
		}
		inOffs, _ := decodeAll(t, in)
		outOffs, _ := decodeAll(t, out)
		j := 0
		for _, o := range outOffs {
			for j < len(inOffs) && inOffs[j] != o {
				j++
			}
			if j == len(inOffs) {
				t.Fatalf("output offset %d not in input %v", o, inOffs)
			}
		}
		if int64(len(outOffs)) != st.Matched {
			t.Fatalf("%d records out, %d matched", len(outOffs), st.Matched)
		}
		// Garbage: the batch with its records section corrupted must not
		// panic (an error or a filtered batch is fine).
		bad := append([]byte(nil), in...)
		for i := 61; i < len(bad); i += 7 {
			bad[i] ^= value0(value)
		}
		_, _ = fl.AppendBatch(nil, bad, &h, &st)
	})
}

func value0(v []byte) byte {
	if len(v) == 0 {
		return 0x55
	}
	return v[0] | 1
}
