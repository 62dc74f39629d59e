package record

import (
	"bytes"
	"testing"
)

// FuzzWalkRecords checks the in-place record walk (uncompressed batches
// and decoded zstd frames) against the streaming walk (every other
// compressed payload): both must accept and refuse the same record bytes,
// and neither may panic.
func FuzzWalkRecords(f *testing.F) {
	b := makeBatch(3, 20, 1, 1)
	f.Add(b[BatchHeaderSize:], int32(3))
	f.Add(b[BatchHeaderSize:], int32(2))
	f.Add([]byte{0x02, 0x00, 0x00}, int32(1))
	f.Fuzz(func(t *testing.T, data []byte, count int32) {
		if count < 0 || count > 1<<12 {
			return
		}
		inPlace := walkRecords(data, count)
		streamed := walkStream(bytes.NewReader(data), count, 1<<20)
		if (inPlace == nil) != (streamed == nil) {
			t.Fatalf("in-place walk says %v, streaming walk says %v", inPlace, streamed)
		}
	})
}
