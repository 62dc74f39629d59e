package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// logCapture is a logger whose output a test reads.
type logCapture struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (c *logCapture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Write(p)
}

func (c *logCapture) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *logCapture) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// TestStaleCleanMarker: Open removes the clean-shutdown marker without a
// directory fsync, so a power cut after the start brings it back. It must
// then be trusted only while it still describes the files: with no new
// durable bytes it does (what it names was fsynced by Close); once bytes
// were made durable after the start, the size no longer matches and the
// tail is scanned, keeping every acknowledged batch. A torn marker and no
// marker are scanned too.
func TestStaleCleanMarker(t *testing.T) {
	const dir = "/data/stale-0"
	cases := []struct {
		name      string
		after     func(t *testing.T, l *Log) // on the log reopened after the clean stop
		wantClean bool
		wantN     int // batches readable after the cut
		roll      bool
	}{
		{"no writes", func(*testing.T, *Log) {}, true, 5, false},
		{"unsynced write", func(t *testing.T, l *Log) {
			if _, _, err := l.Write(makeBatch(2, 50, 900, 9)); err != nil {
				t.Fatal(err)
			}
		}, true, 5, false},
		{"acknowledged append", func(t *testing.T, l *Log) {
			if _, err := l.Append(makeBatch(2, 50, 900, 9)); err != nil {
				t.Fatal(err)
			}
		}, false, 6, false},
		{"roll", func(t *testing.T, l *Log) {
			for i := 0; i < 8; i++ { // 2 KiB segments: rolls
				if _, err := l.Append(makeBatch(2, 200, int64(1000+i), 9)); err != nil {
					t.Fatal(err)
				}
			}
		}, false, 13, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := vfs.NewMem()
			l := openUnchecked(t, dir, memOpts(fs, SyncAlways))
			for i := 0; i < 5; i++ {
				if _, err := l.Append(makeBatch(2, 50, int64(i), byte(i))); err != nil {
					t.Fatal(err)
				}
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2 := openUnchecked(t, dir, memOpts(fs, SyncAlways))
			c.after(t, l2)
			cut := fs.CrashClone()
			if _, err := cut.Stat(filepath.Join(dir, cleanMarkerName)); err != nil && !c.roll {
				// A roll's directory fsync makes the removal durable too.
				t.Fatalf("the marker's removal survived the cut (%v): this test needs it back", err)
			}
			var logs logCapture
			o := memOpts(cut, SyncAlways)
			o.Logger = logs.logger()
			l3 := openUnchecked(t, dir, o)
			defer l3.Close()
			clean := strings.Contains(logs.String(), "opened after clean shutdown")
			if clean != c.wantClean {
				t.Fatalf("trusted as clean: %v, want %v; log:\n%s", clean, c.wantClean, logs.String())
			}
			if err := l3.Check(); err != nil {
				t.Fatal(err)
			}
			if got := len(readAllBatches(t, l3)); got != c.wantN {
				t.Fatalf("%d batches readable, want %d", got, c.wantN)
			}
		})
	}
	t.Run("torn marker", func(t *testing.T) {
		fs := vfs.NewMem()
		l := openUnchecked(t, dir, memOpts(fs, SyncAlways))
		if _, err := l.Append(makeBatch(2, 50, 1, 1)); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(filepath.Join(dir, cleanMarkerName), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0xff}, 20); err != nil { // inside the CRC'd bytes
			t.Fatal(err)
		}
		f.Close()
		var logs logCapture
		o := memOpts(fs, SyncAlways)
		o.Logger = logs.logger()
		l2 := openUnchecked(t, dir, o)
		defer l2.Close()
		if s := logs.String(); strings.Contains(s, "opened after clean shutdown") || !strings.Contains(s, "recovered log tail") {
			t.Fatalf("a torn marker was trusted; log:\n%s", s)
		}
		if got := len(readAllBatches(t, l2)); got != 1 {
			t.Fatalf("%d batches, want 1", got)
		}
	})
}

// TestDeferredRecoverySync: under DeferRecoverySync a log recovered after
// a crash keeps its recovered tail invisible until FinishRecovery has made
// it durable; a second cut before FinishRecovery recovers it again, and
// after FinishRecovery a cut keeps it. A clean stop leaves nothing to
// finish.
func TestDeferredRecoverySync(t *testing.T) {
	const dir = "/data/defer-0"
	fs := vfs.NewMem()
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 1 << 20
	o.DeferRecoverySync = true
	l := openUnchecked(t, dir, o)
	for i := 0; i < 10; i++ {
		if _, err := l.Append(makeBatch(2, 50, int64(i), byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	end := l.LogEndOffset()
	crashed := fs.CrashClone() // a crash: no clean stop
	l.Close()
	syncs := 0
	crashed.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			syncs++
		}
		return nil
	})
	o.FS = crashed
	l2 := openUnchecked(t, dir, o)
	if syncs != 0 {
		t.Fatalf("recovery fsynced %d times before FinishRecovery", syncs)
	}
	if hw, leo := l2.HighWatermark(), l2.LogEndOffset(); hw >= leo || leo != end {
		t.Fatalf("before FinishRecovery: high watermark %d, end %d (want the end %d, hidden)", hw, leo, end)
	}
	again := crashed.CrashClone() // a cut before FinishRecovery
	if err := l2.FinishRecovery(); err != nil {
		t.Fatal(err)
	}
	if hw := l2.HighWatermark(); hw != end {
		t.Fatalf("after FinishRecovery: high watermark %d, want %d", hw, end)
	}
	if got := len(readAllBatches(t, l2)); got != 10 {
		t.Fatalf("%d batches readable, want 10", got)
	}
	after := crashed.CrashClone()
	if err := l2.Close(); err != nil {
		t.Fatal(err)
	}
	for name, cfs := range map[string]*vfs.MemFS{"cut before FinishRecovery": again, "cut after it": after} {
		o.FS = cfs
		l3 := openUnchecked(t, dir, o)
		if err := l3.FinishRecovery(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := len(readAllBatches(t, l3)); got != 10 {
			t.Fatalf("%s: %d batches readable, want 10", name, got)
		}
		if err := l3.Close(); err != nil {
			t.Fatal(err)
		}
		// Clean now: nothing deferred.
		l4 := openUnchecked(t, dir, o)
		if l4.HighWatermark() != l4.LogEndOffset() {
			t.Fatalf("%s: after a clean stop the tail is hidden (%d < %d)", name, l4.HighWatermark(), l4.LogEndOffset())
		}
		l4.Close()
	}
}

// TestFileCacheBoundsOpenSegments: many logs sharing a FileCache of 8
// files take appends and reads in turn (rolling segments, closing them
// for one another) and never hold more than 8 segment files open; what
// was written reads back whole.
func TestFileCacheBoundsOpenSegments(t *testing.T) {
	fs := vfs.NewMem()
	fc, err := NewFileCache(FileCacheOptions{MaxOpen: 8})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(CommitterOptions{})
	defer c.Close()
	o := memOpts(fs, SyncAlways)
	o.Files = fc
	o.Committer = c
	logs := make([]*Log, 40)
	for i := range logs {
		logs[i] = openT(t, fmt.Sprintf("/data/fc-%d", i), o)
	}
	check := func(when string) {
		if n := fc.Open(); n > 8 {
			t.Fatalf("%s: %d segment files open, limit 8", when, n)
		}
	}
	for round := 0; round < 6; round++ {
		var wg sync.WaitGroup
		for i, l := range logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := l.Append(makeBatch(3, 200, int64(round), byte(i+round))); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		check(fmt.Sprintf("round %d", round))
		for i, l := range logs {
			if got := len(readAllBatches(t, l)); got != round+1 {
				t.Fatalf("log %d: %d batches, want %d", i, got, round+1)
			}
		}
		check(fmt.Sprintf("reads of round %d", round))
	}
	if logs[0].SegmentCount() < 2 {
		t.Fatalf("no roll: %d segments", logs[0].SegmentCount())
	}
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n := fc.Open(); n != 0 {
		t.Fatalf("%d files open after every log closed", n)
	}
	// Reopened through the cache: recovery too stays within it.
	for i := range logs {
		logs[i] = openT(t, fmt.Sprintf("/data/fc-%d", i), o)
		check("reopen")
	}
	for i, l := range logs {
		if got := len(readAllBatches(t, l)); got != 6 {
			t.Fatalf("log %d after reopen: %d batches, want 6", i, got)
		}
		l.Close()
	}
}

// TestFileCacheEvictionSyncFailure: a written file closed to make room is
// fsynced first, and when that fsync fails the file's next Sync reports
// it (the log then treats its unsynced tail as lost), though the new
// descriptor's own fsync would succeed.
func TestFileCacheEvictionSyncFailure(t *testing.T) {
	fs := vfs.NewMem()
	fc, err := NewFileCache(FileCacheOptions{MaxOpen: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := fc.openFile(fs, "/a", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.WriteAt([]byte("hello"), 0); err != nil {
		t.Fatal(err)
	}
	fs.FailNext(vfs.OpSync, syscall.EIO)
	b, err := fc.openFile(fs, "/b", os.O_RDWR|os.O_CREATE, 0o644) // evicts a, whose fsync fails
	if err != nil {
		t.Fatal(err)
	}
	if fc.Open() != 1 {
		t.Fatalf("%d open, want 1", fc.Open())
	}
	if err := a.Sync(); !errors.Is(err, syscall.EIO) {
		t.Fatalf("Sync after a failed eviction fsync: %v, want EIO", err)
	}
	if err := a.Sync(); err != nil { // reported once
		t.Fatalf("second Sync: %v", err)
	}
	buf := make([]byte, 5)
	if _, err := a.ReadAt(buf, 0); err != nil || string(buf) != "hello" {
		t.Fatalf("read after reopen: %q %v", buf, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if fc.Open() != 0 {
		t.Fatalf("%d open after both closed", fc.Open())
	}
	if _, err := NewFileCache(FileCacheOptions{MaxOpen: 0}); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("MaxOpen 0: %v, want ErrInvalidOptions", err)
	}
}

// TestRecoveryKeepsIntactIndexFiles: after a kill -9 (the page cache and
// so the index files survive, and they hold only entries of fsynced
// bytes), recovery does not rewrite the index files (no truncate, and
// under DeferRecoverySync no write at all); entries of the rescanned tail are written by
// later flushes and the log checks clean after a close and a reopen. A
// damaged index file is still rewritten whole.
func TestRecoveryKeepsIntactIndexFiles(t *testing.T) {
	for _, deferred := range []bool{false, true} {
		t.Run(fmt.Sprintf("deferred=%v", deferred), func(t *testing.T) {
			const dir = "/data/keep-0"
			fs := vfs.NewMem()
			o := memOpts(fs, SyncAlways)
			o.SegmentBytes = 1 << 20
			o.IndexIntervalBytes = 200
			o.DeferRecoverySync = deferred
			l := openUnchecked(t, dir, o)
			n := 0
			appendSome := func(l *Log, k int) {
				for i := 0; i < k; i++ {
					if _, err := l.Append(makeBatch(2, 100, int64(n), byte(n))); err != nil {
						t.Fatal(err)
					}
					n++
				}
			}
			appendSome(l, 30)
			if err := l.Close(); err != nil { // the index files now hold every entry
				t.Fatal(err)
			}
			l = openUnchecked(t, dir, o)
			appendSome(l, 20) // entries in memory only: below a flush
			// kill -9: l is abandoned, its files stay as they are.
			var indexOps []string
			fs.SetFault(func(op vfs.Op, path string) error {
				if strings.HasSuffix(path, ".index") || strings.HasSuffix(path, ".timeindex") {
					// Without the deferral, recovery appends the tail's
					// entries once the tail is fsynced: writes, no truncate.
					if op == vfs.OpTruncate || (deferred && op == vfs.OpWrite) {
						indexOps = append(indexOps, op.String()+" "+path)
					}
				}
				return nil
			})
			l2 := openUnchecked(t, dir, o)
			if deferred {
				if err := l2.FinishRecovery(); err != nil {
					t.Fatal(err)
				}
			}
			if len(indexOps) > 0 {
				t.Fatalf("recovery wrote intact index files: %v", indexOps)
			}
			if got := len(readAllBatches(t, l2)); got != 50 {
				t.Fatalf("%d batches, want 50", got)
			}
			appendSome(l2, 10)
			if err := l2.Close(); err != nil {
				t.Fatal(err)
			}
			fs.SetFault(nil)
			l3 := openUnchecked(t, dir, o)
			defer l3.Close()
			if err := l3.Check(); err != nil {
				t.Fatal(err)
			}
			if got := len(readAllBatches(t, l3)); got != 60 {
				t.Fatalf("%d batches after reopen, want 60", got)
			}
		})
	}
	t.Run("damaged index", func(t *testing.T) {
		const dir = "/data/keep-1"
		fs := vfs.NewMem()
		o := memOpts(fs, SyncAlways)
		o.SegmentBytes = 1 << 20
		o.IndexIntervalBytes = 200
		l := openUnchecked(t, dir, o)
		for i := 0; i < 30; i++ {
			if _, err := l.Append(makeBatch(2, 100, int64(i), byte(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = openUnchecked(t, dir, o)
		if _, err := l.Append(makeBatch(2, 100, 30, 30)); err != nil {
			t.Fatal(err)
		}
		f, err := fs.OpenFile(filepath.Join(dir, "00000000000000000000.index"), os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteAt([]byte{0xff, 0xff, 0xff, 0x7f}, 12); err != nil { // an entry past the end
			t.Fatal(err)
		}
		f.Close()
		truncated := false
		fs.SetFault(func(op vfs.Op, path string) error {
			if op == vfs.OpTruncate && strings.HasSuffix(path, ".index") {
				truncated = true
			}
			return nil
		})
		l2 := openUnchecked(t, dir, o)
		if !truncated {
			t.Fatal("a damaged index file was not rewritten")
		}
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		fs.SetFault(nil)
		l3 := openUnchecked(t, dir, o)
		defer l3.Close()
		if err := l3.Check(); err != nil {
			t.Fatal(err)
		}
		if got := len(readAllBatches(t, l3)); got != 31 {
			t.Fatalf("%d batches, want 31", got)
		}
	})
}

// TestMarkerStaysUntilFirstWrite: a log opened after a clean stop keeps
// its clean-shutdown marker until its first write, so a kill -9 before
// any write reopens it without a scan (with 10,000 partitions, those not
// written since the start), while a kill -9 after a write scans it and
// keeps every batch.
func TestMarkerStaysUntilFirstWrite(t *testing.T) {
	const dir = "/data/pending-0"
	fs := vfs.NewMem()
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 1 << 20
	l := openUnchecked(t, dir, o)
	for i := 0; i < 5; i++ {
		if _, err := l.Append(makeBatch(2, 50, int64(i), byte(i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	marker := filepath.Join(dir, cleanMarkerName)
	reopen := func() (*Log, string) {
		var logs logCapture
		o := o
		o.Logger = logs.logger()
		return openUnchecked(t, dir, o), logs.String()
	}
	l1, _ := reopen()
	if _, err := fs.Stat(marker); err != nil {
		t.Fatalf("the marker went at open: %v", err)
	}
	if got := len(readAllBatches(t, l1)); got != 5 {
		t.Fatalf("%d batches, want 5", got)
	}
	// kill -9: l1 is abandoned unwritten.
	l2, out := reopen()
	if !strings.Contains(out, "opened after clean shutdown") || strings.Contains(out, "recovered log tail") {
		t.Fatalf("an unwritten log was not reopened clean after a kill; log:\n%s", out)
	}
	if _, err := l2.Append(makeBatch(2, 50, 5, 5)); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Stat(marker); err == nil {
		t.Fatal("the marker is still there after a write")
	}
	// kill -9 after the write: scanned, nothing lost.
	l3, out := reopen()
	defer l3.Close()
	if strings.Contains(out, "opened after clean shutdown") || !strings.Contains(out, "recovered log tail") {
		t.Fatalf("a written log was not scanned after a kill; log:\n%s", out)
	}
	if got := len(readAllBatches(t, l3)); got != 6 {
		t.Fatalf("%d batches, want 6", got)
	}
	if err := l3.Check(); err != nil {
		t.Fatal(err)
	}
}
