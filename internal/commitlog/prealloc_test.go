package commitlog

import (
	"bytes"
	"syscall"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestPreallocationFailureIsHarmless: when reserving blocks fails (a full
// disk), appends go on without reservation and nothing is lost.
func TestPreallocationFailureIsHarmless(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncNever) // SyncAlways zero-fills instead (zerofill_test.go)
	l := openT(t, "/data/t", o)
	fs.FailNext(vfs.OpAllocate, syscall.ENOSPC)
	var batches [][]byte
	for i := 0; i < 10; i++ {
		b := makeBatch(1, 200, int64(i), byte(i))
		if _, err := l.Append(b); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		batches = append(batches, append([]byte(nil), b...))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, "/data/t", memOpts(fs.CrashClone(), SyncNever))
	for i, want := range batches {
		got, err := l2.Read(int64(i), 1)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("batch %d after a clean close and a power cut: %v", i, err)
		}
	}
}
