package vfs

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

func writeFile(t *testing.T, fs FS, name string, data []byte, sync bool) File {
	t.Helper()
	f, err := fs.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := f.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func readAll(t *testing.T, fs FS, name string) ([]byte, error) {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// testFS exercises behaviour both implementations share.
func testFS(t *testing.T, fs FS, dir string) {
	if err := fs.MkdirAll(filepath.Join(dir, "a", "b"), 0o755); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "a", "f")
	f := writeFile(t, fs, name, []byte("hello world"), true)
	if _, err := f.WriteAt([]byte("HELLO"), 0); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 5)
	if n, err := f.ReadAt(buf, 6); n != 5 || err != nil || string(buf) != "world" {
		t.Fatalf("readat: %d %v %q", n, err, buf)
	}
	if n, err := f.ReadAt(buf, 8); n != 3 || err != io.EOF {
		t.Fatalf("short readat: %d %v", n, err)
	}
	if err := f.Truncate(5); err != nil {
		t.Fatal(err)
	}
	if st, err := f.Stat(); err != nil || st.Size() != 5 {
		t.Fatalf("stat after truncate: %v %v", st, err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if got, err := readAll(t, fs, name); err != nil || string(got) != "HELLO" {
		t.Fatalf("read back %q %v", got, err)
	}
	names, err := fs.ReadDir(filepath.Join(dir, "a"))
	if err != nil || len(names) != 2 || names[0] != "b" || names[1] != "f" {
		t.Fatalf("readdir %v %v", names, err)
	}
	if err := fs.Rename(name, filepath.Join(dir, "a", "g")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat renamed: %v", err)
	}
	if _, err := fs.OpenFile(filepath.Join(dir, "a", "g"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o644); !errors.Is(err, os.ErrExist) {
		t.Fatalf("O_EXCL on existing: %v", err)
	}
	if err := fs.SyncDir(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if err := fs.Remove(filepath.Join(dir, "a", "g")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Open(filepath.Join(dir, "a", "g")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("open removed: %v", err)
	}
	if err := fs.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(filepath.Join(dir, "a", "b")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stat after RemoveAll: %v", err)
	}
}

func TestOSAndMemShareBehaviour(t *testing.T) {
	t.Run("os", func(t *testing.T) { testFS(t, OS(), t.TempDir()) })
	t.Run("mem", func(t *testing.T) { testFS(t, NewMem(), "/data") })
}

func TestCrashKeepsOnlySyncedData(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	f := writeFile(t, fs, "/d/synced", []byte("durable"), true)
	fs.SyncDir("/d")
	f.Write([]byte(" volatile"))
	writeFile(t, fs, "/d/unsynced-entry", []byte("x"), true) // data synced, entry not

	c := fs.CrashClone()
	if got, err := readAll(t, c, "/d/synced"); err != nil || string(got) != "durable" {
		t.Fatalf("synced file after crash: %q %v", got, err)
	}
	if _, err := c.Stat("/d/unsynced-entry"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file whose dir was not synced survived: %v", err)
	}
	// The original keeps working and now syncs everything.
	f.Sync()
	fs.SyncDir("/d")
	c = fs.CrashClone()
	if got, _ := readAll(t, c, "/d/synced"); string(got) != "durable volatile" {
		t.Fatalf("after second sync: %q", got)
	}
	if got, _ := readAll(t, c, "/d/unsynced-entry"); string(got) != "x" {
		t.Fatalf("entry after dir sync: %q", got)
	}
}

func TestCrashEntrySyncedDataNot(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	writeFile(t, fs, "/d/f", []byte("data"), false)
	fs.SyncDir("/d")
	c := fs.CrashClone()
	if got, err := readAll(t, c, "/d/f"); err != nil || len(got) != 0 {
		t.Fatalf("want empty file, got %q %v", got, err)
	}
}

func TestCrashRenameAndRemove(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	writeFile(t, fs, "/d/old", []byte("v1"), true).Close()
	fs.SyncDir("/d")
	fs.Rename("/d/old", "/d/new")
	fs.Remove("/d/new")
	c := fs.CrashClone()
	if got, _ := readAll(t, c, "/d/old"); string(got) != "v1" {
		t.Fatalf("unsynced rename/remove should be undone: %q", got)
	}
	writeFile(t, fs, "/d/x", []byte("x"), true).Close()
	fs.Rename("/d/x", "/d/y")
	fs.SyncDir("/d")
	c = fs.CrashClone()
	if _, err := c.Stat("/d/old"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("synced removal undone: %v", err)
	}
	if got, _ := readAll(t, c, "/d/y"); string(got) != "x" {
		t.Fatalf("synced rename lost: %q", got)
	}
}

func TestFaultsAndFsyncGate(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	f := writeFile(t, fs, "/d/f", []byte("aaaa"), true)
	fs.SyncDir("/d")

	fs.FailNext(OpWrite, syscall.ENOSPC)
	n, err := f.Write([]byte("bbbb"))
	if !errors.Is(err, syscall.ENOSPC) || n != 2 {
		t.Fatalf("ENOSPC write: n=%d err=%v, want a short write", n, err)
	}
	if err := f.Truncate(4); err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("cccc"), 4)
	fs.FailNextSync(syscall.EIO)
	if err := f.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("sync: %v", err)
	}
	// The page cache still shows the bytes...
	buf := make([]byte, 8)
	f.ReadAt(buf, 0)
	if string(buf) != "aaaacccc" {
		t.Fatalf("after failed sync read %q", buf)
	}
	// ...but a later successful fsync does not persist them.
	f.WriteAt([]byte("dd"), 8)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, fs.CrashClone(), "/d/f")
	if !bytes.Equal(got, []byte("aaaa\x00\x00\x00\x00dd")) {
		t.Fatalf("after fsync gate crash: %q", got)
	}
	// Rewriting the dropped range makes it durable again.
	f.WriteAt([]byte("eeee"), 4)
	f.Sync()
	if got, _ := readAll(t, fs.CrashClone(), "/d/f"); string(got) != "aaaaeeeedd" {
		t.Fatalf("after rewrite: %q", got)
	}

	fs.SetFault(func(op Op, path string) error {
		if op == OpOpen && filepath.Base(path) == "bad" {
			return syscall.EIO
		}
		return nil
	})
	if _, err := fs.OpenFile("/d/bad", os.O_CREATE|os.O_RDWR, 0o644); !errors.Is(err, syscall.EIO) {
		t.Fatalf("open fault: %v", err)
	}
	if _, err := fs.OpenFile("/d/good", os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		t.Fatalf("unfaulted open: %v", err)
	}
	fs.SetFault(nil)
	if _, err := fs.OpenFile("/d/bad", os.O_CREATE|os.O_RDWR, 0o644); err != nil {
		t.Fatalf("open after fault cleared: %v", err)
	}
}

func TestSyncDelay(t *testing.T) {
	fs := NewMem()
	fs.SetFault(SyncDelay(20 * time.Millisecond))
	f := writeFile(t, fs, "/f", []byte("x"), false)
	start := time.Now()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("sync took %v, want >= 20ms", d)
	}
}
