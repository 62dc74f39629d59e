package commitlog

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// Write validates batches (one or more RecordBatch v2 back to back),
// assigns offsets by rewriting each baseOffset in the caller's buffer, and
// writes them to the active segment. It does not wait for durability: call
// WaitDurable(next) before acknowledging under SyncAlways. If any batch is
// invalid nothing is written and the error is a *record.BatchError (errors.Is
// record.ErrInvalidBatch). base is the first assigned offset and next the offset
// after the last record.
func (l *Log) Write(batches []byte) (base, next int64, err error) {
	if len(batches) == 0 {
		return 0, 0, &record.BatchError{Reason: "no record batches"}
	}
	records := int64(0)
	for pos := 0; pos < len(batches); {
		h, err := record.CheckBatch(batches[pos:])
		if err != nil {
			var be *record.BatchError
			if errors.As(err, &be) {
				be.Pos = pos
			}
			return 0, 0, err
		}
		records += int64(h.LastOffsetDelta) + 1
		pos += h.Size()
	}
	return l.write(batches, records)
}

// WriteChecked is Write for batches the caller has just validated with
// record.ValidateBatches (hs are its headers, in order), so the CRC-32C of every
// batch is not computed a second time on the produce path.
func (l *Log) WriteChecked(batches []byte, hs []record.BatchHeader) (base, next int64, err error) {
	if len(batches) == 0 || len(hs) == 0 {
		return 0, 0, &record.BatchError{Reason: "no record batches"}
	}
	records := int64(0)
	size := 0
	for i := range hs {
		records += int64(hs[i].LastOffsetDelta) + 1
		size += hs[i].Size()
	}
	if size != len(batches) {
		return 0, 0, &record.BatchError{Reason: fmt.Sprintf("headers cover %d of %d bytes", size, len(batches))}
	}
	return l.write(batches, records)
}

func (l *Log) write(batches []byte, records int64) (base, next int64, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return 0, 0, ErrClosed
	}
	if l.mu.markerPending {
		if err := removeCleanMarker(l.fs, l.dir); err != nil {
			return 0, 0, err
		}
		l.mu.markerPending = false
	}
	if l.mu.syncErr != nil || l.mu.writeBroken {
		if err := l.repairLocked(); err != nil {
			return 0, 0, err
		}
	}
	if l.createSync.Load() != 0 {
		if err := l.syncCreatedLocked(); err != nil {
			return 0, 0, err
		}
	}
	a := l.activeLocked()
	n := int64(len(batches))
	if a.size > 0 && (a.size+n > l.mu.opts.SegmentBytes ||
		l.mu.next-a.base+records > math.MaxInt32 ||
		(l.mu.opts.SegmentAge > 0 && l.mu.opts.Now().Sub(a.created) >= l.mu.opts.SegmentAge)) {
		if err := l.rollLocked(); err != nil {
			return 0, 0, err
		}
		a = l.activeLocked()
	}
	if a.size+n > math.MaxInt32 {
		return 0, 0, &record.BatchError{Reason: fmt.Sprintf("%d bytes do not fit in a segment", n)}
	}
	base = l.mu.next
	off := base
	for pos := 0; pos < len(batches); {
		b := batches[pos:]
		record.SetBaseOffset(b, off)
		h, _ := record.ParseBatchHeader(b)
		off += int64(h.LastOffsetDelta) + 1
		pos += h.Size()
	}
	// A fill may still run after a Reconfigure away from SyncAlways: never
	// write where it writes zeros.
	l.settleFill(a, a.size+n)
	if l.mu.opts.PreallocateBytes > 0 {
		zf, ok := a.f.(vfs.ZeroFiller)
		switch {
		case ok && l.mu.opts.Sync == SyncAlways:
			l.zeroAheadLocked(a, zf, a.size+n)
		case a.size+n > a.alloc:
			l.preallocateLocked(a, a.size+n)
		}
	}
	l.openWritebackLocked(a)
	hold := l.holdLocked(len(batches))
	if !hold || len(l.mu.held.bytes())+len(batches) > holdMaxBytes {
		if err := l.writeHeldNowLocked(); err != nil {
			return 0, 0, err
		}
	}
	if hold {
		l.appendHeldLocked(a.size, batches)
	} else {
		if _, err := a.f.WriteAt(batches, a.size); err != nil {
			// A short write may have left part of the batches: cut it off.
			l.waitFill(a)
			if terr := a.f.Truncate(a.size); terr != nil {
				l.mu.writeBroken = true
			}
			a.alloc, a.zeroed = 0, false // the truncate released the reservation
			return 0, 0, fmt.Errorf("write %s: %w", a.logPath, err)
		}
		l.startWritebackLocked(a, n)
	}
	a.imu.Lock()
	for pos := 0; pos < len(batches); {
		h, _ := record.ParseBatchHeader(batches[pos:])
		a.trackBatch(&h, a.size+int64(pos), l.mu.opts.IndexIntervalBytes)
		pos += h.Size()
	}
	a.imu.Unlock()
	a.size += n
	a.modTime = l.mu.opts.Now()
	l.mu.next = off
	l.written.Store(off)
	l.mu.pendingAppends++
	l.noteWrittenLocked(n)
	if l.mu.opts.Sync == SyncAlways && !l.mu.lazyArmed {
		// Safety net: if nobody calls WaitDurable for these bytes, fsync
		// them anyway soon so the high watermark keeps moving.
		l.armLazyLocked(off)
	}
	if l.mu.opts.Sync != SyncAlways {
		l.mu.hw, l.mu.hwPos = l.mu.next, a.size
	}
	return base, off, nil
}

// kickBytes is the smallest write whose writeback starts as soon as it is
// in the page cache, under SyncAlways.
const kickBytes = 256 << 10

// pageBytes is the page-cache page size writeback works in.
const pageBytes = 4096

// startWritebackLocked starts the writeback of the full pages of a write of n
// bytes just made at the end of the active segment, when it is big and
// the log is SyncAlways: the disk starts on it while the round that will
// fsync it gathers and other logs write, so the fsync waits for less.
// Small writes are left to the fsync (a syscall each would cost more than
// it saves). mu must be held.
//
// Measured with bench/serve-ab.sh (1 KiB records, 3+3 pairs): 6 partitions
// × 4 producers 692–796 k against 600–711 k records/s, 1 producer 759–807 k
// against 635–780 k, at the same broker CPU per GB. Writing big writes in
// 256 KiB pieces with a start behind each gained no more; one start per
// write keeps the gain without the extra syscalls.
func (l *Log) startWritebackLocked(a *segment, n int64) {
	if l.mu.opts.Sync != SyncAlways || n < kickBytes {
		return
	}
	ws, ok := a.f.(vfs.WritebackStarter)
	if !ok {
		return
	}
	from, to := a.size&^(pageBytes-1), (a.size+n)&^(pageBytes-1)
	_ = ws.StartWriteback(from, to-from) // a hint; errors surface at the fsync
}

// preallocateLocked reserves blocks for the active segment from its reserved end
// to at least need, a PreallocateBytes step at a time and not past the
// segment size limit. Failure is not an error: appends then allocate as
// they write, as without preallocation. mu must be held.
func (l *Log) preallocateLocked(a *segment, need int64) {
	if a.noAlloc {
		return
	}
	al, ok := a.f.(vfs.Allocator)
	if !ok {
		a.noAlloc = true
		return
	}
	from := max(a.alloc, a.size)
	to := max(need, min(from+l.mu.opts.PreallocateBytes, l.mu.opts.SegmentBytes))
	if err := al.Allocate(from, to-from); err != nil {
		a.noAlloc = true
		l.logger().Warn("cannot reserve disk blocks ahead of appends; appending without", "segment", a.logPath, "err", err)
		return
	}
	a.alloc = to
}

// releaseAlloc gives back the blocks reserved past the end of a segment
// that will take no more appends (truncating a file to its own size frees
// them). mu must be held.
//
// A segment whose file holds zeros past its size (zerofill.go) must lose
// them before it is sealed, or a restart would read them as part of it:
// then a failed truncate is an error for the caller. Otherwise it is only
// reported.
func (l *Log) releaseAlloc(a *segment) error {
	l.waitFill(a)
	if a.alloc <= a.size {
		return nil
	}
	if err := a.f.Truncate(a.size); err != nil {
		if a.zeroed {
			return fmt.Errorf("cut zero-filled space off %s: %w", a.logPath, err)
		}
		l.logger().Warn("cannot release reserved disk blocks", "segment", a.logPath, "err", err)
		return nil
	}
	a.alloc, a.zeroed = 0, false
	return nil
}

// lazySyncDelay (twice it at most, see lazySync) bounds how long bytes written under SyncAlways stay
// invisible to consumers when no appender waits for them.
const lazySyncDelay = 100 * time.Millisecond

// lazySync is the safety-net fsync armed by Write under SyncAlways. When
// the commit rounds of appenders waiting in WaitDurable already made the
// armed offsets durable it does nothing but re-arm for bytes written since
// (so a busy log pays no fsync of its own every lazySyncDelay: with
// thousands of busy partitions those fsyncs outnumbered the rounds); when
// they did not, it joins the next commit round like any waiter.
func (l *Log) lazySync() {
	l.mu.Lock()
	l.mu.lazyArmed = false
	if l.mu.closed {
		l.mu.Unlock()
		return
	}
	if l.mu.dur >= l.mu.lazyNext {
		if l.mu.next > l.mu.dur && l.mu.opts.Sync == SyncAlways {
			l.armLazyLocked(l.mu.next)
		} else {
			l.lazy = nil // idle: the next write makes a new one
		}
		l.mu.Unlock()
		return
	}
	l.lazy = nil
	l.mu.Unlock()
	l.committer.waitRound(l, 0)
	l.mu.RLock()
	err := l.mu.syncErr
	l.mu.RUnlock()
	if err != nil {
		l.logger().Error("fsync failed", "err", err)
	}
}

// armLazyLocked arms the safety-net fsync for the offsets below next,
// creating its timer if the log has none: a log holds one only from its
// first unwaited write until the timer fires with nothing left to arm it
// for, so 10,000 idle partitions hold no timers. mu must be held.
func (l *Log) armLazyLocked(next int64) {
	l.mu.lazyArmed = true
	l.mu.lazyNext = next
	if l.lazy == nil {
		l.lazy = time.AfterFunc(lazySyncDelay, l.lazySync)
		return
	}
	l.lazy.Reset(lazySyncDelay)
}

// stopLazy stops the safety-net fsync, if armed.
func (l *Log) stopLazy() {
	l.mu.Lock()
	t := l.lazy
	l.mu.Unlock()
	if t != nil {
		t.Stop()
	}
}

// Append is Write followed by WaitDurable: under SyncAlways it returns once
// the batches are fsynced.
func (l *Log) Append(batches []byte) (base int64, err error) {
	base, next, err := l.Write(batches)
	if err != nil {
		return 0, err
	}
	if err := l.WaitDurable(next); err != nil {
		return 0, err
	}
	return base, nil
}

// rollLocked seals the active segment and starts a new one at the log end
// offset. Under SyncAlways the old segment is fsynced first (cheap: group
// commit keeps it nearly clean). Under SyncInterval and SyncNever it is
// fsynced in the background so appends do not stall for a segment's worth
// of writeback; the next roll, retention, Close and Delete wait for that
// fsync, so at most the last closed segment can be non-durable, and crash
// recovery checks it as well as the active one.
func (l *Log) rollLocked() error {
	a := l.activeLocked()
	always := l.mu.opts.Sync == SyncAlways
	if err := l.writeHeldLocked(); err != nil {
		return fmt.Errorf("roll: %w", err)
	}
	if err := l.releaseAlloc(a); err != nil {
		return fmt.Errorf("roll: %w", err)
	}
	if always {
		if err := l.syncActiveLocked(); err != nil {
			return fmt.Errorf("roll: %w", err)
		}
		a.synced.Store(true)
		a.closeWriteback() // left from a time under SyncNever
	}
	l.waitRollSyncLocked()
	a.imu.Lock()
	a.sealTimeIndex()
	var ierr error
	if always {
		if ierr = a.flushIndex(true); ierr == nil {
			a.closeIndexFiles()
		}
	}
	a.imu.Unlock()
	if ierr != nil {
		return fmt.Errorf("roll: %w", ierr)
	}
	s, err := createSegment(l.fs, l.mu.opts.Files, l.dir, l.mu.next, l.mu.opts.Now())
	if err != nil {
		return fmt.Errorf("roll: %w", err)
	}
	if err := l.syncRollDir(); err != nil {
		s.remove()
		return fmt.Errorf("roll: sync log dir: %w", err)
	}
	l.mu.segs = append(l.mu.segs, s)
	l.mu.dur, l.mu.durPos = l.mu.next, 0
	l.mu.hw, l.mu.hwPos = l.mu.next, 0
	l.mu.pendingAppends = 0
	if !always {
		done := make(chan struct{})
		l.mu.rollSync = done
		go l.syncRolled(a, done)
	}
	l.noteLoaded(a)
	return nil
}

// waitRollSyncLocked waits for the background fsync of the last rolled
// segment. mu must be held (the fsync goroutine never takes it).
func (l *Log) waitRollSyncLocked() {
	if l.mu.rollSync != nil {
		<-l.mu.rollSync
		l.mu.rollSync = nil
	}
}

// syncRolled fsyncs a segment that was just rolled, then writes and fsyncs
// its indexes (which must never point at non-durable data). After a failed
// fsync the segment is rewritten from the page cache and fsynced again.
func (l *Log) syncRolled(s *segment, done chan struct{}) {
	defer close(done)
	start := time.Now()
	err := s.f.Sync()
	l.metrics.fsync.Observe(time.Since(start).Seconds())
	if err != nil {
		l.metrics.fsyncErrors.Inc()
		l.logger().Error("fsync of rolled segment failed; rewriting it from the page cache", "segment", s.logPath, "err", err)
		if err = rewriteRange(s.f, 0, s.size); err == nil {
			err = s.f.Sync()
		}
		if err != nil {
			l.logger().Error("rolled segment is not durable; a power cut may lose it", "segment", s.logPath, "err", err)
			return
		}
	}
	s.synced.Store(true)
	s.closeWriteback()
	s.imu.Lock()
	defer s.imu.Unlock()
	if err := s.flushIndex(true); err != nil {
		l.logger().Warn("index write failed; it will be rebuilt", "segment", s.idxPath, "err", err)
	}
	s.closeIndexFiles()
}

// rewriteRange reads [from, to) of f and writes it back, re-dirtying pages
// that a failed fsync may have marked clean.
func rewriteRange(f interface {
	ReadAt([]byte, int64) (int, error)
	WriteAt([]byte, int64) (int, error)
}, from, to int64) error {
	buf := make([]byte, min(scanChunk, max(to-from, 0)))
	for pos := from; pos < to; {
		n := min(int64(len(buf)), to-pos)
		if _, err := f.ReadAt(buf[:n], pos); err != nil {
			return err
		}
		if _, err := f.WriteAt(buf[:n], pos); err != nil {
			return err
		}
		pos += n
	}
	return nil
}

// syncActiveLocked fsyncs the active segment while holding mu (roll and
// repair paths, which are rare). A failure marks the tail lost.
func (l *Log) syncActiveLocked() error {
	if err := l.writeHeldLocked(); err != nil {
		return err
	}
	a := l.activeLocked()
	start := l.mu.opts.Now()
	err := a.f.Sync()
	l.metrics.fsync.Observe(l.mu.opts.Now().Sub(start).Seconds())
	if err == nil && l.committer.journalFailed() {
		err = errJournalFailed
	}
	if err != nil {
		return l.failSyncLocked(fmt.Errorf("fsync %s: %w", a.logPath, err))
	}
	if l.mu.next > l.mu.dur {
		l.mu.dur, l.mu.durPos = l.mu.next, a.size
		l.mu.hw, l.mu.hwPos = l.mu.next, a.size
	}
	return nil
}

// repairLocked cuts the active segment back to its durable end after a
// failed fsync (the kernel may have dropped those pages) or to its known
// size after a failed write, and fsyncs the result.
func (l *Log) repairLocked() error {
	l.dropHeldLocked() // past the durable end: a failed write or flush made held bytes lost
	a := l.activeLocked()
	cut := a.size
	why := "write failed"
	if l.mu.syncErr != nil {
		cut = l.mu.durPos
		why = "fsync failed: " + l.mu.syncErr.Error()
		if l.mu.opts.Sync != SyncAlways {
			// The tail was already visible to consumers: instead of dropping
			// it, write it again from the page cache so the next fsync
			// covers it, keeping only what still passes its CRCs.
			cut = l.rewriteTailLocked(a)
		}
	}
	l.waitFill(a)
	if err := a.f.Truncate(cut); err != nil {
		l.mu.writeBroken = true
		return fmt.Errorf("repair %s: truncate: %w", a.logPath, err)
	}
	a.alloc, a.zeroed = 0, false
	if err := a.f.Sync(); err != nil {
		// A failed volume sync leaves its error pending on every dirty
		// file's descriptor too (Linux errseq), so the first fsync after
		// one may report that old error: retry once.
		if l.mu.syncErr == nil || a.f.Sync() != nil {
			return fmt.Errorf("repair %s: fsync: %w", a.logPath, err)
		}
	}
	if lost := a.size - cut; lost > 0 {
		l.logger().Warn("dropped unsynced tail", "segment", a.logPath, "bytes", lost, "from_offset", l.mu.dur, "reason", why)
		l.metrics.truncated.Add(float64(lost))
	}
	a.size = cut
	a.imu.Lock()
	idx := append([]byte(nil), a.idx...)
	tidx := append([]byte(nil), a.tidx...)
	err := l.recoverTail(a, idx, tidx, why, false, false)
	a.imu.Unlock()
	if err != nil {
		return err
	}
	l.mu.syncErr, l.mu.writeBroken = nil, false
	l.mu.next = a.next
	l.written.Store(l.mu.next)
	l.mu.start = min(l.mu.start, l.mu.next) // DeleteRecordsBefore may have moved it past the cut
	l.mu.pendingAppends = 0
	l.mu.dur, l.mu.durPos = l.mu.next, a.size
	if l.mu.hw > l.mu.next || l.mu.opts.Sync != SyncAlways {
		l.mu.hw, l.mu.hwPos = l.mu.next, a.size
	}
	return nil
}

// rewriteTailLocked rewrites the bytes of the active segment after the
// durable end, re-dirtying pages a failed fsync marked clean, and returns
// the end of the prefix that still holds valid batches.
func (l *Log) rewriteTailLocked(a *segment) int64 {
	end, _, _ := scanBatches(a.f, l.mu.durPos, a.size, l.mu.dur, nil, nil)
	if err := rewriteRange(a.f, l.mu.durPos, end); err != nil {
		return l.mu.durPos
	}
	return end
}

// syncRollDir makes a rolled segment's directory entry durable (skipped
// only under the powerloss_skipfsync build tag, see skipfsync.go).
func (l *Log) syncRollDir() error {
	if skipRollDirSync {
		return nil
	}
	return l.fs.SyncDir(l.dir)
}
