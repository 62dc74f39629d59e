package commitlog

import (
	"errors"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// perm is one row of the commitlog test table: a file system and a sync
// policy. Tests of behaviour that must not depend on either run once per
// row through forAllPerms, as nats-server's testAllStoreAllPermutations
// runs every stream test over the file and the memory store.
type perm struct {
	name string
	mem  bool // vfs.MemFS; otherwise the OS file system under t.TempDir()
	sync SyncPolicy
}

// perms is the table: {OS, MemFS} × {always, interval, never}.
var perms = func() []perm {
	var ps []perm
	for _, mem := range []bool{false, true} {
		for _, sp := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
			fsName := "os"
			if mem {
				fsName = "mem"
			}
			ps = append(ps, perm{name: fsName + "/" + sp.String(), mem: mem, sync: sp})
		}
	}
	return ps
}()

// forAllPerms runs fn as a subtest per row of the table. fn gets
// DefaultOptions on the row's file system with its sync policy (a 5 ms
// interval under SyncInterval, so the flusher runs during the test) and a
// fresh directory on that file system.
func forAllPerms(t *testing.T, fn func(t *testing.T, o Options, dir string)) {
	for _, p := range perms {
		t.Run(p.name, func(t *testing.T) {
			o := DefaultOptions()
			o.Sync = p.sync
			o.SyncInterval = 5 * time.Millisecond
			dir := "/data/topic-0"
			if p.mem {
				o.FS = vfs.NewMem()
			} else {
				o.FS = vfs.OS()
				dir = t.TempDir() + "/topic-0"
			}
			fn(t, o, dir)
		})
	}
}

// openT opens a log and, as bbolt's test helper checks every database after
// its test, checks it when the test ends: Log.Check while it is still open
// (then Close), and Verify of its files (every batch, offsets across
// segments, indexes) once closed. Tests that damage a log on purpose use
// openUnchecked.
func openT(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l := openUnchecked(t, dir, opts)
	t.Cleanup(func() { checkLogAtCleanup(t, l, dir, opts) })
	return l
}

// openUnchecked is Open failing the test on error, without the check at
// cleanup.
func openUnchecked(t testing.TB, dir string, opts Options) *Log {
	t.Helper()
	l, err := Open(dir, opts)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return l
}

// checkLogAtCleanup is openT's check. A test that already failed only gets
// its log closed.
func checkLogAtCleanup(t testing.TB, l *Log, dir string, opts Options) {
	t.Helper()
	if t.Failed() {
		_ = l.Close()
		return
	}
	if err := l.Check(); err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("cleanup: Log.Check of %s: %v", dir, err)
	}
	if err := l.Close(); err != nil && !errors.Is(err, ErrClosed) {
		t.Errorf("cleanup: close %s: %v", dir, err)
		return
	}
	fs := opts.FS
	if fs == nil {
		fs = vfs.OS()
	}
	if _, err := fs.Stat(dir); err != nil {
		return // deleted by the test (Log.Delete)
	}
	r, err := Verify(fs, dir)
	if err != nil {
		t.Errorf("cleanup: verify %s: %v", dir, err)
		return
	}
	if err := r.Err(); err != nil {
		t.Errorf("cleanup: verify %s: %v", dir, err)
	}
	for _, s := range r.Segments {
		if !s.IndexOK || !s.TimeIndexOK {
			t.Errorf("cleanup: verify %s: segment %d: index ok %v, time index ok %v", dir, s.Base, s.IndexOK, s.TimeIndexOK)
		}
	}
}
