package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
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
		h, err := ParseBatchHeader(out)
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
			raw, err = Decompress(nil, raw, Codec(c))
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

func keepOffsetMod3(r *Record) bool { return r.Offset%3 == 1 }

func TestFilteredAppendBatch(t *testing.T) {
	jsonVal := func(i int) []byte { return []byte(fmt.Sprintf(`{"n": %d}`, i)) }
	for codec := int8(0); codec <= 4; codec++ {
		for _, keepCodec := range []bool{false, true} {
			for _, tc := range []struct {
				name string
				keep func(r *Record) bool
				want []int64
			}{
				{"offset%3", keepOffsetMod3, []int64{100, 103, 106, 109}},
				{"all", func(*Record) bool { return true }, []int64{100, 101, 102, 103, 104, 105, 106, 107, 108, 109}},
				{"none", func(*Record) bool { return false }, nil},
				{"header", func(r *Record) bool { v, _ := r.Header("i"); return string(v) == "9" }, []int64{109}},
				{"keys", func(r *Record) bool { return string(r.Key) == "k0" || string(r.Key) == "k1" }, []int64{100, 101}},
			} {
				in := buildBatch(t, 100, 10, codec, jsonVal)
				h, err := CheckBatch(in)
				if err != nil {
					t.Fatal(err)
				}
				f := Filtered{KeepCodec: keepCodec}
				out, seen, kept, err := f.AppendBatch([]byte("prefix"), in, &h, tc.keep)
				if err != nil {
					t.Fatal(err)
				}
				if string(out[:6]) != "prefix" {
					t.Fatal("dst clobbered")
				}
				out = out[6:]
				offs, _ := decodeAll(t, out)
				if fmt.Sprint(offs) != fmt.Sprint(tc.want) {
					t.Fatalf("codec %d %s: offsets %v, want %v", codec, tc.name, offs, tc.want)
				}
				if seen != 10 || kept != len(tc.want) {
					t.Fatalf("seen %d kept %d", seen, kept)
				}
				if len(tc.want) == 10 && string(out) != string(in) {
					t.Fatal("all kept but the batch changed")
				}
				if len(tc.want) > 0 && len(tc.want) < 10 {
					oh, _ := ParseBatchHeader(out)
					wantCodec := int8(0)
					if keepCodec {
						wantCodec = codec
					}
					if oh.BaseOffset != 100 || oh.LastOffsetDelta != 9 || oh.ProducerID != 7 || oh.ProducerEpoch != 1 || oh.BaseSequence != 3 || oh.Compression() != wantCodec {
						t.Fatalf("header %+v", oh)
					}
				}
			}
		}
	}
}

func TestAppendEmptyBatch(t *testing.T) {
	out := AppendEmptyBatch(nil, 50, 99, 1234)
	h, err := ParseBatchHeader(out)
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

// BenchmarkFilteredBatch measures filtering a batch of 100 1 KiB records
// at 10 % selectivity, per codec, sending uncompressed or recompressing.
func BenchmarkFilteredBatch(b *testing.B) {
	pad := make([]byte, 900)
	for i := range pad {
		pad[i] = 'a' + byte(i%7)
	}
	val := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"id": %d, "total": %d, "note": "%s"}`, i, (i%10)*250, pad))
	}
	keep := func(r *Record) bool { return r.OffsetDelta%10 == 0 }
	for codec := int8(0); codec <= 4; codec++ {
		for _, keepCodec := range []bool{false, true} {
			if codec == 0 && keepCodec {
				continue
			}
			in := buildBatch(b, 0, 100, codec, val)
			h, _ := CheckBatch(in)
			f := Filtered{KeepCodec: keepCodec}
			var out []byte
			b.Run(fmt.Sprintf("%s/keep=%v", Codec(codec), keepCodec), func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(in)))
				for b.Loop() {
					out, _, _, _ = f.AppendBatch(out[:0], in, &h, keep)
				}
				b.ReportMetric(float64(len(out)), "out-bytes")
			})
		}
	}
}

// FuzzFilteredBatch: whatever the records and the filter, the output always
// decodes, its CRCs are right, its offsets only increase and are a subset
// of the input's; garbage input never panics.
func FuzzFilteredBatch(f *testing.F) {
	f.Add(uint8(10), uint8(3), uint8(0), uint8(0), []byte(`{"n": 1}`))
	f.Add(uint8(1), uint8(1), uint8(1), uint8(2), []byte(`x`))
	f.Add(uint8(50), uint8(7), uint8(4), uint8(1), []byte{})
	f.Add(uint8(3), uint8(2), uint8(2), uint8(0), []byte{0xff, 0, 1})
	keeps := []func(*Record) bool{
		func(r *Record) bool { return r.Offset%3 == 0 },
		func(r *Record) bool { return len(r.Key) > 0 && r.Key[len(r.Key)-1] == '1' },
		func(r *Record) bool { return len(r.Value) > 2 },
		func(r *Record) bool { return r.Value != nil },
	}
	f.Fuzz(func(t *testing.T, n, mod, codec, prog uint8, value []byte) {
		if n == 0 {
			n = 1
		}
		keep := keeps[prog%4]
		in := buildBatch(t, int64(mod)*1000, int(n), int8(codec%5), func(i int) []byte {
			if i%int(mod%5+1) == 0 {
				return value
			}
			return nil
		})
		h, err := CheckBatch(in)
		if err != nil {
			t.Fatal(err)
		}
		fl := Filtered{KeepCodec: codec%2 == 1}
		out, _, kept, err := fl.AppendBatch(nil, in, &h, keep)
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
		if len(outOffs) != kept {
			t.Fatalf("%d records out, %d kept", len(outOffs), kept)
		}
		// Garbage: the batch with its records section corrupted must not
		// panic (an error or a filtered batch is fine).
		bad := append([]byte(nil), in...)
		for i := 61; i < len(bad); i += 7 {
			bad[i] ^= value0(value)
		}
		_, _, _, _ = fl.AppendBatch(nil, bad, &h, keep)
	})
}

func value0(v []byte) byte {
	if len(v) == 0 {
		return 0x55
	}
	return v[0] | 1
}

// TestFilteredDecodeLongVarints: a record whose varints take 10 bytes (a
// timestamp delta of 2^62 or more, valid though never seen) is decoded by
// the exact decoder, the same as binary.Varint reads it.
func TestFilteredDecodeLongVarints(t *testing.T) {
	body := []byte{0}
	body = binary.AppendVarint(body, -1<<62-5) // timestamp delta: 10 bytes
	body = binary.AppendVarint(body, 3)        // offset delta
	body = binary.AppendVarint(body, 1)
	body = append(body, 'k')
	body = binary.AppendVarint(body, 2)
	body = append(body, "vv"...)
	body = binary.AppendVarint(body, 1)
	body = binary.AppendVarint(body, 1)
	body = append(body, 'h')
	body = binary.AppendVarint(body, -1)
	var f Filtered
	h := BatchHeader{BaseOffset: 100, BaseTimestamp: 1000}
	if err := f.decode(body, &h); err != nil {
		t.Fatal(err)
	}
	r := f.rec
	if r.TimestampDelta != -1<<62-5 || r.Offset != 103 || string(r.Key) != "k" || string(r.Value) != "vv" ||
		len(r.Headers) != 1 || string(r.Headers[0].Key) != "h" || r.Headers[0].Value != nil {
		t.Fatalf("%+v", r)
	}
}

// FuzzFilteredDecode: the inlined record decoder agrees with the exact one
// (binary.Varint) on any bytes: same error or none, same fields.
func FuzzFilteredDecode(f *testing.F) {
	f.Add([]byte{0, 2, 4, 2, 'k', 4, 'v', 'v', 2, 2, 'h', 1})
	f.Add([]byte{0, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0, 1, 1, 0})
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0, 1, 1, 0})
	f.Add([]byte{0, 0, 0, 0x7f, 0})
	f.Add([]byte{0, 0, 0, 1, 1, 0x10})
	f.Fuzz(func(t *testing.T, body []byte) {
		if len(body) == 0 {
			return
		}
		h := BatchHeader{BaseOffset: 7, BaseTimestamp: 1000}
		var fast, exact Filtered
		errFast := fast.decode(body, &h)
		errExact := exact.decodeExact(body, &h)
		if (errFast == nil) != (errExact == nil) {
			t.Fatalf("decode error %v, exact decoder error %v", errFast, errExact)
		}
		if errFast != nil {
			return
		}
		a, b := fast.rec, exact.rec
		same := a.Attributes == b.Attributes && a.TimestampDelta == b.TimestampDelta && a.OffsetDelta == b.OffsetDelta &&
			a.Offset == b.Offset && a.Timestamp == b.Timestamp && bytes.Equal(a.Key, b.Key) && (a.Key == nil) == (b.Key == nil) &&
			bytes.Equal(a.Value, b.Value) && (a.Value == nil) == (b.Value == nil) && len(a.Headers) == len(b.Headers)
		for i := 0; same && i < len(a.Headers); i++ {
			same = bytes.Equal(a.Headers[i].Key, b.Headers[i].Key) && bytes.Equal(a.Headers[i].Value, b.Headers[i].Value) &&
				(a.Headers[i].Value == nil) == (b.Headers[i].Value == nil)
		}
		if !same {
			t.Fatalf("decode %+v, exact decoder %+v", a, b)
		}
	})
}
