package record

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"math"
	"strings"
	"testing"
)

// fixCRC recomputes the CRC of the batch at the start of b after a test
// edited it, so only the edit, not the checksum, is under test.
func fixCRC(b []byte) []byte {
	size := int(binary.BigEndian.Uint32(b[8:])) + BatchLengthOverhead
	binary.BigEndian.PutUint32(b[crcOffset:], crc32.Checksum(b[crcStart:size], castagnoli))
	return b
}

// withRecords returns a copy of batch with its records section replaced
// by recs (codec bits cleared unless codec is given) and count set.
func withRecords(batch, recs []byte, count int32, codec Codec) []byte {
	b := append(append([]byte(nil), batch[:BatchHeaderSize]...), recs...)
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-BatchLengthOverhead))
	be.PutUint16(b[21:], be.Uint16(b[21:])&^AttrCompressionMask|uint16(codec))
	be.PutUint32(b[23:], uint32(count-1))
	be.PutUint32(b[57:], uint32(count))
	return fixCRC(b)
}

// rawRecord encodes one record with the given offset delta.
func rawRecord(delta int64, key, value []byte, headers ...[2][]byte) []byte {
	var body []byte
	body = append(body, 0)
	body = binary.AppendVarint(body, 0)
	body = binary.AppendVarint(body, delta)
	appendBytes := func(v []byte) {
		if v == nil {
			body = binary.AppendVarint(body, -1)
			return
		}
		body = binary.AppendVarint(body, int64(len(v)))
		body = append(body, v...)
	}
	appendBytes(key)
	appendBytes(value)
	body = binary.AppendVarint(body, int64(len(headers)))
	for _, h := range headers {
		appendBytes(h[0])
		appendBytes(h[1])
	}
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

func mustCompress(t testing.TB, src []byte, c Codec) []byte {
	t.Helper()
	out, err := Compress(nil, src, c)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateRecords(t *testing.T) {
	base := makeBatch(2, 10, 1, 1)
	two := append(rawRecord(0, []byte("k"), []byte("v")), rawRecord(1, nil, []byte("w"))...)
	zeros := make([]byte, 8<<20) // one huge record's worth of zeros
	bomb := rawRecord(0, nil, zeros)
	tests := []struct {
		name     string
		batch    []byte
		limit    int
		wantErr  string // "" = valid
		tooLarge bool
	}{
		{"valid uncompressed", base, 0, "", false},
		{"valid by hand", withRecords(base, two, 2, CodecNone), 0, "", false},
		{"random bytes", withRecords(base, []byte("\x93\x11 these are not records at all \xff\xfe"), 2, CodecNone), 0, "record 0", false},
		{"count claims more", withRecords(base, two, math.MaxInt32, CodecNone), 0, "holds 2 records", false},
		{"count claims fewer", withRecords(base, two, 1, CodecNone), 0, "after the last of 1 records", false},
		{"one record with delta 1", withRecords(base, rawRecord(1, nil, []byte("x")), 1, CodecNone), 0, "offset delta 1, want 0", false},
		{"two records both delta 0", withRecords(base, append(rawRecord(0, nil, []byte("a")), rawRecord(0, nil, []byte("b"))...), 2, CodecNone), 0, "offset delta 0, want 1", false},
		{"null header key", withRecords(base, rawRecord(0, nil, []byte("a"), [2][]byte{nil, []byte("v")}), 1, CodecNone), 0, "header 0 has key length -1", false},
		{"value past record end", withRecords(base, func() []byte {
			r := rawRecord(0, nil, []byte("abcdef"))
			r[0] -= 2 * 3 // shrink the varint length by 3 bytes (zigzag)
			return r[:len(r)-3]
		}(), 1, CodecNone), 0, "record 0", false},
		{"bytes after last field", withRecords(base, func() []byte {
			r := rawRecord(0, nil, []byte("abc"))
			r = append(r, 0, 0)
			r[0] += 2 * 2
			return r
		}(), 1, CodecNone), 0, "bytes after its last field", false},
		{"valid gzip", withRecords(base, mustCompress(t, two, CodecGzip), 2, CodecGzip), 0, "", false},
		{"valid snappy", withRecords(base, mustCompress(t, two, CodecSnappy), 2, CodecSnappy), 0, "", false},
		{"valid lz4", withRecords(base, mustCompress(t, two, CodecLZ4), 2, CodecLZ4), 0, "", false},
		{"valid zstd", withRecords(base, mustCompress(t, two, CodecZstd), 2, CodecZstd), 0, "", false},
		{"bad gzip", withRecords(base, []byte("\x1f\x8b\x08\x00garbage-not-deflate"), 2, CodecGzip), 0, "gzip payload does not decompress", false},
		{"bad zstd", withRecords(base, []byte("\x28\xb5\x2f\xfd garbage"), 2, CodecZstd), 0, "zstd payload does not decompress", false},
		{"bad snappy", withRecords(base, []byte{0x20, 0xff, 0xfe, 0xfd, 0x0f, 1, 2}, 2, CodecSnappy), 0, "snappy payload", false},
		{"zstd bomb", withRecords(base, mustCompress(t, bomb, CodecZstd), 1, CodecZstd), 1 << 20, "decompresses to more than 1048576 bytes", true},
		{"gzip bomb", withRecords(base, mustCompress(t, bomb, CodecGzip), 1, CodecGzip), 1 << 20, "decompresses to more than", true},
		{"lz4 bomb", withRecords(base, mustCompress(t, bomb, CodecLZ4), 1, CodecLZ4), 1 << 20, "decompresses to more than", true},
		{"snappy bomb", withRecords(base, mustCompress(t, bomb, CodecSnappy), 1, CodecSnappy), 1 << 20, "decompresses to more than", true},
		{"zstd within limit", withRecords(base, mustCompress(t, bomb, CodecZstd), 1, CodecZstd), 16 << 20, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := CheckBatch(tt.batch)
			if err != nil {
				t.Fatalf("CheckBatch: %v (the header must pass, only the records are under test)", err)
			}
			err = ValidateRecords(&h, tt.batch, tt.limit)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("ValidateRecords: %v", err)
				}
				return
			}
			var be *BatchError
			if !errors.As(err, &be) || !errors.Is(err, ErrInvalidBatch) || be.Corrupt {
				t.Fatalf("ValidateRecords = %v, want an INVALID_RECORD *BatchError", err)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("ValidateRecords = %q, want it to mention %q", err, tt.wantErr)
			}
			if be.TooLarge != tt.tooLarge {
				t.Fatalf("TooLarge = %v, want %v", be.TooLarge, tt.tooLarge)
			}
		})
	}
}

func TestValidateAllRecordsPosition(t *testing.T) {
	good := makeBatch(2, 4, 1, 1)
	bad := withRecords(good, rawRecord(3, nil, []byte("x")), 1, CodecNone)
	b := append(append([]byte(nil), good...), bad...)
	hs, err := ValidateBatches(b)
	if err != nil {
		t.Fatal(err)
	}
	err = ValidateAllRecords(b, hs, 0)
	var be *BatchError
	if !errors.As(err, &be) || be.Pos != len(good) {
		t.Fatalf("ValidateAllRecords = %v, want the second batch's position %d", err, len(good))
	}
}

func TestValidateRecordsAllocs(t *testing.T) {
	b := makeBatch(100, 1000, 1, 1)
	h, _ := CheckBatch(b)
	if n := testing.AllocsPerRun(100, func() { _ = ValidateRecords(&h, b, 0) }); n != 0 {
		t.Fatalf("ValidateRecords of an uncompressed batch allocates %v times", n)
	}
}

// FuzzValidateRecords: whatever ValidateRecords accepts, a consumer
// reads: the Reader yields exactly RecordCount records, record i at
// offset delta i, without error.
func FuzzValidateRecords(f *testing.F) {
	addValidateSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		b = consistentHeader(b)
		h, err := CheckBatch(b)
		if err != nil {
			return
		}
		if err := ValidateRecords(&h, b, 1<<20); err != nil {
			var be *BatchError
			if !errors.As(err, &be) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		var rd Reader
		defer rd.Release()
		if err := rd.ResetHeader(h, b); err != nil {
			t.Fatalf("validated batch does not reset: %v", err)
		}
		n := int32(0)
		for rd.Next() {
			if rd.Record().OffsetDelta != n {
				t.Fatalf("record %d has offset delta %d", n, rd.Record().OffsetDelta)
			}
			n++
		}
		if rd.Err() != nil || n != h.RecordCount {
			t.Fatalf("validated batch reads %d of %d records, err %v", n, h.RecordCount, rd.Err())
		}
	})
}

// addValidateSeeds adds the record-validation fuzz targets' seed batches:
// valid ones, records that do not match their count, and every codec.
func addValidateSeeds(f *testing.F) {
	base := makeBatch(3, 20, 1, 1)
	f.Add(base)
	two := append(rawRecord(0, []byte("k"), []byte("v"), [2][]byte{[]byte("h"), nil}), rawRecord(1, nil, []byte("w"))...)
	f.Add(withRecords(base, two, 2, CodecNone))
	f.Add(withRecords(base, rawRecord(1, nil, []byte("x")), 1, CodecNone))
	for c := CodecGzip; c <= CodecZstd; c++ {
		f.Add(withRecords(base, mustCompress(f, two, c), 2, c))
		f.Add(buildSample(f, c))
	}
}

// consistentHeader returns a copy of b with its header made consistent
// (length, magic, CRC), so the fuzzer explores the records, not the
// checksum; b shorter than a header is returned as it is.
func consistentHeader(b []byte) []byte {
	if len(b) < BatchHeaderSize {
		return b
	}
	b = append([]byte(nil), b...)
	binary.BigEndian.PutUint32(b[8:], uint32(len(b)-BatchLengthOverhead))
	b[16] = 2
	fixCRC(b)
	return b
}
