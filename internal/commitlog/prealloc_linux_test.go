package commitlog

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// allocated returns the bytes of disk blocks a file holds.
func allocated(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Sys().(*syscall.Stat_t).Blocks * 512
}

// TestPreallocationReservedAndReleased: the active segment reserves blocks
// ahead of its end without changing its size; rolling and closing give back
// what was not used, so sealed segments hold only their bytes.
func TestPreallocationReservedAndReleased(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	o.Sync = SyncNever
	o.SegmentBytes = 64 << 10
	o.PreallocateBytes = 1 << 20 // capped at SegmentBytes
	l := openT(t, dir, o)
	b := makeBatch(4, 1000, 1, 1)
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, segmentName(0, logSuffix))
	st, _ := os.Stat(first)
	if st.Size() != int64(len(b)) {
		t.Fatalf("segment size %d after one append of %d bytes", st.Size(), len(b))
	}
	if got := allocated(t, first); got < 32<<10 {
		t.Skipf("filesystem did not reserve blocks (%d allocated); nothing to check", got)
	}
	if got := allocated(t, first); got > 64<<10+4096 {
		t.Fatalf("reserved %d bytes, more than the 64 KiB segment limit", got)
	}
	for l.SegmentCount() < 3 {
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
	}
	st, _ = os.Stat(first)
	if got := allocated(t, first); got > st.Size()+4096 {
		t.Fatalf("sealed segment of %d bytes still holds %d bytes of blocks", st.Size(), got)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	names, _ := os.ReadDir(dir)
	for _, e := range names {
		if filepath.Ext(e.Name()) != logSuffix {
			continue
		}
		p := filepath.Join(dir, e.Name())
		st, _ := os.Stat(p)
		if got := allocated(t, p); got > st.Size()+4096 {
			t.Fatalf("%s: %d bytes but %d allocated after Close", e.Name(), st.Size(), got)
		}
	}
	// Reopened, the log reads back every batch.
	l = openT(t, dir, o)
	defer l.Close()
	for off := int64(0); off < l.LogEndOffset(); off += 4 {
		if got, err := l.Read(off, 1); err != nil || len(got) != len(b) {
			t.Fatalf("read %d after reopen: %d bytes, %v", off, len(got), err)
		}
	}
}
