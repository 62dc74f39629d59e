package record

import (
	"bytes"
	"errors"
	"testing"
)

// FuzzValidateAllRecordsKeep: the kept variant gives ValidateAllRecords'
// verdict on every input, and on valid batches its sections read (through
// ResetRecords) the same records as a Reader decompressing the batch.
func FuzzValidateAllRecordsKeep(f *testing.F) {
	addValidateSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = consistentHeader(b)
		h, err := CheckBatch(b)
		if err != nil {
			return
		}
		hs := []BatchHeader{h}
		want := ValidateAllRecords(b, hs, 1<<20)
		s, got := ValidateAllRecordsKeep(b, hs, 1<<20)
		if (want == nil) != (got == nil) {
			t.Fatalf("ValidateAllRecords: %v; kept: %v", want, got)
		}
		if got != nil {
			var be *BatchError
			if !errors.As(got, &be) {
				t.Fatalf("untyped error %v", got)
			}
			return
		}
		defer s.Release()
		if c := h.Codec(); (c == CodecNone || c == CodecSnappy) != (s.Records[0] != nil) {
			t.Fatalf("codec %s: section kept %v", c, s.Records[0] != nil)
		}
		if s.Records[0] == nil {
			return
		}
		var a, k Reader
		defer a.Release()
		if err := a.ResetHeader(h, b); err != nil {
			t.Fatal(err)
		}
		k.ResetRecords(h, s.Records[0])
		for a.Next() {
			if !k.Next() {
				t.Fatalf("kept section ends early: %v", k.Err())
			}
			ra, rk := a.Record(), k.Record()
			if !bytes.Equal(ra.Key, rk.Key) || !bytes.Equal(ra.Value, rk.Value) || ra.Offset != rk.Offset || len(ra.Headers) != len(rk.Headers) {
				t.Fatalf("record %d differs", ra.OffsetDelta)
			}
		}
		if k.Next() || a.Err() != nil || k.Err() != nil {
			t.Fatalf("readers disagree at the end: %v %v", a.Err(), k.Err())
		}
		// ForEachKeyValue reads the same keys and values.
		var b2 Reader
		defer b2.Release()
		b2.ResetRecords(h, s.Records[0])
		err = ForEachKeyValue(s.Records[0], h.RecordCount, func(i int, key, value []byte) error {
			if !b2.Next() || !bytes.Equal(b2.Record().Key, key) || !bytes.Equal(b2.Record().Value, value) ||
				(b2.Record().Key == nil) != (key == nil) || (b2.Record().Value == nil) != (value == nil) || int(b2.Record().OffsetDelta) != i {
				return errors.New("differs")
			}
			return nil
		})
		if err != nil || b2.Next() {
			t.Fatalf("ForEachKeyValue: %v", err)
		}
	})
}
