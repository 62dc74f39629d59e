package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

const crashDir = "/data/topic-0"

func memOpts(fs vfs.FS, policy SyncPolicy) Options {
	o := DefaultOptions()
	o.FS = fs
	o.Sync = policy
	o.SegmentBytes = 2048
	o.IndexIntervalBytes = 300
	return o
}

// readAllBatches reads every batch from LogStartOffset to the high
// watermark, failing the test on any error or invalid batch.
func readAllBatches(t testing.TB, l *Log) [][]byte {
	t.Helper()
	var out [][]byte
	err := l.ScanBatches(l.LogStartOffset(), func(h record.BatchHeader, b []byte) error {
		if _, err := record.CheckBatch(b); err != nil {
			return fmt.Errorf("stored batch at offset %d: %w", h.BaseOffset, err)
		}
		out = append(out, append([]byte(nil), b...))
		return nil
	})
	if err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

// checkPrefix verifies got is written[:len(got)] byte for byte and holds at
// least acked batches.
func checkPrefix(t testing.TB, what string, got, written [][]byte, acked int) {
	t.Helper()
	if len(got) < acked {
		t.Fatalf("%s: %d batches recovered, %d were acknowledged", what, len(got), acked)
	}
	if len(got) > len(written) {
		t.Fatalf("%s: %d batches recovered, only %d written", what, len(got), len(written))
	}
	for i := range got {
		if !bytes.Equal(got[i], written[i]) {
			t.Fatalf("%s: batch %d differs (%d vs %d bytes)", what, i, len(got[i]), len(written[i]))
		}
	}
}

// TestPowerLossAtEveryOp snapshots the filesystem as a power cut would
// leave it before every single filesystem operation of a run of appends
// (with rolls), then recovers each snapshot.
//
// Variants: "deferred" recovers with Options.DeferRecoverySync and then
// FinishRecovery (the broker's way: one commit round for every log);
// "files" runs every open through a FileCache holding one segment file, so
// segments are closed (fsynced first when written) and reopened throughout.
func TestPowerLossAtEveryOp(t *testing.T) {
	type variant struct {
		name  string
		tweak func(*Options)
	}
	variants := []variant{
		{"plain", func(*Options) {}},
		{"deferred", func(o *Options) { o.DeferRecoverySync = true }},
		{"files", func(o *Options) {
			fc, err := NewFileCache(FileCacheOptions{MaxOpen: 1})
			if err != nil {
				t.Fatal(err)
			}
			o.Files = fc
		}},
	}
	for _, v := range variants {
		for _, policy := range []SyncPolicy{SyncAlways, SyncNever} {
			t.Run(v.name+"/"+policy.String(), func(t *testing.T) { powerLossAtEveryOp(t, policy, v.tweak) })
		}
	}
}

func powerLossAtEveryOp(t *testing.T, policy SyncPolicy, tweak func(*Options)) {
	opts := func(fs vfs.FS) Options {
		o := memOpts(fs, policy)
		tweak(&o)
		return o
	}
	{
		{
			fs := vfs.NewMem()
			type snap struct {
				fs    *vfs.MemFS
				acked int
				wrote int
			}
			var (
				mu      sync.Mutex
				snaps   []snap
				acked   atomic.Int64
				written atomic.Int64
				on      atomic.Bool
			)
			fs.SetFault(func(op vfs.Op, path string) error {
				if on.Load() {
					s := snap{acked: int(acked.Load()), wrote: int(written.Load()), fs: fs.CrashClone()}
					mu.Lock()
					snaps = append(snaps, s)
					mu.Unlock()
				}
				return nil
			})
			l := openT(t, crashDir, opts(fs))
			on.Store(true)
			rng := rand.New(rand.NewPCG(1, uint64(policy)))
			var batches [][]byte
			for i := 0; i < 60; i++ {
				b := makeBatch(1+rng.IntN(4), rng.IntN(400), int64(i*100), byte(i))
				// Counted as written before the call: a power cut during
				// Write may keep the batch (with a FileCache, an eviction
				// later in the same call fsyncs it).
				written.Store(int64(len(batches) + 1))
				_, next, err := l.Write(b)
				if err != nil {
					t.Fatal(err)
				}
				batches = append(batches, append([]byte(nil), b...)) // as stored: Write set its base offset
				if err := l.WaitDurable(next); err != nil {
					t.Fatal(err)
				}
				acked.Add(1)
			}
			on.Store(false)
			final := fs.CrashClone()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			snaps = append(snaps, snap{fs: final, acked: len(batches), wrote: len(batches)})
			if len(snaps) < 100 {
				t.Fatalf("only %d crash points", len(snaps))
			}
			deferred := 0
			defer func() {
				if o := opts(fs); o.DeferRecoverySync && policy == SyncAlways && deferred == 0 && !t.Failed() {
					t.Error("no crash point left a recovered tail to FinishRecovery")
				}
			}()
			for i, s := range snaps {
				o := opts(s.fs)
				l2, err := Open(crashDir, o)
				if err != nil {
					t.Fatalf("crash point %d: reopen: %v", i, err)
				}
				if o.DeferRecoverySync {
					if l2.HighWatermark() < l2.LogEndOffset() {
						deferred++
					}
					if err := l2.FinishRecovery(); err != nil {
						t.Fatalf("crash point %d: finish recovery: %v", i, err)
					}
				}
				if o.Files != nil && o.Files.Open() > o.Files.MaxOpen() {
					t.Fatalf("crash point %d: %d segment files open, limit %d", i, o.Files.Open(), o.Files.MaxOpen())
				}
				if err := l2.Check(); err != nil {
					t.Fatalf("crash point %d: check: %v", i, err)
				}
				got := readAllBatches(t, l2)
				need := s.acked
				if policy != SyncAlways {
					need = 0
				}
				if i == len(snaps)-1 && policy == SyncAlways {
					need = len(batches)
				}
				checkPrefix(t, fmt.Sprintf("crash point %d", i), got, batches[:s.wrote], need)
				// The recovered log accepts appends and survives another crash.
				nb := makeBatch(1, 10, 1, 1)
				if _, err := l2.Append(nb); err != nil {
					t.Fatalf("crash point %d: append after recovery: %v", i, err)
				}
				if l2.LogEndOffset() != l2.HighWatermark() && policy == SyncAlways {
					t.Fatalf("hw %d != leo %d after ack", l2.HighWatermark(), l2.LogEndOffset())
				}
				if err := l2.Close(); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
}

// TestPowerLossConcurrent crashes while several goroutines append to
// several logs sharing one Committer, whose rounds flush several logs at
// once.
func TestPowerLossConcurrent(t *testing.T) {
	t.Run("volume-sync", func(t *testing.T) { testPowerLossConcurrent(t, 0) })
	t.Run("fsync-per-log", func(t *testing.T) { testPowerLossConcurrent(t, -1) })
}

// testPowerLossConcurrent runs TestPowerLossConcurrent with a committer
// whose rounds use one volume sync (maxDirty 0: the default bound) or an
// fsync per log (maxDirty -1).
func testPowerLossConcurrent(t *testing.T, maxDirty int64) {
	fs := vfs.NewMem()
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", MaxVolumeDirty: maxDirty})
	defer c.Close()
	const logs, writers, per = 3, 4, 40
	var ls [logs]*Log
	for i := range ls {
		o := memOpts(fs, SyncAlways)
		o.Committer = c
		ls[i] = openT(t, fmt.Sprintf("/data/t-%d", i), o)
	}
	type ack struct {
		log  int
		base int64
		b    []byte
	}
	var mu sync.Mutex
	var acks []ack
	var crashAt *vfs.MemFS
	var crashAcks []ack
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < per; i++ {
				li := (w + i) % logs
				b := makeBatch(1+i%3, 100, int64(i), byte(w))
				base, err := ls[li].Append(b)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acks = append(acks, ack{li, base, append([]byte(nil), b...)})
				if len(acks) == writers*per/2 {
					crashAcks = append([]ack(nil), acks...)
					crashAt = fs.CrashClone()
				}
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	for _, l := range ls {
		l.Close()
	}
	for i := range ls {
		l := openT(t, fmt.Sprintf("/data/t-%d", i), memOpts(crashAt, SyncAlways))
		for _, a := range crashAcks {
			if a.log != i {
				continue
			}
			got, err := l.Read(a.base, 1)
			if err != nil || !bytes.Equal(got, a.b) {
				t.Fatalf("log %d offset %d: acked batch lost or changed (err %v)", i, a.base, err)
			}
		}
		l.Close()
	}
}

// TestCorruptionRecovered damages the files of an uncleanly stopped log
// and checks recovery keeps everything before the damage and cuts the rest.
func TestCorruptionRecovered(t *testing.T) {
	type damage struct {
		name string
		// do damages fs given the active segment path and the byte
		// position and size of its last batch; keep is how many of the
		// written batches must survive (-1: all but the last).
		do   func(t *testing.T, fs *vfs.MemFS, seg string, lastPos, lastSize int64)
		keep int
	}
	base := func(seg string) string { return seg[:len(seg)-len(logSuffix)] }
	cases := []damage{
		{"flipped byte in last batch", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			flip(t, fs, seg, pos+size-3)
		}, -1},
		{"flipped byte in last batch header length", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			flip(t, fs, seg, pos+9)
		}, -1},
		{"log cut mid-batch", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			truncate(t, fs, seg, pos+size/2)
		}, -1},
		{"log cut mid-header", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			truncate(t, fs, seg, pos+20)
		}, -1},
		{"zero-filled tail", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			f, _ := fs.OpenFile(seg, 2, 0)
			st, _ := f.Stat()
			f.WriteAt(make([]byte, 5000), st.Size())
			f.Close()
		}, 0},
		{"truncated index", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			truncate(t, fs, base(seg)+idxSuffix, idxHeaderSize+idxEntrySize+3)
		}, 0},
		{"missing index and timeindex", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			fs.Remove(base(seg) + idxSuffix)
			fs.Remove(base(seg) + tidxSuffix)
		}, 0},
		{"garbage index", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			f, _ := fs.OpenFile(base(seg)+idxSuffix, 2, 0)
			f.WriteAt(bytes.Repeat([]byte{0xff}, 64), idxHeaderSize)
			f.Close()
		}, 0},
		{"index past log end", func(t *testing.T, fs *vfs.MemFS, seg string, pos, size int64) {
			f, _ := fs.OpenFile(base(seg)+idxSuffix, 2, 0)
			st, _ := f.Stat()
			f.WriteAt(putIdxEntry(nil, 1<<20, 1<<30), st.Size())
			f.Close()
		}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fs := vfs.NewMem()
			o := memOpts(fs, SyncAlways)
			o.SegmentBytes = 1 << 20
			o.IndexIntervalBytes = 200
			l := openT(t, crashDir, o)
			var written [][]byte
			var lastPos int64
			for i := 0; i < 20; i++ {
				b := makeBatch(2, 100, int64(i), byte(i))
				lastPos = l.Size()
				if _, err := l.Append(b); err != nil {
					t.Fatal(err)
				}
				written = append(written, append([]byte(nil), b...))
			}
			crashed := fs.CrashClone()
			l.Close()
			seg := crashDir + "/" + segmentName(0, logSuffix)
			tc.do(t, crashed, seg, lastPos, int64(len(written[len(written)-1])))
			l2 := openT(t, crashDir, o.withFS(crashed))
			if err := l2.Check(); err != nil {
				t.Fatalf("check after recovery: %v", err)
			}
			got := readAllBatches(t, l2)
			keep := len(written)
			if tc.keep < 0 {
				keep = len(written) + tc.keep
			}
			if len(got) != keep {
				t.Fatalf("recovered %d batches, want %d", len(got), keep)
			}
			checkPrefix(t, "recovered", got, written, keep)
			for o := int64(0); o < l2.HighWatermark(); o++ {
				if _, err := l2.Read(o, 1); err != nil {
					t.Fatalf("read %d: %v", o, err)
				}
			}
			if _, err := l2.Append(makeBatch(1, 5, 1, 1)); err != nil {
				t.Fatalf("append after recovery: %v", err)
			}
		})
	}
}

func (o Options) withFS(fs vfs.FS) Options { o.FS = fs; return o }

func flip(t *testing.T, fs vfs.FS, path string, pos int64) {
	t.Helper()
	f, err := fs.OpenFile(path, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := []byte{0}
	f.ReadAt(b, pos)
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, pos); err != nil {
		t.Fatal(err)
	}
}

func truncate(t *testing.T, fs vfs.FS, path string, size int64) {
	t.Helper()
	f, err := fs.OpenFile(path, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedClosedSegmentIndexRebuilt damages a closed segment's index
// and checks reads still find batches by offset and time.
func TestDamagedClosedSegmentIndexRebuilt(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncAlways)
	l := openT(t, crashDir, o)
	var written [][]byte
	for i := 0; i < 40; i++ {
		b := makeBatch(1, 200, int64(1000+i), byte(i))
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
		written = append(written, append([]byte(nil), b...))
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	first := crashDir + "/" + segmentName(0, "")
	truncate(t, fs, first+idxSuffix, 3)
	fs.Remove(first + tidxSuffix)
	l = openT(t, crashDir, o)
	defer l.Close()
	checkPrefix(t, "after index damage", readAllBatches(t, l), written, len(written))
	for i := range written {
		got, err := l.Read(int64(i), 1)
		if err != nil || !bytes.Equal(got, written[i]) {
			t.Fatalf("read %d: %v", i, err)
		}
		off, err := l.OffsetForTime(int64(1000 + i))
		if err != nil || off != int64(i) {
			t.Fatalf("offset for time %d: %d %v", 1000+i, off, err)
		}
	}
	if !errors.Is(func() error { _, err := l.Read(1000, 1); return err }(), ErrOffsetOutOfRange) {
		t.Fatal("read past end should be out of range")
	}
}

// TestCrashDuringBackgroundRollSync cuts power while the rolled segment's
// background fsync (interval/never) is still blocked: recovery must find
// the unsynced closed segment, drop the segment after it, and keep a clean
// prefix.
func TestCrashDuringBackgroundRollSync(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncNever)
	o.SegmentBytes = 1500
	l := openT(t, crashDir, o)
	release := make(chan struct{})
	var blocked atomic.Bool
	first := crashDir + "/" + segmentName(0, logSuffix)
	fs.SetFault(func(op vfs.Op, path string) error {
		if op == vfs.OpSync && path == first && !blocked.Load() {
			blocked.Store(true)
			<-release
		}
		return nil
	})
	var written [][]byte
	for l.SegmentCount() < 2 || l.Size() < 2000 {
		b := makeBatch(1, 200, 1, byte(len(written)))
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
		written = append(written, append([]byte(nil), b...))
	}
	deadline := time.Now().Add(10 * time.Second)
	for !blocked.Load() {
		if time.Now().After(deadline) {
			t.Fatal("background fsync never started")
		}
		time.Sleep(time.Millisecond)
	}
	// Make the second segment's data durable but not the first's.
	l.mu.RLock()
	second := l.activeLocked().f
	l.mu.RUnlock()
	if err := second.Sync(); err != nil {
		t.Fatal(err)
	}
	crashed := fs.CrashClone()
	close(release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l2 := openT(t, crashDir, o.withFS(crashed))
	if err := l2.Check(); err != nil {
		t.Fatal(err)
	}
	got := readAllBatches(t, l2)
	checkPrefix(t, "after crash", got, written, 0)
	if len(got) != 0 || l2.SegmentCount() != 1 {
		t.Fatalf("recovered %d batches in %d segments; the unsynced first segment should be empty and the second dropped", len(got), l2.SegmentCount())
	}
	if _, err := l2.Append(makeBatch(1, 5, 1, 1)); err != nil {
		t.Fatal(err)
	}
}
