package vfs

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"
)

// TestMemDropCacheKeepsDirtyAndDurableBytes checks the MemFS model of
// POSIX_FADV_DONTNEED: synced and dirty bytes read the same after a drop;
// only bytes a failed fsync marked clean without persisting revert to what
// the disk holds.
func TestMemDropCacheKeepsDirtyAndDurableBytes(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	f := writeFile(t, fs, "/d/f", []byte("durable|"), true)
	if _, err := f.Write([]byte("dirty|")); err != nil {
		t.Fatal(err)
	}
	dc := f.(CacheDropper)
	if err := dc.DropCache(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, fs, "/d/f"); string(got) != "durable|dirty|" {
		t.Fatalf("after dropping durable and dirty bytes: %q", got)
	}
	fs.FailNext(OpSync, syscall.EIO)
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("injected EIO: %v", err)
	}
	if got, _ := readAll(t, fs, "/d/f"); string(got) != "durable|dirty|" {
		t.Fatalf("before the drop the page cache still holds the lost bytes: %q", got)
	}
	if err := dc.DropCache(0, 1<<20); err != nil {
		t.Fatal(err)
	}
	want := append([]byte("durable|"), make([]byte, len("dirty|"))...)
	if got, _ := readAll(t, fs, "/d/f"); !bytes.Equal(got, want) {
		t.Fatalf("after dropping bytes a failed fsync lost: %q, want %q", got, want)
	}
	var pe *os.PathError
	if err := dc.DropCache(-1, 1); !errors.As(err, &pe) {
		t.Fatalf("bad range: %v", err)
	}
	f.Close()
	if err := dc.DropCache(0, 1); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("closed file: %v", err)
	}
}
