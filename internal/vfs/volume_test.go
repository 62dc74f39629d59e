package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestMemVolumeSyncPersistsEveryFileAndEntry(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d/a", 0o755)
	fs.MkdirAll("/d/b", 0o755)
	writeFile(t, fs, "/d/a/x", []byte("one"), false)
	writeFile(t, fs, "/d/b/y", []byte("two"), false)
	v, err := fs.OpenVolume("/d")
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if n, ok := v.DirtyBytes(); !ok || n != 6 {
		t.Fatalf("dirty before sync = %d %v, want 6", n, ok)
	}
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	if n, _ := v.DirtyBytes(); n != 0 {
		t.Fatalf("dirty after sync = %d", n)
	}
	c := fs.CrashClone()
	for path, want := range map[string]string{"/d/a/x": "one", "/d/b/y": "two"} {
		if got, err := readAll(t, c, path); err != nil || string(got) != want {
			t.Fatalf("%s after crash = %q %v, want %q", path, got, err, want)
		}
	}
}

func TestMemVolumeSyncFailureLosesEveryDirtyTail(t *testing.T) {
	fs := NewMem()
	fs.MkdirAll("/d", 0o755)
	f := writeFile(t, fs, "/d/f", []byte("safe"), true)
	fs.SyncDir("/d")
	v, _ := fs.OpenVolume("/d")
	defer v.Close()
	f.WriteAt([]byte("gone"), 4)
	fs.FailNext(OpSyncVolume, syscall.EIO)
	if err := v.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("volume sync = %v, want EIO", err)
	}
	// Like fsyncgate for one file: a later successful sync does not bring
	// the dropped bytes back.
	if err := v.Sync(); err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, fs.CrashClone(), "/d/f")
	if string(got) != "safe\x00\x00\x00\x00" {
		t.Fatalf("after failed volume sync and crash: %q", got)
	}
}

func TestOSVolumeSync(t *testing.T) {
	dir := t.TempDir()
	v, err := OS().(VolumeFS).OpenVolume(dir)
	if errors.Is(err, ErrNoVolume) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "f"), []byte("data"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(); err != nil {
		t.Fatalf("syncfs: %v", err)
	}
	if n, ok := v.DirtyBytes(); !ok || n < 0 {
		t.Fatalf("dirty bytes = %d %v", n, ok)
	}
	if err := v.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestAllocateKeepsSizeAndContent(t *testing.T) {
	for _, c := range []struct {
		name string
		fs   FS
		dir  string
	}{{"os", OS(), t.TempDir()}, {"mem", NewMem(), "/d"}} {
		t.Run(c.name, func(t *testing.T) {
			c.fs.MkdirAll(c.dir, 0o755)
			f := writeFile(t, c.fs, filepath.Join(c.dir, "f"), []byte("abc"), false)
			al, ok := f.(Allocator)
			if !ok {
				t.Skip("no Allocate on this system")
			}
			if err := al.Allocate(0, 1<<20); err != nil {
				t.Fatal(err)
			}
			st, err := f.Stat()
			if err != nil || st.Size() != 3 {
				t.Fatalf("size after Allocate = %d %v, want 3", st.Size(), err)
			}
			if _, err := f.WriteAt([]byte("de"), 3); err != nil {
				t.Fatal(err)
			}
			if got, _ := readAll(t, c.fs, filepath.Join(c.dir, "f")); string(got) != "abcde" {
				t.Fatalf("content %q", got)
			}
			if err := al.Allocate(-1, 10); err == nil {
				t.Fatal("negative offset accepted")
			}
		})
	}
}
