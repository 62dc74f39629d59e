package record

import (
	"strconv"
	"testing"
)

// benchBatch is a batch of 100 records with a 100-byte JSON-ish value and
// two headers, compressed with c.
func benchBatch(b *testing.B, c Codec) []byte {
	bd := NewBuilder(NewHeader(1_700_000_000_000))
	val := []byte(`{"order_id":"order-000000","sku":"abc-123","qty":1,"price":1999,"currency":"EUR","note":"x"}`)
	for i := range 100 {
		bd.BeginRecord(int32(i), int64(i), []byte("order-"+strconv.Itoa(i)), val, 2)
		bd.AddStringHeader("ce_type", "OrderCreated")
		bd.AddHeader("eddy-stream-version", []byte(strconv.Itoa(i)))
		bd.EndRecord()
	}
	out, err := bd.Finish(c)
	if err != nil {
		b.Fatal(err)
	}
	return append([]byte(nil), out...)
}

// BenchmarkReader iterates every record of a 100-record batch; bytes are
// the batch as stored.
func BenchmarkReader(b *testing.B) {
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			batch := benchBatch(b, c)
			var rd Reader
			defer rd.Release()
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if err := rd.Reset(batch); err != nil {
					b.Fatal(err)
				}
				for rd.Next() {
				}
			}
		})
	}
}

// BenchmarkForEach is BenchmarkReader through ForEach's pooled Reader.
func BenchmarkForEach(b *testing.B) {
	batch := benchBatch(b, CodecNone)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		_ = ForEach(batch, func(*BatchHeader, *Record) error { n++; return nil })
	}
}

// BenchmarkRebuild reads a batch and re-encodes it keeping every other
// record (a filtered view's work per batch).
func BenchmarkRebuild(b *testing.B) {
	for _, c := range allCodecs {
		b.Run(c.String(), func(b *testing.B) {
			batch := benchBatch(b, c)
			var rd Reader
			defer rd.Release()
			var bd Builder
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for b.Loop() {
				if err := rd.Reset(batch); err != nil {
					b.Fatal(err)
				}
				bd.Reset(*rd.Header())
				for rd.Next() {
					if r := rd.Record(); r.OffsetDelta%2 == 0 {
						bd.Add(r)
					}
				}
				if _, err := bd.Finish(c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCheckBatch validates (CRC included) a 100-record batch.
func BenchmarkCheckBatch(b *testing.B) {
	batch := benchBatch(b, CodecNone)
	b.SetBytes(int64(len(batch)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := CheckBatch(batch); err != nil {
			b.Fatal(err)
		}
	}
}
