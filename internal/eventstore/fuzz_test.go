package eventstore

import (
	"testing"

	"github.com/eddy-streaming/eddy/internal/commitlog"
)

// FuzzRecords feeds arbitrary bytes to the record-batch walker the index
// and the expected-version check run on every produced batch: it must
// return an error or records inside the input, never panic or overread.
func FuzzRecords(f *testing.F) {
	bb := newBatchBuilder(1000)
	bb.add(1000, []byte("order-1"), []byte(`{"a":1}`), []Header{{HeaderID, []byte("x")}, {HeaderExpectedVersion, []byte("any")}})
	bb.add(1001, nil, nil, nil)
	valid := bb.finish()
	f.Add([]byte{})
	f.Add(valid[:10])
	f.Add(valid)
	f.Add(append(append([]byte(nil), valid...), 0xff, 0x01, 0x02))
	long := make([]byte, 70)
	copy(long, valid[:61])
	f.Add(long)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = forEachBatchRecord(b, func(h *commitlog.BatchHeader, r *Record) error {
			for _, s := range [][]byte{r.Key, r.Value} {
				if len(s) > len(b) {
					t.Fatalf("field of %d bytes from %d input bytes", len(s), len(b))
				}
			}
			return nil
		})
		if len(b) >= commitlog.BatchHeaderSize {
			if h, err := commitlog.ParseBatchHeader(b); err == nil && h.Size() <= len(b) && h.Size() >= commitlog.BatchHeaderSize {
				_ = forEachRecord(h, b[:h.Size()], func(*Record) error { return nil })
			}
		}
	})
}
