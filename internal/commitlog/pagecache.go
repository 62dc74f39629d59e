package commitlog

import (
	"errors"
	"os"
	"sort"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// Page-cache drop-behind.
//
// Every byte a log appends goes into a page-cache page the kernel must
// find first. A log that keeps all it wrote takes fresh pages for every
// append and, once memory is full, evicts other files' pages (other
// partitions' tails, indexes) before its own cold data. On a virtual
// machine that hands free memory back to its host (virtio-balloon free
// page reporting, as on this project's Firecracker VM) a fresh page also
// costs a fault in the host: writing 4 GiB in 1 MiB writes took 1.3–2.5
// s/GB of kernel CPU there, and 0.3–0.4 s/GB when the writer dropped what
// it had written 256 MiB earlier and so reused those pages.
//
// So a log drops its pages once they are on disk and more than
// Options.CacheBytes behind its end, cacheDropStep bytes at a time, on a
// goroutine of its own that runs only while there is something to drop.
// PostgreSQL does the same with WAL segments it is done with. Consumers
// reading the tail (within CacheBytes) still read memory; older reads go
// to the disk, and the kernel caches them again.
//
// Only bytes known to be on disk are dropped: a page whose writeback
// failed is clean but not on disk, and it is the copy a failed fsync's
// repair rewrites from. Under SyncAlways and SyncInterval that is the
// durable prefix; sealed segments once their fsync succeeded. Under
// SyncNever, where nothing in the active segment is fsynced, the active
// segment has a second read-only descriptor, opened before the writes it
// checks: the dropper writes a range back and waits for it through that
// descriptor (vfs.WritebackWaiter), which reports any writeback error of
// the file since it was opened while leaving the writer's own descriptor
// to report it again at its fsync. After such an error the segment's pages
// are kept. Segments found at Open are left alone up to their size then:
// their pages were not written by this process.

// cacheDropStep is how many bytes a log drops at once, and how many it
// writes between looks for something to drop.
const cacheDropStep = 8 << 20

// dropRange is a range of a segment's pages to drop; verify says to write
// it back and check it through the segment's writeback descriptor first.
type dropRange struct {
	seg      *segment
	from, to int64
	verify   bool
}

// noteWrittenLocked counts n bytes written and, every cacheDropStep bytes,
// starts the dropper if there is something to drop. mu must be held.
func (l *Log) noteWrittenLocked(n int64) {
	if l.mu.opts.CacheBytes <= 0 {
		return
	}
	l.mu.sinceDrop += n
	if l.mu.sinceDrop < cacheDropStep || l.mu.dropDone != nil {
		return
	}
	l.mu.sinceDrop = 0
	if d, ok := l.nextDropLocked(); ok {
		done := make(chan struct{})
		l.mu.dropDone = done
		go l.dropBehind(d, done)
	}
}

// dropBehind drops d and whatever else falls behind meanwhile, then
// exits.
func (l *Log) dropBehind(d dropRange, done chan struct{}) {
	defer close(done)
	for {
		l.drop(d)
		l.mu.Lock()
		ok := false
		if !l.mu.closed {
			d, ok = l.nextDropLocked()
		}
		if !ok {
			l.mu.dropDone = nil
			l.mu.Unlock()
			return
		}
		l.mu.Unlock()
	}
}

// waitDropperLocked waits for the dropper to exit; closed must be set, so
// it picks nothing more. mu must be held; it is released while waiting.
func (l *Log) waitDropperLocked() {
	if done := l.mu.dropDone; done != nil {
		l.mu.Unlock()
		<-done
		l.mu.Lock()
	}
}

// nextDropLocked picks the oldest range that is on disk, more than
// CacheBytes behind the log end and not dropped yet, and marks it dropped.
// mu must be held.
func (l *Log) nextDropLocked() (dropRange, bool) {
	a := l.activeLocked()
	// Sealed segments first, oldest first, each whole once the segments
	// after it hold CacheBytes: j is the newest such.
	j, behind := len(l.mu.segs)-1, a.size
	for j > 0 && behind < l.mu.opts.CacheBytes {
		j--
		behind += l.mu.segs[j].size
	}
	first := sort.Search(j, func(i int) bool { return l.mu.segs[i].base >= l.mu.dropBase })
	for i := first; i < j; i++ {
		s := l.mu.segs[i]
		switch {
		// Done: dropped, kept for good, or sealed before the last roll
		// without a successful fsync (rolls wait for the previous
		// segment's fsync, so it failed).
		case s.dropped >= s.size || s.noDrop || (!s.synced.Load() && i < len(l.mu.segs)-2):
			if i == first {
				first++
				l.mu.dropBase = l.mu.segs[first].base // done for good, with all before
			}
		case s.synced.Load():
			d := dropRange{seg: s, from: s.dropped, to: s.size}
			s.dropped = s.size
			return d, true
		}
	}
	if a.noDrop {
		return dropRange{}, false
	}
	end, verify := l.mu.durPos, false
	if l.mu.opts.Sync == SyncNever && a.wb != nil {
		end, verify = a.size, true
	}
	lim := min(end, a.size-l.mu.opts.CacheBytes) &^ (cacheDropStep - 1)
	if lim-a.dropped < cacheDropStep {
		return dropRange{}, false
	}
	d := dropRange{seg: a, from: a.dropped, to: lim, verify: verify}
	a.dropped = lim
	return d, true
}

// drop drops d's pages, after checking their writeback if d.verify. It is
// a hint: a failure only keeps them. A failed check keeps the segment's
// pages for good.
func (l *Log) drop(d dropRange) {
	if err := l.dropPages(d); err != nil {
		if !errors.Is(err, os.ErrClosed) {
			l.logger().Warn("writeback failed; keeping the segment's pages in the page cache", "segment", d.seg.logPath, "err", err)
		}
		l.mu.Lock() // not under the segment's io lock: Log.mu comes first
		d.seg.noDrop = true
		l.mu.Unlock()
	}
}

// dropPages is drop under the segment's io read lock, which keeps its
// files open; it returns the writeback check's error.
func (l *Log) dropPages(d dropRange) error {
	s := d.seg
	s.io.RLock()
	defer s.io.RUnlock()
	if d.verify {
		ww, ok := s.wb.(vfs.WritebackWaiter)
		if !ok {
			return nil
		}
		if err := ww.WaitWriteback(d.from, d.to-d.from); err != nil {
			return err
		}
	}
	if cd, ok := s.f.(vfs.CacheDropper); ok {
		if err := cd.DropCache(d.from, d.to-d.from); err != nil {
			l.logger().Debug("cannot drop written pages from the page cache", "segment", s.logPath, "err", err)
		}
	}
	return nil
}

// openWritebackLocked gives the active segment its writeback descriptor
// under SyncNever, before the next write (see the comment at the top). It
// checks only what is written from now on. mu must be held.
func (l *Log) openWritebackLocked(a *segment) {
	if l.mu.opts.Sync != SyncNever || l.mu.opts.CacheBytes <= 0 || a.wb != nil || a.noDrop {
		return
	}
	f, err := l.fs.OpenFile(a.logPath, os.O_RDONLY, 0)
	if err != nil {
		a.noDrop = true
		l.logger().Debug("cannot open a writeback descriptor; keeping the segment's pages in the page cache", "segment", a.logPath, "err", err)
		return
	}
	a.wb = f
	a.dropped = max(a.dropped, a.size)
}

// closeWriteback closes a segment's writeback descriptor (sealed or
// closing segments).
func (s *segment) closeWriteback() {
	s.io.Lock()
	defer s.io.Unlock()
	if s.wb != nil {
		s.wb.Close()
		s.wb = nil
	}
}
