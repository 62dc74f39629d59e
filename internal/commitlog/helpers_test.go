package commitlog

import (
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/eddy-streaming/eddy/internal/record"
)

// makeBatch encodes a valid RecordBatch v2 with n records whose values are
// valueSize bytes filled from seed, timestamps starting at ts (1 ms apart).
func makeBatch(n, valueSize int, ts int64, seed byte) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, int64(i)) // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // key length: null
		body = binary.AppendVarint(body, int64(valueSize))
		for j := 0; j < valueSize; j++ {
			body = append(body, seed+byte(i)+byte(j))
		}
		body = binary.AppendVarint(body, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, record.BatchHeaderSize, record.BatchHeaderSize+len(recs))
	b = append(b, recs...)
	be := binary.BigEndian
	be.PutUint64(b[0:], 0)
	be.PutUint32(b[8:], uint32(len(b)-12))
	be.PutUint32(b[12:], 0)
	b[16] = 2
	be.PutUint16(b[21:], 0)
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts+int64(n-1)))
	be.PutUint64(b[43:], ^uint64(0)) // producer id -1
	be.PutUint16(b[51:], ^uint16(0))
	be.PutUint32(b[53:], ^uint32(0))
	be.PutUint32(b[57:], uint32(n))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// batchOfSize returns one batch of about size bytes holding records of
// recSize value bytes.
func batchOfSize(size, recSize int, ts int64) []byte {
	n := max(1, size/(recSize+10))
	return makeBatch(n, recSize, ts, byte(ts))
}

func mustCheck(t testing.TB, b []byte) record.BatchHeader {
	t.Helper()
	h, err := record.CheckBatch(b)
	if err != nil {
		t.Fatalf("check batch: %v", err)
	}
	return h
}
