package record

import (
	"bytes"
	"errors"
	"hash/crc32"
	"testing"
)

// Seed corpora live in testdata/fuzz/<FuzzName>: empty, short, max-length
// header, valid, valid+garbage, compressed (see corpus_test.go). They run
// as ordinary tests; `go test -fuzz FuzzX` explores further.

func FuzzCheckBatch(f *testing.F) {
	f.Add(makeBatch(3, 20, 1, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := CheckBatch(b)
		if err != nil {
			var be *BatchError
			if !errors.As(err, &be) || !errors.Is(err, ErrInvalidBatch) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if h.Size() > len(b) || h.Size() < BatchHeaderSize || h.RecordCount < 1 {
			t.Fatalf("accepted batch of size %d in %d bytes (count %d)", h.Size(), len(b), h.RecordCount)
		}
	})
}

func FuzzValidateBatches(f *testing.F) {
	v := makeBatch(2, 10, 1, 1)
	f.Add(append(append([]byte(nil), v...), v...))
	f.Fuzz(func(t *testing.T, b []byte) {
		hs, err := ValidateBatches(b)
		if err != nil {
			var be *BatchError
			if !errors.As(err, &be) || be.Pos < 0 || be.Pos > len(b) {
				t.Fatalf("bad error %v", err)
			}
			return
		}
		total := 0
		for _, h := range hs {
			total += h.Size()
		}
		if total != len(b) {
			t.Fatalf("batches cover %d of %d bytes", total, len(b))
		}
	})
}

// FuzzRecords parses and iterates arbitrary bytes as a batch. Whatever
// iterates without error must survive the round trip: re-encoded by a
// Builder from its header and records (with the batch's codec, or none if
// that codec is unknown), the result has a valid CRC, the same header
// fields, and iterates to the same records.
func FuzzRecords(f *testing.F) {
	f.Add(makeBatch(3, 20, 1, 1))
	f.Fuzz(func(t *testing.T, b []byte) {
		var rd Reader
		defer rd.Release()
		var recs []Record
		if rd.Reset(b) == nil {
			for rd.Next() {
				recs = append(recs, cloneRecord(rd.Record()))
				if len(recs) > 1<<16 {
					t.Fatal("more records than the batch can hold")
				}
			}
		}
		if rd.Err() != nil {
			return
		}
		h := *rd.Header()
		if int64(len(recs)) != int64(max(h.RecordCount, 0)) {
			t.Fatalf("iterated %d records of %d", len(recs), h.RecordCount)
		}
		// The framing scan agrees with the Reader wherever it answers.
		if h.Codec() == CodecNone {
			keys := []string{"eddy-expected-version"}
			for _, r := range recs {
				for _, hd := range r.Headers {
					keys = append(keys, string(hd.Key))
				}
			}
			for _, key := range keys {
				want := false
				for _, r := range recs {
					if _, ok := r.Header(key); ok {
						want = true
					}
				}
				if has, ok := HasHeaderKey(b[BatchHeaderSize:h.Size()], h.RecordCount, key); ok && has != want {
					t.Fatalf("HasHeaderKey(%q) = %v, the records say %v", key, has, want)
				}
			}
		}
		bd := NewBuilder(h)
		for i := range recs {
			bd.Add(&recs[i])
			h.LastOffsetDelta = max(h.LastOffsetDelta, recs[i].OffsetDelta)
		}
		c := h.Codec()
		if c > CodecZstd {
			c = CodecNone
		}
		out, err := bd.Finish(c)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		checkRoundTrip(t, h, recs, out)
	})
}

// FuzzBuild encodes fuzzer-chosen records with every codec and checks
// the batch passes CheckBatch and iterates back to them.
func FuzzBuild(f *testing.F) {
	f.Add([]byte("k"), []byte("value"), "h", []byte("hv"), uint8(3), int64(5), uint8(0))
	f.Add([]byte(nil), []byte(nil), "", []byte(nil), uint8(1), int64(-5), uint8(4))
	f.Fuzz(func(t *testing.T, key, value []byte, hk string, hv []byte, n uint8, tsDelta int64, codec uint8) {
		c := Codec(codec % 5)
		h := NewHeader(1_700_000_000_000)
		h.BaseOffset = 42
		h.ProducerID, h.ProducerEpoch, h.BaseSequence = 7, 1, 100
		bd := NewBuilder(h)
		var want []Record
		for i := 0; i < int(n%20)+1; i++ {
			r := Record{OffsetDelta: int32(i), TimestampDelta: tsDelta * int64(i), Key: key, Value: value}
			if i%2 == 1 {
				r.Headers = []Header{{Key: []byte(hk), Value: hv}, {Key: []byte("second"), Value: nil}}
			}
			bd.Add(&r)
			want = append(want, r)
		}
		out, err := bd.Finish(c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := CheckBatch(out)
		if err != nil {
			t.Fatalf("built batch fails its check: %v", err)
		}
		if got.Codec() != c || got.BaseOffset != 42 || got.ProducerID != 7 || got.ProducerEpoch != 1 || got.BaseSequence != 100 {
			t.Fatalf("header %+v", got)
		}
		h.LastOffsetDelta = int32(len(want) - 1)
		checkRoundTrip(t, h, want, out)
	})
}

func cloneRecord(r *Record) Record {
	c := *r
	c.Key = bytes.Clone(r.Key)
	c.Value = bytes.Clone(r.Value)
	c.Headers = nil
	for _, h := range r.Headers {
		c.Headers = append(c.Headers, Header{Key: bytes.Clone(h.Key), Value: bytes.Clone(h.Value)})
	}
	return c
}

// checkRoundTrip checks that out is a batch with h's kept fields and a
// valid CRC whose records are want.
func checkRoundTrip(t *testing.T, h BatchHeader, want []Record, out []byte) {
	t.Helper()
	g, err := ParseBatchHeader(out)
	if err != nil {
		t.Fatal(err)
	}
	if g.Size() != len(out) {
		t.Fatalf("batch length says %d bytes, have %d", g.Size(), len(out))
	}
	if crc := crc32.Checksum(out[crcStart:], castagnoli); crc != g.CRC {
		t.Fatalf("CRC %08x, data has %08x", g.CRC, crc)
	}
	if g.BaseOffset != h.BaseOffset || g.PartitionLeaderEpoch != h.PartitionLeaderEpoch || g.LastOffsetDelta != h.LastOffsetDelta ||
		g.BaseTimestamp != h.BaseTimestamp || g.ProducerID != h.ProducerID || g.ProducerEpoch != h.ProducerEpoch ||
		g.BaseSequence != h.BaseSequence || g.Attributes&^AttrCompressionMask != h.Attributes&^AttrCompressionMask ||
		g.RecordCount != int32(len(want)) {
		t.Fatalf("header changed:\n got %+v\nfrom %+v", g, h)
	}
	var rd Reader
	defer rd.Release()
	if err := rd.Reset(out); err != nil {
		t.Fatal(err)
	}
	i := 0
	for ; rd.Next(); i++ {
		r := rd.Record()
		if i >= len(want) {
			t.Fatalf("more records than %d", len(want))
		}
		w := want[i]
		if r.OffsetDelta != w.OffsetDelta || r.TimestampDelta != w.TimestampDelta || r.Attributes != w.Attributes ||
			!bytes.Equal(r.Key, w.Key) || (r.Key == nil) != (w.Key == nil) ||
			!bytes.Equal(r.Value, w.Value) || (r.Value == nil) != (w.Value == nil) || len(r.Headers) != len(w.Headers) {
			t.Fatalf("record %d: got %+v, want %+v", i, *r, w)
		}
		for j, hd := range r.Headers {
			if !bytes.Equal(hd.Key, w.Headers[j].Key) || !bytes.Equal(hd.Value, w.Headers[j].Value) || (hd.Value == nil) != (w.Headers[j].Value == nil) {
				t.Fatalf("record %d header %d: got %q=%q, want %q=%q", i, j, hd.Key, hd.Value, w.Headers[j].Key, w.Headers[j].Value)
			}
		}
	}
	if err := rd.Err(); err != nil {
		t.Fatal(err)
	}
	if i != len(want) {
		t.Fatalf("iterated %d records, want %d", i, len(want))
	}
}
