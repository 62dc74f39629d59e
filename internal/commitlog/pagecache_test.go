package commitlog

import (
	"bytes"
	"sync"
	"syscall"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// settleDrops waits for the log's background work (the last roll's fsync,
// the page dropper) and drops what is left to drop.
func settleDrops(l *Log) {
	for {
		l.mu.Lock()
		l.waitRollSyncLocked()
		if done := l.mu.dropDone; done != nil {
			l.mu.Unlock()
			<-done
			continue
		}
		d, ok := l.nextDropLocked()
		l.mu.Unlock()
		if !ok {
			return
		}
		l.drop(d)
	}
}

// appendMiB appends batches of about 256 KiB until the log holds mib MiB
// and returns them with their base offsets.
func appendMiB(t *testing.T, l *Log, mib int64) (batches [][]byte, bases []int64) {
	t.Helper()
	for i := 0; l.Size() < mib<<20; i++ {
		b := makeBatch(200, 1300, int64(i), byte(i))
		base, err := l.Append(b)
		if err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
		batches = append(batches, append([]byte(nil), b...))
		bases = append(bases, base)
	}
	return batches, bases
}

// neverLog opens a SyncNever log on fs in dir with segments of segMiB MiB
// and CacheBytes at 8 MiB.
func neverLog(t *testing.T, fs *vfs.MemFS, dir string, segMiB int64) *Log {
	t.Helper()
	o := memOpts(fs, SyncNever)
	o.SegmentBytes = segMiB << 20
	o.CacheBytes = 8 << 20
	return openT(t, dir, o)
}

func checkReadBack(t *testing.T, l *Log, batches [][]byte, bases []int64) {
	t.Helper()
	for i, b := range batches {
		got, err := l.Read(bases[i], 1)
		if err != nil || !bytes.Equal(got[12:], b[12:]) {
			t.Fatalf("offset %d: %v, content equal %v", bases[i], err, err == nil && bytes.Equal(got[12:], b[12:]))
		}
	}
}

// TestFailedWritebackKeepsPages: under SyncNever the dropper checks each
// range's writeback before dropping it. When that check fails, the pages
// (clean, but not on disk: MemFS turns them into what the disk holds if
// they are dropped) stay, every batch reads back, and the writer's next
// fsync still reports the error.
func TestFailedWritebackKeepsPages(t *testing.T) {
	fs := vfs.NewMem()
	l := neverLog(t, fs, "/data/wb", 64)
	defer l.Close()
	fs.FailNext(vfs.OpWaitWriteback, syscall.EIO)
	batches, bases := appendMiB(t, l, 32)
	settleDrops(l)
	l.mu.RLock()
	noDrop := l.activeLocked().noDrop
	l.mu.RUnlock()
	if !noDrop {
		t.Fatal("the segment still drops pages after a failed writeback")
	}
	checkReadBack(t, l, batches, bases)
	if err := l.syncOnce(); err == nil {
		t.Fatal("the writer's fsync did not report the failed writeback")
	}
}

// TestUnsyncedSealedSegmentKeepsPages: under SyncNever a rolled segment is
// fsynced in the background; when that fails (twice: the retry rewrites it
// from the page cache), its pages are never dropped while later segments'
// are, and every batch still reads back.
func TestUnsyncedSealedSegmentKeepsPages(t *testing.T) {
	fs := vfs.NewMem()
	l := neverLog(t, fs, "/data/roll", 4)
	defer l.Close()
	batches, bases := appendMiB(t, l, 3)
	first := l.mu.segs[0].logPath
	fails := 2
	var mu sync.Mutex
	fs.SetFault(func(op vfs.Op, path string) error {
		mu.Lock()
		defer mu.Unlock()
		if op == vfs.OpSync && path == first && fails > 0 {
			fails--
			return syscall.EIO
		}
		return nil
	})
	more, moreBases := appendMiB(t, l, 40)
	batches, bases = append(batches, more...), append(bases, moreBases...)
	settleDrops(l)
	l.mu.RLock()
	seg := l.mu.segs[0]
	kept, dropped := seg.dropped < seg.size, 0
	for _, s := range l.mu.segs[1 : len(l.mu.segs)-3] {
		if s.dropped >= s.size {
			dropped++
		}
	}
	n := len(l.mu.segs)
	cursor := l.mu.dropBase
	l.mu.RUnlock()
	if cursor <= seg.base {
		t.Fatalf("the dropper still starts at segment %d, the one whose fsync failed", cursor)
	}
	if !kept || seg.synced.Load() || fails != 0 {
		t.Fatalf("the segment whose fsync failed (%d faults left): synced %v, dropped up to %d of %d", fails, seg.synced.Load(), seg.dropped, seg.size)
	}
	if dropped != n-4 {
		t.Fatalf("%d of the %d older synced segments dropped", dropped, n-4)
	}
	checkReadBack(t, l, batches, bases)
}

// TestBigWriteStartsWriteback: under SyncAlways a write of kickBytes or
// more starts its writeback as soon as it is written, once; smaller writes
// and other policies leave it to the fsync or the kernel.
func TestBigWriteStartsWriteback(t *testing.T) {
	for _, tc := range []struct {
		sync   SyncPolicy
		values int // record value bytes; 300 records per batch
		starts int
	}{{SyncAlways, 1000, 1}, {SyncAlways, 100, 0}, {SyncNever, 1000, 0}} {
		fs := vfs.NewMem()
		var mu sync.Mutex
		starts := 0
		fs.SetFault(func(op vfs.Op, path string) error {
			if op == vfs.OpStartWriteback {
				mu.Lock()
				starts++
				mu.Unlock()
			}
			return nil
		})
		o := memOpts(fs, tc.sync)
		o.SegmentBytes = 16 << 20
		l := openT(t, "/data/kick", o)
		b := makeBatch(300, tc.values, 1, 1)
		if _, _, err := l.Write(b); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		got := starts
		mu.Unlock()
		if got != tc.starts {
			t.Errorf("%v, %d-byte write: %d writeback starts, want %d", tc.sync, len(b), got, tc.starts)
		}
		l.Close()
	}
}
