package record

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var allCodecs = []Codec{CodecNone, CodecGzip, CodecSnappy, CodecLZ4, CodecZstd}

// TestBuilderMatchesKmsg checks every codec against franz-go's reading of
// the same bytes: kmsg decodes the batch header and kgo's decompressor the
// records section, so the encoder is checked by an independent decoder.
func TestBuilderMatchesKmsg(t *testing.T) {
	dec := kgo.DefaultDecompressor()
	for _, c := range allCodecs {
		t.Run(c.String(), func(t *testing.T) {
			b := buildSample(t, c)
			if _, err := CheckBatch(b); err != nil {
				t.Fatal(err)
			}
			var kb kmsg.RecordBatch
			if err := kb.ReadFrom(b); err != nil {
				t.Fatalf("kmsg: %v", err)
			}
			if kb.NumRecords != 3 || kb.LastOffsetDelta != 2 || kb.Attributes&7 != int16(c) || kb.ProducerID != -1 || kb.FirstTimestamp != 1_700_000_000_000 || kb.MaxTimestamp != 1_700_000_000_002 {
				t.Fatalf("kmsg header %+v", kb)
			}
			raw, err := dec.Decompress(kb.Records, kgo.CompressionCodecType(c))
			if err != nil {
				t.Fatalf("kgo decompress: %v", err)
			}
			for i := range 3 {
				var kr kmsg.Record
				if err := kr.ReadFrom(raw); err != nil {
					t.Fatalf("kmsg record %d: %v", i, err)
				}
				raw = raw[kr.Length+int32(varintLen(int64(kr.Length))):]
				if string(kr.Key) != "order-"+strconv.Itoa(i) || kr.OffsetDelta != int32(i) || len(kr.Headers) != 2 || string(kr.Headers[1].Value) != "any" {
					t.Fatalf("kmsg record %d: %+v", i, kr)
				}
			}
			var rd Reader
			defer rd.Release()
			if err := rd.Reset(b); err != nil {
				t.Fatal(err)
			}
			n := 0
			for rd.Next() {
				r := rd.Record()
				if string(r.Key) != "order-"+strconv.Itoa(n) || r.Offset != int64(n) || r.Timestamp != 1_700_000_000_000+int64(n) {
					t.Fatalf("record %d: %+v", n, *r)
				}
				if v, ok := r.Header("ce_type"); !ok || string(v) != "OrderCreated" {
					t.Fatalf("record %d ce_type %q %v", n, v, ok)
				}
				n++
			}
			if rd.Err() != nil || n != 3 {
				t.Fatalf("read %d records: %v", n, rd.Err())
			}
		})
	}
}

func varintLen(v int64) int { return len(binary.AppendVarint(nil, v)) }

// TestDecompressKgo reads records compressed by franz-go's compressor for
// every codec (the bytes a kgo producer sends).
func TestDecompressKgo(t *testing.T) {
	src := bytes.Repeat([]byte("eddy record payload "), 500)
	for _, c := range []kgo.CompressionCodec{kgo.GzipCompression(), kgo.SnappyCompression(), kgo.Lz4Compression(), kgo.ZstdCompression()} {
		comp, err := kgo.DefaultCompressor(c)
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		out, codec := comp.Compress(&buf, src)
		got, err := Decompress(nil, out, Codec(codec))
		if err != nil || !bytes.Equal(got, src) {
			t.Fatalf("codec %d: %v, %d bytes back of %d", codec, err, len(got), len(src))
		}
	}
}

// TestXerialSnappy reads snappy in the Java client's framing.
func TestXerialSnappy(t *testing.T) {
	a, b := []byte("first block "), bytes.Repeat([]byte("second"), 100)
	framed := append([]byte(nil), xerialMagic...)
	framed = append(framed, 0, 0, 0, 1, 0, 0, 0, 1)
	for _, blk := range [][]byte{a, b} {
		enc := s2.EncodeSnappy(nil, blk)
		framed = binary.BigEndian.AppendUint32(framed, uint32(len(enc)))
		framed = append(framed, enc...)
	}
	got, err := Decompress([]byte("x"), framed, CodecSnappy)
	if err != nil || string(got) != "x"+string(a)+string(b) {
		t.Fatalf("got %q, %v", got, err)
	}
	if _, err := Decompress(nil, framed[:len(framed)-3], CodecSnappy); err == nil {
		t.Fatal("truncated xerial frame accepted")
	}
}

// TestDecompressBounded refuses a snappy block that claims more than
// MaxDecompressed, before allocating it, and unknown codecs.
func TestDecompressBounded(t *testing.T) {
	bomb := binary.AppendUvarint(nil, MaxDecompressed+1)
	if _, err := Decompress(nil, bomb, CodecSnappy); !errors.Is(err, ErrDecompressedTooLarge) {
		t.Fatalf("got %v", err)
	}
	if _, err := Decompress(nil, []byte{1}, Codec(5)); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("codec 5: %v", err)
	}
	b := buildSample(t, CodecNone)
	b[22] |= 6 // codec 6
	var rd Reader
	if err := rd.Reset(b); !errors.Is(err, ErrUnknownCodec) {
		t.Fatalf("reader on codec 6: %v", err)
	}
}

// TestFilterKeepsOffsets re-encodes a batch without some of its records,
// as a filtered view does: offsets, lastOffsetDelta and the producer
// fields stay; the count and CRC follow the records kept.
func TestFilterKeepsOffsets(t *testing.T) {
	for _, c := range allCodecs {
		src := NewHeader(1000)
		src.BaseOffset, src.ProducerID, src.ProducerEpoch, src.BaseSequence = 500, 9, 2, 30
		src.Attributes = AttrTransactional
		bd := NewBuilder(src)
		for i := range 10 {
			bd.BeginRecord(int32(i), int64(i), []byte(fmt.Sprint(i%3)), []byte("v"), 0)
			bd.EndRecord()
		}
		full, err := bd.Finish(c)
		if err != nil {
			t.Fatal(err)
		}
		full = bytes.Clone(full)
		var rd Reader
		if err := rd.Reset(full); err != nil {
			t.Fatal(err)
		}
		out := NewBuilder(*rd.Header())
		for rd.Next() {
			if r := rd.Record(); string(r.Key) == "1" {
				out.Add(r)
			}
		}
		rd.Release()
		view, err := out.Finish(c)
		if err != nil {
			t.Fatal(err)
		}
		h, err := ParseBatchHeader(view)
		if err != nil {
			t.Fatal(err)
		}
		if h.BaseOffset != 500 || h.LastOffsetDelta != 9 || h.RecordCount != 3 || h.ProducerID != 9 || h.BaseSequence != 30 || !h.IsTransactional() || h.Codec() != c {
			t.Fatalf("%s: header %+v", c, h)
		}
		var offs []int64
		err = ForEach(view, func(_ *BatchHeader, r *Record) error { offs = append(offs, r.Offset); return nil })
		if err != nil || fmt.Sprint(offs) != "[501 504 507]" {
			t.Fatalf("%s: offsets %v, %v", c, offs, err)
		}
		// lastOffsetDelta 9 with 3 records is a compacted-style batch: the
		// log refuses it for produce, as Kafka does.
		if _, err := CheckBatch(view); err == nil {
			t.Fatalf("%s: CheckBatch accepted lastOffsetDelta 9 with 3 records", c)
		}
	}
}

// TestLogAppendTime: records of a LogAppendTime batch carry the batch's
// max timestamp, and SetLogAppendTime keeps the CRC valid.
func TestLogAppendTime(t *testing.T) {
	b := makeBatch(3, 4, 1000, 1)
	SetLogAppendTime(b, 5000)
	if _, err := CheckBatch(b); err != nil {
		t.Fatal(err)
	}
	err := ForEach(b, func(h *BatchHeader, r *Record) error {
		if !h.IsLogAppendTime() || r.Timestamp != 5000 {
			return fmt.Errorf("record %d timestamp %d", r.Offset, r.Timestamp)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestTruncatedRecords: a batch whose records section is cut short or
// claims more records than it holds fails iteration with ErrShortRecord.
func TestTruncatedRecords(t *testing.T) {
	b := makeBatch(3, 10, 1, 1)
	binary.BigEndian.PutUint32(b[57:], 4) // claims 4 records
	n := 0
	err := ForEach(b, func(*BatchHeader, *Record) error { n++; return nil })
	if !errors.Is(err, ErrShortRecord) || n != 3 {
		t.Fatalf("%d records, %v", n, err)
	}
	if err := ForEachInBatches(b[:len(b)-1], func(*BatchHeader, *Record) error { return nil }); !errors.Is(err, ErrShortRecord) {
		t.Fatalf("cut batch: %v", err)
	}
	two := append(makeBatch(2, 3, 1, 1), makeBatch(1, 3, 1, 1)...)
	n = 0
	if err := ForEachInBatches(two, func(*BatchHeader, *Record) error { n++; return nil }); err != nil || n != 3 {
		t.Fatalf("two batches: %d records, %v", n, err)
	}
}

// TestReaderAllocs: iterating a batch, compressed or not, allocates
// nothing once the Reader's buffers are warm.
func TestReaderAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under the race detector")
	}
	for _, c := range allCodecs {
		b := buildSample(t, c)
		var rd Reader
		read := func() {
			if err := rd.Reset(b); err != nil {
				t.Fatal(err)
			}
			for rd.Next() {
			}
			if rd.Err() != nil {
				t.Fatal(rd.Err())
			}
		}
		read()
		allowed := 0.0
		if c == CodecGzip || c == CodecLZ4 {
			allowed = 1 // the stream decoders' Reset may allocate a little
		}
		if a := testing.AllocsPerRun(50, read); a > allowed {
			t.Errorf("%s: %.1f allocations per batch", c, a)
		}
		rd.Release()
	}
}
