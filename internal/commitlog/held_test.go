package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// fileHolds reports whether the log's active segment file holds b at pos
// (the file may run on past its batches: zero-filled ahead).
func fileHolds(t *testing.T, fs vfs.FS, l *Log, pos int64, b []byte) bool {
	t.Helper()
	l.mu.RLock()
	path := l.activeLocked().logPath
	l.mu.RUnlock()
	f, err := fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := make([]byte, len(b))
	n, _ := f.ReadAt(got, pos)
	return n == len(b) && bytes.Equal(got, b)
}

// TestHeldWritesReachTheFileAtTheFlush: under SyncAlways a small write is
// held in memory until the flush that makes it durable writes it; a large
// one goes to the file at once, after what was held; readers see neither
// before the flush.
func TestHeldWritesReachTheFileAtTheFlush(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 1 << 20
	l := openT(t, "/data/t-0", o)
	defer l.Close()
	first := makeBatch(3, 100, 1, 1)
	if _, err := l.Append(first); err != nil {
		t.Fatal(err)
	}
	pos := int64(len(first))
	small := makeBatch(3, 100, 1, 2)
	_, next, err := l.Write(small)
	if err != nil {
		t.Fatal(err)
	}
	if fileHolds(t, fs, l, pos, small) {
		t.Fatal("a small write reached the file before its flush")
	}
	if l.HighWatermark() != 3 {
		t.Fatalf("high watermark %d before the flush, want 3", l.HighWatermark())
	}
	if err := l.WaitDurable(next); err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, fs, l, pos, small) {
		t.Fatal("the flush did not write the held batch")
	}
	pos += int64(len(small))

	small2 := makeBatch(1, 100, 2, 3)
	if _, _, err := l.Write(small2); err != nil {
		t.Fatal(err)
	}
	big := makeBatch(2, holdMaxWrite, 2, 4)
	_, next, err = l.Write(big)
	if err != nil {
		t.Fatal(err)
	}
	if !fileHolds(t, fs, l, pos, small2) || !fileHolds(t, fs, l, pos+int64(len(small2)), big) {
		t.Fatal("a large write did not go to the file at once, after the held batch")
	}
	if err := l.WaitDurable(next); err != nil {
		t.Fatal(err)
	}
	got := readAllBatches(t, l)
	if len(got) != 4 || !bytes.Equal(got[2], small2) || !bytes.Equal(got[3], big) {
		t.Fatalf("read back %d batches, want the 4 written in order", len(got))
	}
	if l.mu.held != nil {
		t.Fatal("a flushed log still holds a buffer")
	}
}

// TestJournalRoundTakesHeldBytes: a journal round builds its records from
// the logs' held bytes, never reading the segment files, and writes the
// bytes to the files before the round acknowledges them.
func TestJournalRoundTakesHeldBytes(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	segReads := countOps(fs, vfs.OpRead, logSuffix)
	ls := openPair(t, journalLogOpts(fs, c))
	for _, l := range ls {
		defer l.Close()
	}
	for i := range 5 {
		writeBoth(t, ls, makeBatch(2, 300, int64(i+1), byte(i)))
	}
	if n := segReads.Load(); n != 0 {
		t.Fatalf("journal rounds read the segment files %d times", n)
	}
	if c.jrn.pos == c.jrn.halfStart(c.jrn.cur) {
		t.Fatal("the rounds did not go through the journal")
	}
	for _, l := range ls {
		if got := len(readAllBatches(t, l)); got != 5 {
			t.Fatalf("%s: %d batches readable, want 5", l.Dir(), got)
		}
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
	}
	// The files alone hold every batch (the power cut's replay is not
	// needed for them, but must not harm them either).
	afterPowerLoss(t, fs, func(dir string, got [][]byte) {
		if len(got) != 5 {
			t.Fatalf("%s: %d batches after the crash, want 5", dir, len(got))
		}
	})
}

// TestJournalRoundSegmentWriteFailure: when a log cannot write the held
// bytes a journal round took, that log fails the round (its appenders get
// the error, it cuts its tail), the other log is acknowledged, and the
// journal is retired so no replay writes the failed bytes back over what
// the log writes next.
func TestJournalRoundSegmentWriteFailure(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	var armed atomic.Bool
	fs.SetFault(func(op vfs.Op, path string) error {
		if armed.Load() && op == vfs.OpWrite && strings.HasPrefix(path, "/data/a-0/") && strings.HasSuffix(path, logSuffix) {
			return syscall.ENOSPC
		}
		return nil
	})
	ls := openPair(t, journalLogOpts(fs, c))
	for _, l := range ls {
		defer l.Close()
	}
	writeBoth(t, ls, makeBatch(1, 50, 1, 1))
	armed.Store(true)
	var nexts []int64
	for _, l := range ls {
		_, next, err := l.Write(makeBatch(1, 50, 2, 2))
		if err != nil {
			t.Fatal(err) // held: the write itself does not touch the file
		}
		nexts = append(nexts, next)
		l.QueueSync(next)
	}
	if err := ls[0].WaitDurable(nexts[0]); !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("log a: %v, want the failed write's ENOSPC", err)
	}
	if err := ls[1].WaitDurable(nexts[1]); err != nil {
		t.Fatalf("log b: %v", err)
	}
	if c.jrn.live() || c.journalFailed() {
		t.Fatalf("after the failed write the journal is live %v, failed %v; want it retired", c.jrn.live(), c.journalFailed())
	}
	armed.Store(false)
	writeBoth(t, ls, makeBatch(1, 50, 3, 3))
	afterPowerLoss(t, fs, func(dir string, got [][]byte) {
		want := map[string]int{"/data/a-0": 2, "/data/b-0": 3}[dir]
		if len(got) != want {
			t.Fatalf("%s: %d batches after the crash, want %d", dir, len(got), want)
		}
	})
}

// TestHeldBytesUnderRollsAndReads: appenders on several logs sharing a
// journal, with segments small enough to roll while rounds write the
// bytes they took, and readers at the high watermark; every batch is read
// back in order, from the live logs and after a power cut.
func TestHeldBytesUnderRollsAndReads(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	const logs, perLog = 4, 60
	var ls []*Log
	for i := range logs {
		o := journalLogOpts(fs, c)
		o.SegmentBytes = 4 << 10
		ls = append(ls, openT(t, fmt.Sprintf("/data/t-%d", i), o))
	}
	written := make([][][]byte, logs)
	var appenders, readers sync.WaitGroup
	stop := make(chan struct{})
	for i, l := range ls {
		appenders.Add(1)
		go func() {
			defer appenders.Done()
			for k := range perLog {
				b := makeBatch(1+k%3, 200+k*7%300, int64(k+1), byte(i*perLog+k))
				written[i] = append(written[i], append([]byte(nil), b...))
				if _, err := l.Append(b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
		readers.Add(1)
		go func() { // reads the last batch below the high watermark
			defer readers.Done()
			var buf []byte
			for {
				select {
				case <-stop:
					return
				default:
				}
				hw := l.HighWatermark()
				if hw == 0 {
					continue
				}
				var err error
				if buf, err = l.ReadInto(buf[:0], hw-1, 1<<20); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	appenders.Wait()
	close(stop)
	readers.Wait()
	if t.Failed() {
		return
	}
	check := func(what string, i int, got [][]byte) {
		t.Helper()
		if len(got) != perLog {
			t.Fatalf("%s log %d: %d batches, want %d", what, i, len(got), perLog)
		}
		for k := range got {
			if !bytes.Equal(got[k][12:], written[i][k][12:]) {
				t.Fatalf("%s log %d: batch %d differs from the one written", what, i, k)
			}
		}
	}
	for i, l := range ls {
		if l.SegmentCount() < 3 {
			t.Fatalf("log %d has %d segments; the test wants rolls", i, l.SegmentCount())
		}
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
		check("live", i, readAllBatches(t, l))
	}
	crashed := fs.CrashClone()
	c2, _ := journalCommitter(t, crashed, 1<<20)
	defer c2.Close()
	for i := range ls {
		o := memOpts(crashed, SyncAlways)
		o.Committer = c2
		l, err := Open(filepath.Join("/data", fmt.Sprintf("t-%d", i)), o)
		if err != nil {
			t.Fatal(err)
		}
		check("after a power cut", i, readAllBatches(t, l))
		l.Close()
	}
	for _, l := range ls {
		l.Close()
	}
}
