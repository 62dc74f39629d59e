package vfs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// testFillZeros checks what both implementations share: zeros past the
// end, the data before them kept, bad ranges refused.
func testFillZeros(t *testing.T, fs FS, dir string) {
	name := filepath.Join(dir, "z")
	f := writeFile(t, fs, name, []byte("data"), false)
	defer f.Close()
	zf, ok := f.(ZeroFiller)
	if !ok {
		t.Skip("no ZeroFiller on this platform")
	}
	if err := zf.FillZeros(ZeroFillAlign, 3*ZeroFillAlign); err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, fs, name)
	if err != nil {
		t.Fatal(err)
	}
	want := append([]byte("data"), make([]byte, 4*ZeroFillAlign-4)...)
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes after FillZeros, want data then zeros to %d", len(got), len(want))
	}
	for _, r := range [][2]int64{{1, ZeroFillAlign}, {0, ZeroFillAlign + 1}, {0, 0}, {-ZeroFillAlign, ZeroFillAlign}} {
		if err := zf.FillZeros(r[0], r[1]); !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("FillZeros(%d, %d): %v, want EINVAL", r[0], r[1], err)
		}
	}
}

func TestFillZeros(t *testing.T) {
	t.Run("os", func(t *testing.T) { testFillZeros(t, OS(), t.TempDir()) })
	t.Run("mem", func(t *testing.T) {
		fs := NewMem()
		fs.MkdirAll("/d", 0o755)
		testFillZeros(t, fs, "/d")
	})
}

// TestMemFillZerosDurabilityAndFaults: a MemFS fill makes the file's data
// durable (as an fdatasync of the file does); an injected ENOSPC writes
// nothing; an injected EIO marks the unsynced data lost and is reported
// again by the file's next Sync.
func TestMemFillZerosDurabilityAndFaults(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	f := writeFile(t, fs, "/d/z", []byte("unsynced"), false)
	if err := fs.SyncDir("/d"); err != nil {
		t.Fatal(err)
	}
	zf := f.(ZeroFiller)
	if err := zf.FillZeros(ZeroFillAlign, ZeroFillAlign); err != nil {
		t.Fatal(err)
	}
	if got, _ := readAll(t, fs.CrashClone(), "/d/z"); len(got) != 2*ZeroFillAlign || string(got[:8]) != "unsynced" {
		t.Fatalf("after a crash: %d bytes %q", len(got), got[:min(8, len(got))])
	}
	fs.FailNext(OpFillZeros, syscall.ENOSPC)
	if err := zf.FillZeros(2*ZeroFillAlign, ZeroFillAlign); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("injected ENOSPC: %v", err)
	}
	if st, _ := f.Stat(); st.Size() != 2*ZeroFillAlign {
		t.Fatalf("a failed fill changed the size to %d", st.Size())
	}
	if _, err := f.WriteAt([]byte("more"), 100); err != nil {
		t.Fatal(err)
	}
	fs.FailNext(OpFillZeros, syscall.EIO)
	if err := zf.FillZeros(2*ZeroFillAlign, ZeroFillAlign); !errors.Is(err, syscall.EIO) {
		t.Fatalf("injected EIO: %v", err)
	}
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after a fill's EIO: %v, want the error again", err)
	}
	if err := f.Sync(); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	got, _ := readAll(t, fs.CrashClone(), "/d/z")
	if bytes.Contains(got, []byte("more")) {
		t.Fatal("bytes the failed fdatasync dropped survived the crash")
	}
	var pe *os.PathError
	if err := zf.FillZeros(0, 1); !errors.As(err, &pe) {
		t.Fatalf("bad range: %v", err)
	}
}
