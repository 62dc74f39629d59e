package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// journalCommitter returns a committer of /data on fs with a journal of
// size bytes, replaying what fs holds.
func journalCommitter(t testing.TB, fs vfs.FS, size int64) (*Committer, int) {
	t.Helper()
	return journalCommitterMin(t, fs, size, 2)
}

// journalCommitterMin is journalCommitter with rounds over minLogs logs or
// more going through the journal.
func journalCommitterMin(t testing.TB, fs vfs.FS, size int64, minLogs int) (*Committer, int) {
	t.Helper()
	if err := fs.MkdirAll("/data", 0o755); err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", JournalBytes: size, JournalMinLogs: minLogs})
	n, err := c.OpenJournal()
	if err != nil {
		t.Fatal(err)
	}
	if c.jrn == nil {
		t.Fatal("the journal is not in use")
	}
	return c, n
}

// journalLogOpts are the options of a log under /data sharing c.
func journalLogOpts(fs vfs.FS, c *Committer) Options {
	o := memOpts(fs, SyncAlways)
	o.Committer = c
	return o
}

// writeBoth writes b to each log, then waits for all of them in one round.
func writeBoth(t testing.TB, ls []*Log, b []byte) {
	t.Helper()
	nexts := make([]int64, len(ls))
	for i, l := range ls {
		_, next, err := l.Write(append([]byte(nil), b...))
		if err != nil {
			t.Fatal(err)
		}
		nexts[i] = next
	}
	for i, l := range ls {
		l.QueueSync(nexts[i])
	}
	for i, l := range ls {
		if err := l.WaitDurable(nexts[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// countOps counts the operations op on fs's paths ending in suffix (it
// replaces fs's fault function).
func countOps(fs *vfs.MemFS, op vfs.Op, suffix string) *atomic.Int64 {
	var n atomic.Int64
	fs.SetFault(func(o vfs.Op, path string) error {
		if o == op && strings.HasSuffix(path, suffix) {
			n.Add(1)
		}
		return nil
	})
	return &n
}

// openPair opens the logs /data/a-0 and /data/b-0 with o; the caller
// closes them.
func openPair(t *testing.T, o Options) []*Log {
	t.Helper()
	return []*Log{openT(t, "/data/a-0", o), openT(t, "/data/b-0", o)}
}

// TestJournalPowerLossAtEveryOp: two logs whose commit rounds go through a
// small journal (it fills and is retired by volume syncs several times),
// with segment rolls; the filesystem is snapshotted as a power cut would
// leave it before every operation. Each snapshot, after the journal's
// replay, holds every acknowledged batch of both logs. The logs' own files
// are not synced by journal rounds, so without the replay the snapshots
// would lose acknowledged batches.
func TestJournalPowerLossAtEveryOp(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 6*1024+journalHeaderSize)
	dirs := []string{"/data/a-0", "/data/b-0"}
	type snap struct {
		fs           *vfs.MemFS
		acked, wrote int
	}
	var (
		mu           sync.Mutex
		snaps        []snap
		acked, wrote atomic.Int64
		on           atomic.Bool
		volumeSyncs  atomic.Int64
	)
	fs.SetFault(func(op vfs.Op, path string) error {
		if op == vfs.OpSyncVolume {
			volumeSyncs.Add(1)
		}
		if on.Load() {
			// Operations run on the background retirement's goroutine
			// too: what was acknowledged is read before the snapshot, what
			// was written after it, so both bound what the snapshot holds.
			a := int(acked.Load())
			clone := fs.CrashClone()
			s := snap{fs: clone, acked: a, wrote: int(wrote.Load())}
			mu.Lock()
			snaps = append(snaps, s)
			mu.Unlock()
		}
		return nil
	})
	ls := []*Log{openT(t, dirs[0], journalLogOpts(fs, c)), openT(t, dirs[1], journalLogOpts(fs, c))}
	on.Store(true)
	var batches [][]byte
	for i := 0; i < 40; i++ {
		b := makeBatch(1+i%3, 60+i*7%300, int64(i), byte(i))
		wrote.Store(int64(i + 1))
		writeBoth(t, ls, b)
		// As stored: Write assigned the base offset, the same in both logs.
		record := append([]byte(nil), b...)
		binary.BigEndian.PutUint64(record, uint64(ls[0].LogEndOffset()-int64(1+i%3)))
		batches = append(batches, record)
		acked.Add(1)
	}
	on.Store(false)
	for _, l := range ls {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if volumeSyncs.Load() == 0 {
		t.Fatal("the journal never filled: no volume sync retired it")
	}
	replays := 0
	for i, s := range snaps {
		c2 := NewCommitter(CommitterOptions{FS: s.fs, Dir: "/data", JournalBytes: 1 << 20, JournalMinLogs: 2})
		n, err := c2.OpenJournal()
		if err != nil {
			t.Fatalf("crash point %d: replay: %v", i, err)
		}
		if n > 0 {
			replays++
		}
		for _, dir := range dirs {
			o := memOpts(s.fs, SyncAlways)
			o.Committer = c2
			l, err := Open(dir, o)
			if err != nil {
				t.Fatalf("crash point %d: open %s: %v", i, dir, err)
			}
			if err := l.Check(); err != nil {
				t.Fatalf("crash point %d: %s: %v", i, dir, err)
			}
			checkPrefix(t, fmt.Sprintf("crash point %d, %s", i, dir), readAllBatches(t, l), batches[:s.wrote], s.acked)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
		}
		c2.Close()
	}
	if replays == 0 {
		t.Fatal("no crash point needed the journal: the test does not cover it")
	}
	t.Logf("%d crash points, %d replayed records, %d volume syncs", len(snaps), replays, volumeSyncs.Load())
}

// TestJournalDeleteThenRecreate: a log deleted and recreated under the same
// name never receives its old bytes from a replay (Delete retires the
// journal first). The old log's batches are the new one's size, so a
// replay of them would read as a valid continuation of the new log.
func TestJournalDeleteThenRecreate(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	a := openT(t, "/data/a-0", journalLogOpts(fs, c))
	b := openT(t, "/data/b-0", journalLogOpts(fs, c))
	defer b.Close()
	for i := 0; i < 5; i++ {
		writeBoth(t, []*Log{a, b}, makeBatch(1, 100, int64(i), 1))
	}
	if err := a.Delete(); err != nil {
		t.Fatal(err)
	}
	a2 := openT(t, "/data/a-0", journalLogOpts(fs, c))
	defer a2.Close()
	writeBoth(t, []*Log{a2, b}, makeBatch(1, 100, 9, 2))

	crashed := fs.CrashClone()
	c2, _ := journalCommitter(t, crashed, 1<<20)
	defer c2.Close()
	o := memOpts(crashed, SyncAlways)
	o.Committer = c2
	l, err := Open("/data/a-0", o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if got := readAllBatches(t, l); len(got) != 1 || l.LogEndOffset() != 1 {
		t.Fatalf("recreated log recovered %d batches, log end %d; want only its own batch", len(got), l.LogEndOffset())
	}
}

// TestJournalSyncFailure: a failed journal sync fails the appenders of its
// round; the next round retires the journal with a volume sync before it
// acknowledges anything, and everything acknowledged survives a power cut.
func TestJournalSyncFailure(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	var failNext, volumeSyncs atomic.Int64
	fs.SetFault(func(op vfs.Op, path string) error {
		if op == vfs.OpSyncVolume {
			volumeSyncs.Add(1)
		}
		if op == vfs.OpSync && strings.Contains(path, journalName) && failNext.CompareAndSwap(1, 0) {
			return errors.New("injected journal sync failure")
		}
		return nil
	})
	ls := []*Log{openT(t, "/data/a-0", journalLogOpts(fs, c)), openT(t, "/data/b-0", journalLogOpts(fs, c))}
	for _, l := range ls {
		defer l.Close()
	}
	writeBoth(t, ls, makeBatch(1, 50, 1, 1))
	if volumeSyncs.Load() != 0 {
		t.Fatal("a round over two logs used a volume sync, not the journal")
	}
	failNext.Store(1)
	var nexts []int64
	for _, l := range ls {
		_, next, err := l.Write(makeBatch(1, 50, 2, 2))
		if err != nil {
			t.Fatal(err)
		}
		nexts = append(nexts, next)
		l.QueueSync(next)
	}
	for i, l := range ls {
		if err := l.WaitDurable(nexts[i]); err == nil {
			t.Fatalf("log %d: the failed journal sync was acknowledged", i)
		}
	}
	// The failed round's records were zeroed on disk (no replay finds
	// them); rounds go on through the journal.
	if c.jrn.written != c.jrn.pos || c.journalFailed() {
		t.Fatalf("after the failure: journal written to %d, records end at %d, failed %v", c.jrn.written, c.jrn.pos, c.journalFailed())
	}
	good := 1
	for try := 0; ; try++ {
		if try == 3 {
			t.Fatal("no round succeeded after the journal sync failure")
		}
		if err := tryBoth(ls, makeBatch(1, 50, int64(3+try), 3)); err != nil {
			continue
		}
		good++
		break
	}
	writeBoth(t, ls, makeBatch(1, 50, 9, 4))
	good++
	// The acknowledged batches; the failed ones were dropped (their bytes
	// were never durable).
	afterPowerLoss(t, fs, func(dir string, got [][]byte) {
		if len(got) != good {
			t.Fatalf("%s: %d batches after the crash, want the %d acknowledged", dir, len(got), good)
		}
	})
}

// TestJournalFailedForGood: when a failed round's records can be neither
// zeroed nor retired (every sync fails), nothing is acknowledged any more,
// even once syncs work again, and Close leaves no clean marker: the next
// start replays and scans. What was acknowledged before survives.
func TestJournalFailedForGood(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	var failing atomic.Bool
	fs.SetFault(func(op vfs.Op, path string) error {
		if failing.Load() && (op == vfs.OpSyncVolume || op == vfs.OpSync && strings.Contains(path, journalName)) {
			return errors.New("injected sync failure")
		}
		return nil
	})
	ls := []*Log{openUnchecked(t, "/data/a-0", journalLogOpts(fs, c)), openUnchecked(t, "/data/b-0", journalLogOpts(fs, c))}
	writeBoth(t, ls, makeBatch(1, 50, 1, 1))
	failing.Store(true)
	if err := tryBoth(ls, makeBatch(1, 50, 2, 2)); err == nil {
		t.Fatal("a round whose journal sync failed was acknowledged")
	}
	if !c.journalFailed() {
		t.Fatal("the journal is not failed although its records could not be cleared")
	}
	failing.Store(false)
	for i := 0; i < 2; i++ {
		if err := tryBoth(ls, makeBatch(1, 50, int64(3+i), 3)); !errors.Is(err, errJournalFailed) {
			t.Fatalf("append %d after the journal failed: %v, want errJournalFailed", i, err)
		}
	}
	if _, err := ls[0].Append(makeBatch(1, 50, 5, 5)); !errors.Is(err, errJournalFailed) {
		t.Fatalf("a round over one log after the journal failed: %v", err)
	}
	for _, l := range ls {
		if err := l.Close(); !errors.Is(err, errJournalFailed) {
			t.Fatalf("close after the journal failed: %v", err)
		}
	}
	c.Close()
	afterPowerLoss(t, fs, func(dir string, got [][]byte) {
		if len(got) < 1 {
			t.Fatalf("%s: the acknowledged batch was lost", dir)
		}
	})
}

// afterPowerLoss reopens /data/a-0 and /data/b-0 as a power cut now would
// leave fs, after the journal's replay, checks each and hands its batches
// to check.
func afterPowerLoss(t *testing.T, fs *vfs.MemFS, check func(dir string, got [][]byte)) {
	t.Helper()
	crashed := fs.CrashClone()
	c, _ := journalCommitter(t, crashed, 1<<20)
	defer c.Close()
	for _, dir := range []string{"/data/a-0", "/data/b-0"} {
		o := memOpts(crashed, SyncAlways)
		o.Committer = c
		l, err := Open(dir, o)
		if err != nil {
			t.Fatal(err)
		}
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
		check(dir, readAllBatches(t, l))
		l.Close()
	}
}

// tryBoth is writeBoth returning the first error.
func tryBoth(ls []*Log, b []byte) error {
	var nexts []int64
	for _, l := range ls {
		_, next, err := l.Write(append([]byte(nil), b...))
		if err != nil {
			return err
		}
		nexts = append(nexts, next)
		l.QueueSync(next)
	}
	var errs []error
	for i, l := range ls {
		errs = append(errs, l.WaitDurable(nexts[i]))
	}
	return errors.Join(errs...)
}

// TestJournalNotUsedForOneLog: a round over one log fsyncs it; the journal
// is for rounds over several.
func TestJournalNotUsedForOneLog(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 1<<20)
	defer c.Close()
	l := openT(t, "/data/a-0", journalLogOpts(fs, c))
	defer l.Close()
	if _, err := l.Append(makeBatch(1, 50, 1, 1)); err != nil {
		t.Fatal(err)
	}
	if c.jrn.live() {
		t.Fatal("a round over one log wrote to the journal")
	}
}

// TestJournalServesSmallRoundsWhileLive: a round over fewer logs than
// JournalMinLogs syncs the volume while the journal is empty, and goes
// through the journal while it holds live records (a volume sync would
// write back everything the journal's rounds wrote).
func TestJournalServesSmallRoundsWhileLive(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitterMin(t, fs, 1<<20, 3)
	defer c.Close()
	var volumeSyncs atomic.Int64
	fs.SetFault(func(op vfs.Op, path string) error {
		if op == vfs.OpSyncVolume {
			volumeSyncs.Add(1)
		}
		return nil
	})
	var ls []*Log
	for _, d := range []string{"/data/a-0", "/data/b-0", "/data/c-0"} {
		l := openT(t, d, journalLogOpts(fs, c))
		defer l.Close()
		ls = append(ls, l)
	}
	writeBoth(t, ls[:2], makeBatch(1, 50, 1, 1))
	if volumeSyncs.Load() != 1 || c.jrn.live() {
		t.Fatalf("a round over 2 logs with the journal empty: %d volume syncs, journal live %v; want 1 and false", volumeSyncs.Load(), c.jrn.live())
	}
	writeBoth(t, ls, makeBatch(1, 50, 2, 2))
	if !c.jrn.live() {
		t.Fatal("a round over 3 logs did not go through the journal")
	}
	writeBoth(t, ls[:2], makeBatch(1, 50, 3, 3))
	if volumeSyncs.Load() != 1 {
		t.Fatalf("a round over 2 logs while the journal is live synced the volume (%d syncs)", volumeSyncs.Load())
	}
	afterPowerLoss(t, fs, func(dir string, got [][]byte) {
		if len(got) != 3 {
			t.Fatalf("%s: %d batches after the crash, want 3", dir, len(got))
		}
	})
}

// journalFileWith returns a MemFS holding a segment file at
// /data/t-0/00000000000000000000.log and a journal of epoch 1 whose
// record area is recs.
func journalFileWith(t testing.TB, recs []byte) *vfs.MemFS {
	fs := vfs.NewMem()
	if err := fs.MkdirAll("/data/t-0", 0o755); err != nil {
		t.Fatal(err)
	}
	seg, err := fs.OpenFile("/data/t-0/00000000000000000000.log", os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := seg.WriteAt(make([]byte, 100), 0); err != nil {
		t.Fatal(err)
	}
	seg.Sync()
	seg.Close()
	if err := fs.SyncDir("/data/t-0"); err != nil {
		t.Fatal(err)
	}
	j, err := createJournal(fs, "/data", journalHeaderSize+int64(len(recs))+64)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := j.f.WriteAt(recs, journalHeaderSize); err != nil {
		t.Fatal(err)
	}
	j.f.Sync()
	j.close()
	return fs
}

// journalRecordBytes encodes one record.
func journalRecordBytes(epoch uint64, path string, pos int64, data []byte) []byte {
	body := binary.BigEndian.AppendUint64(nil, epoch)
	body = binary.BigEndian.AppendUint16(body, uint16(len(path)))
	body = append(body, path...)
	body = binary.BigEndian.AppendUint64(body, uint64(pos))
	body = append(body, data...)
	rec := binary.BigEndian.AppendUint32(nil, crc32.Checksum(body, castagnoli))
	rec = binary.BigEndian.AppendUint32(rec, uint32(len(body)))
	return append(rec, body...)
}

// TestJournalReplayRules: replay writes intact records of the live epoch in
// order, stops at the first that is not, skips files that no longer exist,
// and never writes outside the data directory.
func TestJournalReplayRules(t *testing.T) {
	seg := "t-0/00000000000000000000.log"
	read := func(fs *vfs.MemFS) []byte {
		f, err := fs.Open("/data/" + seg)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b := make([]byte, 8)
		f.ReadAt(b, 0)
		return b
	}
	cases := []struct {
		name string
		recs []byte
		want string
		n    int
	}{
		{"two records", append(journalRecordBytes(1, seg, 0, []byte("abcd")), journalRecordBytes(1, seg, 4, []byte("efgh"))...), "abcdefgh", 2},
		{"old epoch ends it", append(journalRecordBytes(1, seg, 0, []byte("abcd")), journalRecordBytes(0, seg, 4, []byte("efgh"))...), "abcd\x00\x00\x00\x00", 1},
		{"damaged record ends it", append(journalRecordBytes(1, seg, 0, []byte("abcd")), append(journalRecordBytes(1, seg, 4, []byte("efgh"))[:12], 'x')...), "abcd\x00\x00\x00\x00", 1},
		{"missing file skipped", append(journalRecordBytes(1, "gone-0/00000000000000000000.log", 0, []byte("zz")), journalRecordBytes(1, seg, 0, []byte("ab"))...), "ab\x00\x00\x00\x00\x00\x00", 1},
		{"path outside the directory ends it", journalRecordBytes(1, "../etc/passwd", 0, []byte("root")), "\x00\x00\x00\x00\x00\x00\x00\x00", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := journalFileWith(t, tc.recs)
			c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", JournalBytes: 1 << 20})
			n, err := c.OpenJournal()
			if err != nil {
				t.Fatal(err)
			}
			c.Close()
			if got := read(fs.CrashClone()); string(got) != tc.want || n != tc.n {
				t.Fatalf("replayed %d records, segment starts %q; want %d, %q", n, got, tc.n, tc.want)
			}
			// Retired: a second start replays nothing.
			c = NewCommitter(CommitterOptions{FS: fs, Dir: "/data", JournalBytes: 1 << 20})
			if n, err := c.OpenJournal(); err != nil || n != 0 {
				t.Fatalf("second start replayed %d records (%v)", n, err)
			}
			c.Close()
		})
	}
}

// TestJournalDamagedHeader: a journal whose header is damaged stops the
// start with an error naming it, rather than dropping what it may hold.
func TestJournalDamagedHeader(t *testing.T) {
	fs := journalFileWith(t, journalRecordBytes(1, "t-0/00000000000000000000.log", 0, []byte("ab")))
	f, err := fs.OpenFile("/data/"+journalName, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 0)
	f.Sync()
	f.Close()
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", JournalBytes: 1 << 20})
	defer c.Close()
	if _, err := c.OpenJournal(); err == nil || !strings.Contains(err.Error(), "damaged header") {
		t.Fatalf("OpenJournal over a damaged header: %v", err)
	}
}

// FuzzJournalReplay: any record area replays without panicking, writes
// only into files that exist under the data directory, and creates none.
func FuzzJournalReplay(f *testing.F) {
	seg := "t-0/00000000000000000000.log"
	f.Add(journalRecordBytes(1, seg, 0, []byte("abcd")))
	f.Add(append(journalRecordBytes(1, seg, 0, []byte("abcd")), journalRecordBytes(1, seg, 90, []byte("efghijklmnop"))...))
	f.Add(journalRecordBytes(1, "../x", 0, []byte("ab")))
	f.Add(journalRecordBytes(1, seg, -5, []byte("ab")))
	f.Add([]byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, recs []byte) {
		fs := journalFileWith(t, recs)
		before, _ := fs.ReadDir("/data/t-0")
		j, _, err := openJournal(fs, "/data", 1<<20, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("replay: %v", err)
		}
		j.close()
		after, _ := fs.ReadDir("/data/t-0")
		top, _ := fs.ReadDir("/data")
		if len(after) != len(before) || len(top) != 2 {
			t.Fatalf("replay created files: %v, %v", after, top)
		}
		if _, err := fs.Stat(filepath.Join("/data", "..", "x")); err == nil {
			t.Fatal("replay wrote outside the data directory")
		}
	})
}

// TestJournalResized: a journal of another size than configured is
// replayed, then replaced by one of the configured size.
func TestJournalResized(t *testing.T) {
	fs := journalFileWith(t, journalRecordBytes(1, "t-0/00000000000000000000.log", 0, []byte("ab")))
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", JournalBytes: 64 << 10})
	n, err := c.OpenJournal()
	if err != nil || n != 1 {
		t.Fatalf("replayed %d records (%v), want 1", n, err)
	}
	c.Close()
	st, err := fs.CrashClone().Stat("/data/" + journalName)
	if err != nil || st.Size() != 64<<10 {
		t.Fatalf("journal after the resize: %v, %v; want 64 KiB", st, err)
	}
}

// writebackPair opens two logs with 1 MiB segments sharing a 4 MiB
// journal, and counts the writeback starts on their segments. Cleanup
// closes them.
func writebackPair(t *testing.T) ([]*Log, *atomic.Int64) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 4<<20)
	starts := countOps(fs, vfs.OpStartWriteback, logSuffix)
	o := journalLogOpts(fs, c)
	o.SegmentBytes = 1 << 20
	ls := openPair(t, o)
	t.Cleanup(func() {
		for _, l := range ls {
			l.Close()
		}
		c.Close()
	})
	return ls, starts
}

// TestJournalRoundsStartWriteback: once a log's journaled bytes reach
// journalWritebackBytes, the round asks the kernel to start writing them
// back to the log's file, so the half's volume sync finds less to write.
func TestJournalRoundsStartWriteback(t *testing.T) {
	ls, starts := writebackPair(t)
	for i := range 4 {
		writeBoth(t, ls, makeBatch(4, 5000, int64(i), byte(i)))
		if i == 0 && starts.Load() != 0 {
			t.Fatal("writeback started for less than journalWritebackBytes")
		}
	}
	if starts.Load() < 2 {
		t.Fatalf("%d writeback starts after 80 KB journaled per log, want one per log", starts.Load())
	}
}

// TestJournalRoundsStartWritebackOfOldBytes: a log's journaled bytes that
// stay below journalWritebackBytes get their writeback started once they
// are journalWritebackAge old, so a half's volume sync does not find them
// all.
func TestJournalRoundsStartWritebackOfOldBytes(t *testing.T) {
	ls, starts := writebackPair(t)
	writeBoth(t, ls, makeBatch(2, 100, 1, 1))
	writeBoth(t, ls, makeBatch(2, 100, 2, 2))
	if starts.Load() != 0 {
		t.Fatal("writeback started for young bytes below journalWritebackBytes")
	}
	time.Sleep(journalWritebackAge + 50*time.Millisecond)
	writeBoth(t, ls, makeBatch(2, 100, 3, 3))
	if got := starts.Load(); got != 2 {
		t.Fatalf("%d writeback starts for bytes older than journalWritebackAge, want one per log", got)
	}
}

// TestJournalRoundCapsAgedKicks: one round starts the writeback of old
// bytes for at most an eighth of its logs, and at least minAgedKicks
// (each is a writeback of its own); the next rounds take the rest.
func TestJournalRoundCapsAgedKicks(t *testing.T) {
	fs := vfs.NewMem()
	c, _ := journalCommitter(t, fs, 4<<20)
	defer c.Close()
	starts := countOps(fs, vfs.OpStartWriteback, logSuffix)
	const logs = 2*minAgedKicks + 4 // an eighth of them is below minAgedKicks
	var ls []*Log
	for i := range logs {
		l := openT(t, fmt.Sprintf("/data/t-%d", i), journalLogOpts(fs, c))
		defer l.Close()
		ls = append(ls, l)
	}
	writeBoth(t, ls, makeBatch(1, 100, 1, 1))
	time.Sleep(journalWritebackAge + 50*time.Millisecond)
	writeBoth(t, ls, makeBatch(1, 100, 2, 2))
	if got := starts.Load(); got != minAgedKicks {
		t.Fatalf("a round over %d logs with old bytes started %d writebacks, want %d", logs, got, minAgedKicks)
	}
	writeBoth(t, ls, makeBatch(1, 100, 3, 3))
	writeBoth(t, ls, makeBatch(1, 100, 4, 4))
	if got := starts.Load(); got != logs {
		t.Fatalf("after two more rounds %d writebacks started, want one per log (%d)", got, logs)
	}
}
