package commitlog

import (
	"fmt"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// createCounter counts a MemFS's file, directory and volume syncs.
type createCounter struct{ file, dir, volume atomic.Int64 }

func (c *createCounter) fault(op vfs.Op, _ string) error {
	switch op {
	case vfs.OpSync:
		c.file.Add(1)
	case vfs.OpSyncDir:
		c.dir.Add(1)
	case vfs.OpSyncVolume:
		c.volume.Add(1)
	}
	return nil
}

// noVolumeFS hides a MemFS's volume sync, as a FUSE mount does.
type noVolumeFS struct{ vfs.FS }

// openDeferred opens n new logs under /data with DeferCreateSync.
func openDeferred(t *testing.T, fs vfs.FS, c *Committer, n int) []*Log {
	t.Helper()
	ls := make([]*Log, n)
	for i := range ls {
		o := memOpts(fs, SyncAlways)
		o.Committer = c
		o.DeferCreateSync = true
		l, err := Open(fmt.Sprintf("/data/t-%d", i), o)
		if err != nil {
			t.Fatal(err)
		}
		ls[i] = l
		t.Cleanup(func() { l.Close() })
	}
	return ls
}

// segmentFilesAfterCrash lists the .log files of each log directory that
// a power cut now would leave.
func segmentFilesAfterCrash(t *testing.T, mem *vfs.MemFS, n int) [][]string {
	t.Helper()
	crashed := mem.CrashClone()
	out := make([][]string, n)
	for i := range out {
		names, _ := crashed.ReadDir(fmt.Sprintf("/data/t-%d", i))
		for _, name := range names {
			if _, ok := parseSegmentName(name); ok {
				out[i] = append(out[i], name)
			}
		}
	}
	return out
}

// TestSyncCreatedOneVolumeSync: logs opened with DeferCreateSync cost no
// fsync at Open, and their creation is not durable (a power cut loses
// their segment files); Committer.SyncCreated then makes all of them
// durable with one volume sync and nothing else.
func TestSyncCreatedOneVolumeSync(t *testing.T) {
	mem := vfs.NewMem()
	if err := mem.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(CommitterOptions{FS: mem, Dir: "/data"})
	defer c.Close()
	cnt := &createCounter{}
	mem.SetFault(cnt.fault)
	defer mem.SetFault(nil)
	const n = 20
	ls := openDeferred(t, mem, c, n)
	if f, d, v := cnt.file.Load(), cnt.dir.Load(), cnt.volume.Load(); f+d+v != 0 {
		t.Fatalf("opening %d deferred logs: %d file, %d directory and %d volume syncs, want none", n, f, d, v)
	}
	for i, files := range segmentFilesAfterCrash(t, mem, n) {
		if len(files) != 0 {
			t.Fatalf("log %d: segment files %v durable before SyncCreated (the deferral is not real)", i, files)
		}
	}
	if err := c.SyncCreated(ls); err != nil {
		t.Fatal(err)
	}
	if f, d, v := cnt.file.Load(), cnt.dir.Load(), cnt.volume.Load(); f+d != 0 || v != 1 {
		t.Fatalf("SyncCreated of %d logs: %d file, %d directory and %d volume syncs, want one volume sync", n, f, d, v)
	}
	for i, files := range segmentFilesAfterCrash(t, mem, n) {
		if !slices.Equal(files, []string{segmentName(0, ".log")}) {
			t.Fatalf("log %d: after SyncCreated and a power cut the directory holds %v", i, files)
		}
	}
	// A second call owes nothing.
	if err := c.SyncCreated(ls); err != nil || cnt.volume.Load() != 1 {
		t.Fatalf("second SyncCreated: err %v, %d volume syncs", err, cnt.volume.Load())
	}
}

// TestSyncCreatedWithoutVolume: where the filesystem offers no volume sync
// (a FUSE mount), SyncCreated runs every log's owed fsyncs, and the
// creations survive a power cut.
func TestSyncCreatedWithoutVolume(t *testing.T) {
	mem := vfs.NewMem()
	fs := noVolumeFS{mem}
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
	defer c.Close()
	cnt := &createCounter{}
	mem.SetFault(cnt.fault)
	defer mem.SetFault(nil)
	const n = 5
	ls := openDeferred(t, fs, c, n)
	if err := c.SyncCreated(ls); err != nil {
		t.Fatal(err)
	}
	if v, d := cnt.volume.Load(), cnt.dir.Load(); v != 0 || d < 2*n {
		t.Fatalf("SyncCreated without a volume: %d volume and %d directory syncs, want 0 and at least %d", v, d, 2*n)
	}
	for i, files := range segmentFilesAfterCrash(t, mem, n) {
		if len(files) != 1 {
			t.Fatalf("log %d: after SyncCreated and a power cut the directory holds %v", i, files)
		}
	}
}

// TestDeferredCreateFirstWriteIsDurable: a log written before anyone
// called SyncCreated makes its creation durable itself, so an acknowledged
// append survives a power cut.
func TestDeferredCreateFirstWriteIsDurable(t *testing.T) {
	for _, name := range []string{"volume", "no-volume"} {
		t.Run(name, func(t *testing.T) {
			mem := vfs.NewMem()
			var fs vfs.FS = mem
			if name == "no-volume" {
				fs = noVolumeFS{mem}
			}
			c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
			defer c.Close()
			l := openDeferred(t, fs, c, 1)[0]
			base, err := l.Append(makeBatch(3, 40, 1, 7))
			if err != nil {
				t.Fatal(err)
			}
			crashed := mem.CrashClone()
			r := openT(t, "/data/t-0", memOpts(crashed, SyncAlways))
			defer r.Close()
			if got := r.LogEndOffset(); got != base+3 {
				t.Fatalf("after a power cut the log ends at %d, want %d (the acknowledged append)", got, base+3)
			}
		})
	}
}
