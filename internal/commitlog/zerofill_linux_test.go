package commitlog

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestZeroFillOnDisk runs zero-filling on the real filesystem (O_DIRECT
// writes and fdatasync): the active segment's file grows past its batches
// with allocated zero blocks; a crash leaves them, Verify calls them zeros
// rather than damage, and reopening drops them; Close cuts them off.
func TestZeroFillOnDisk(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	o.SegmentBytes = 4 << 20
	o.PreallocateBytes = 1 << 20
	l := openT(t, dir, o)
	b := makeBatch(16, 1000, 1, 1)
	var bases []int64
	for i := 0; i < 40; i++ {
		base, err := l.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	path, size, alloc := activeFill(l)
	if alloc <= size {
		if l.activeLocked().noAlloc {
			t.Skip("this filesystem cannot zero-fill (no O_DIRECT); appends go on without")
		}
		t.Fatalf("zero-filled to %d, data ends at %d", alloc, size)
	}
	st, _ := os.Stat(path)
	if st.Size() != alloc {
		t.Fatalf("file is %d bytes, zero-filled to %d", st.Size(), alloc)
	}
	if got := allocated(t, path); got < alloc {
		t.Fatalf("%d bytes of blocks for a file zero-filled to %d: the zeros are holes", got, alloc)
	}
	l.closeUnclean()
	r := checkVerified(t, vfs.OS(), dir, true)
	if z := r.Segments[0].ZeroBytes; z != alloc-size {
		t.Fatalf("verify found %d zero bytes, want %d", z, alloc-size)
	}
	l = openT(t, dir, o)
	for _, base := range bases {
		if got, err := l.Read(base, 1); err != nil || string(got[12:]) != string(b[12:]) {
			t.Fatalf("offset %d after a crash: %v", base, err)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, segmentName(0, logSuffix))); st.Size() != size {
		t.Fatalf("reopened segment is %d bytes, its batches %d", st.Size(), size)
	}
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	checkVerified(t, vfs.OS(), dir, false)
}

// TestBigWrites: writes of over 1 MB under SyncAlways, between small ones
// that leave them unaligned, read back whole before and after a crash and
// pass Check.
func TestBigWrites(t *testing.T) {
	dir := t.TempDir()
	o := DefaultOptions()
	l := openT(t, dir, o)
	small := makeBatch(3, 100, 1, 1)   // leaves the next write unaligned
	big := makeBatch(1100, 1000, 2, 2) // ~1.1 MB
	var bases []int64
	for _, b := range [][]byte{small, big, small, big} {
		base, err := l.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	check := func(l *Log) {
		t.Helper()
		for i, b := range [][]byte{small, big, small, big} {
			got, err := l.Read(bases[i], 1)
			if err != nil || len(got) != len(b) || string(got[12:]) != string(b[12:]) {
				t.Fatalf("batch %d: %d bytes read of %d (%v)", i, len(got), len(b), err)
			}
		}
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
	}
	check(l)
	l.closeUnclean()
	l = openT(t, dir, o)
	defer l.Close()
	check(l)
}
