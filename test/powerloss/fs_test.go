package powerloss

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// requireFUSE skips the test when FUSE cannot be used here (no /dev/fuse,
// no fusermount3), or fails it when EDDY_REQUIRE_CLIENTS=1 (CI), where it
// must run.
func requireFUSE(t testing.TB) {
	t.Helper()
	why := ""
	if _, err := os.Stat("/dev/fuse"); err != nil {
		why = "/dev/fuse is missing"
	} else if _, err := exec.LookPath("fusermount3"); err != nil {
		if _, err := exec.LookPath("fusermount"); err != nil {
			why = "neither fusermount3 nor fusermount is on PATH (install fuse3)"
		}
	}
	if why == "" {
		return
	}
	if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("power-loss tests need FUSE: %s (EDDY_REQUIRE_CLIENTS=1 forbids skipping)", why)
	}
	t.Skipf("power-loss tests need FUSE: %s", why)
}

// mountTest mounts a fresh FS for a test and unmounts it at cleanup.
func mountTest(t *testing.T, opts Options) *FS {
	t.Helper()
	requireFUSE(t)
	dir := t.TempDir()
	backing, store, mnt := filepath.Join(dir, "backing"), filepath.Join(dir, "store"), filepath.Join(dir, "mnt")
	for _, d := range []string{backing, mnt} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f, err := Mount(backing, store, mnt, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Error(err)
		}
	})
	return f
}

func writeFile(t *testing.T, p string, data []byte, sync bool) {
	t.Helper()
	h, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := h.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func appendFile(t *testing.T, p string, data []byte, sync bool) {
	t.Helper()
	h, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Write(data); err != nil {
		t.Fatal(err)
	}
	if sync {
		if err := h.Sync(); err != nil {
			t.Fatal(err)
		}
	}
}

func syncDir(t *testing.T, dir string) {
	t.Helper()
	h, err := os.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if err := h.Sync(); err != nil {
		t.Fatalf("fsync dir %s: %v", dir, err)
	}
}

func cut(t *testing.T, f *FS) {
	t.Helper()
	if err := f.PowerCut(nil); err != nil {
		t.Fatal(err)
	}
}

func wantFile(t *testing.T, p string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(p)
	if want == nil {
		if !os.IsNotExist(err) {
			t.Fatalf("%s: want no file, got %q (err %v)", filepath.Base(p), got, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("%s: %v", filepath.Base(p), err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: got %q, want %q", filepath.Base(p), got, want)
	}
}

func TestFSUnsyncedWriteLost(t *testing.T) {
	f := mountTest(t, Options{})
	p := filepath.Join(f.Mountpoint(), "a")
	writeFile(t, p, []byte("durable"), true)
	syncDir(t, f.Mountpoint())
	appendFile(t, p, []byte("+pending"), false)
	wantFile(t, p, []byte("durable+pending")) // reads see pending writes
	cut(t, f)
	wantFile(t, p, []byte("durable"))
}

func TestFSFsyncKeepsData(t *testing.T) {
	f := mountTest(t, Options{})
	p := filepath.Join(f.Mountpoint(), "a")
	writeFile(t, p, []byte("one"), true)
	syncDir(t, f.Mountpoint())
	appendFile(t, p, []byte("two"), true)
	cut(t, f)
	wantFile(t, p, []byte("onetwo"))
	// Overwrites in the middle are pending like appends.
	h, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.WriteAt([]byte("XX"), 1); err != nil {
		t.Fatal(err)
	}
	h.Close()
	cut(t, f)
	wantFile(t, p, []byte("onetwo"))
}

func TestFSCreateNeedsDirSync(t *testing.T) {
	f := mountTest(t, Options{})
	p := filepath.Join(f.Mountpoint(), "new")
	writeFile(t, p, []byte("data"), true) // data synced, entry not
	cut(t, f)
	wantFile(t, p, nil)

	writeFile(t, p, []byte("data"), false) // entry synced, data not
	syncDir(t, f.Mountpoint())
	cut(t, f)
	wantFile(t, p, []byte{})

	sub := filepath.Join(f.Mountpoint(), "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "x"), []byte("x"), true)
	syncDir(t, sub) // the file is durable in sub, but sub is not in the root
	cut(t, f)
	if _, err := os.Stat(sub); !os.IsNotExist(err) {
		t.Fatalf("unsynced mkdir survived: %v", err)
	}
}

func TestFSTruncateAndUnlink(t *testing.T) {
	f := mountTest(t, Options{})
	p := filepath.Join(f.Mountpoint(), "a")
	writeFile(t, p, []byte("0123456789"), true)
	syncDir(t, f.Mountpoint())
	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, p, []byte("0123456789"))

	if err := os.Truncate(p, 3); err != nil {
		t.Fatal(err)
	}
	appendFile(t, p, []byte("abc"), true)
	cut(t, f)
	wantFile(t, p, []byte("012abc"))

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, p, []byte("012abc")) // unlink not durable: the file is back

	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	syncDir(t, f.Mountpoint())
	cut(t, f)
	wantFile(t, p, nil)
}

func TestFSRename(t *testing.T) {
	f := mountTest(t, Options{})
	mnt := f.Mountpoint()
	tmp, dst := filepath.Join(mnt, "x.tmp"), filepath.Join(mnt, "x")
	writeFile(t, dst, []byte("old"), true)
	syncDir(t, mnt)

	// The write-to-temp, fsync, rename pattern without the directory fsync:
	// the old content survives, the new file does not exist.
	writeFile(t, tmp, []byte("new"), true)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	wantFile(t, dst, []byte("new"))
	cut(t, f)
	wantFile(t, dst, []byte("old"))
	wantFile(t, tmp, nil)

	// With the directory fsync, the rename is durable and atomic.
	writeFile(t, tmp, []byte("new"), true)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	cut(t, f)
	wantFile(t, dst, []byte("new"))
	wantFile(t, tmp, nil)

	// A rename of a file whose data was never synced keeps a durable
	// empty file under the new name (the classic zero-length-after-crash).
	writeFile(t, tmp, []byte("unsynced"), false)
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
	syncDir(t, mnt)
	cut(t, f)
	wantFile(t, dst, []byte{})
}

func TestFSTornWrite(t *testing.T) {
	f := mountTest(t, Options{TornWrites: true, Seed: 7})
	p := filepath.Join(f.Mountpoint(), "a")
	writeFile(t, p, []byte("base"), true)
	syncDir(t, f.Mountpoint())
	pending := bytes.Repeat([]byte("z"), 1000)
	sizes := map[int]bool{}
	for i := 0; i < 20; i++ {
		appendFile(t, p, pending, false)
		cut(t, f)
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.HasPrefix(got, []byte("base")) || len(got) > 4+1000 ||
			!bytes.Equal(got[4:], pending[:len(got)-4]) {
			t.Fatalf("cut %d: got %d bytes %q…, want base plus a prefix of the pending write", i, len(got), got[:min(len(got), 20)])
		}
		sizes[len(got)] = true
		if err := os.Truncate(p, 4); err != nil {
			t.Fatal(err)
		}
		h, _ := os.OpenFile(p, os.O_RDWR, 0)
		h.Sync()
		h.Close()
	}
	if len(sizes) < 5 {
		t.Fatalf("torn writes kept only sizes %v over 20 cuts; want a spread", sizes)
	}
	if f.Stats().TornWrites == 0 {
		t.Fatal("Stats.TornWrites = 0")
	}
}

func TestFSSyncAll(t *testing.T) {
	f := mountTest(t, Options{})
	sub := filepath.Join(f.Mountpoint(), "d")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(sub, "a"), []byte("a"), false)
	if err := f.SyncAll(); err != nil {
		t.Fatal(err)
	}
	cut(t, f)
	wantFile(t, filepath.Join(sub, "a"), []byte("a"))
}

// TestFSRefusesVolumeSync: the kernel does not forward syncfs(2) to a FUSE
// server, so a syncfs on the mount returns success with nothing durable;
// eddy's volume syncs (one syncfs per group-commit round) must not be used
// on such a file system.
func TestFSRefusesVolumeSync(t *testing.T) {
	f := mountTest(t, Options{})
	p := filepath.Join(f.Mountpoint(), "a")
	writeFile(t, p, []byte("durable"), true)
	syncDir(t, f.Mountpoint())
	h, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write([]byte("+syncfs")); err != nil {
		t.Fatal(err)
	}
	if err := unix.Syncfs(int(h.Fd())); err != nil {
		t.Fatalf("syncfs: %v", err)
	}
	h.Close()
	cut(t, f)
	wantFile(t, p, []byte("durable")) // syncfs said yes and kept nothing

	vol, err := vfs.OS().(vfs.VolumeFS).OpenVolume(f.Mountpoint())
	if !errors.Is(err, vfs.ErrNoVolume) {
		if vol != nil {
			vol.Close()
		}
		t.Fatalf("OpenVolume on a FUSE mount: %v, want ErrNoVolume", err)
	}
}
