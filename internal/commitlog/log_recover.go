package commitlog

import (
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"

	"github.com/eddy-streaming/eddy/internal/record"
)

// scanChunk is the read size of the recovery scanner.
const scanChunk = 1 << 20

// scanBatches reads batches from r between pos and end, checking each with
// record.CheckBatch and that its base offset is expectBase (then the previous
// batch's last offset + 1). fn, if not nil, sees each valid batch. It stops
// at the first invalid or incomplete batch and returns the end of the valid
// prefix, the next offset, and why it stopped (nil when it reached end
// exactly). buf is scratch space and may be nil.
func scanBatches(r io.ReaderAt, pos, end, expectBase int64, buf []byte, fn func(h *record.BatchHeader, pos int64)) (validEnd, next int64, reason error) {
	next = expectBase
	// No bigger than the range: recovery scans the tails of thousands of
	// logs at start-up, most of them a few KiB long.
	if want := min(scanChunk, max(end-pos, record.BatchHeaderSize)); int64(cap(buf)) < want {
		buf = make([]byte, 0, want)
	}
	var bufPos int64 // file position of buf[0]
	buf = buf[:0]
	for pos < end {
		if end-pos < record.BatchHeaderSize {
			return pos, next, fmt.Errorf("%d trailing bytes are shorter than a batch header", end-pos)
		}
		// Make sure the header is in buf.
		if pos < bufPos || pos+record.BatchHeaderSize > bufPos+int64(len(buf)) {
			n := min(int64(cap(buf)), end-pos)
			buf = buf[:n]
			if _, err := r.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
				return pos, next, fmt.Errorf("read at %d: %w", pos, err)
			}
			bufPos = pos
		}
		h, _ := record.ParseBatchHeader(buf[pos-bufPos:])
		size := int64(h.BatchLength) + record.BatchLengthOverhead
		if h.BatchLength < record.BatchHeaderSize-record.BatchLengthOverhead || pos+size > end {
			return pos, next, fmt.Errorf("batch length %d at %d does not fit in the %d bytes left", h.BatchLength, pos, end-pos)
		}
		if pos+size > bufPos+int64(len(buf)) {
			if int64(cap(buf)) < size {
				buf = make([]byte, 0, size)
			}
			buf = buf[:min(int64(cap(buf)), end-pos)]
			if _, err := r.ReadAt(buf, pos); err != nil && !errors.Is(err, io.EOF) {
				return pos, next, fmt.Errorf("read at %d: %w", pos, err)
			}
			bufPos = pos
		}
		b := buf[pos-bufPos : pos-bufPos+size]
		if _, err := record.CheckBatch(b); err != nil {
			return pos, next, err
		}
		if h.BaseOffset != next {
			return pos, next, fmt.Errorf("batch at %d has base offset %d, want %d", pos, h.BaseOffset, next)
		}
		if fn != nil {
			fn(&h, pos)
		}
		next = h.LastOffset() + 1
		pos += size
	}
	return pos, next, nil
}

// allZeros reports whether r holds only zero bytes in [from, to).
func allZeros(r io.ReaderAt, from, to int64) bool {
	buf := make([]byte, min(scanChunk, to-from))
	for pos := from; pos < to; {
		n := min(int64(len(buf)), to-pos)
		if _, err := r.ReadAt(buf[:n], pos); err != nil && !errors.Is(err, io.EOF) {
			return false
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		pos += n
	}
	return true
}

// recover loads the directory: closed segments are trusted (they were
// fsynced at roll), the active one is trusted after a clean stop and
// tail-scanned otherwise.
func (l *Log) recover() error {
	names, err := l.fs.ReadDir(l.dir)
	if err != nil {
		return fmt.Errorf("list: %w", err)
	}
	var bases []int64
	for _, n := range names {
		if base, ok := parseSegmentName(n); ok {
			bases = append(bases, base)
		} else if strings.HasSuffix(n, ".tmp") {
			l.fs.Remove(filepath.Join(l.dir, n))
		}
	}
	slices.Sort(bases)
	marker, valid, present := readCleanMarker(l.fs, l.dir)
	now := l.mu.opts.Now()
	deferTail := false
	if len(bases) == 0 {
		deferSync := l.mu.opts.DeferCreateSync
		s, err := createSegmentSync(l.fs, l.mu.opts.Files, l.dir, 0, now, !deferSync)
		if err != nil {
			return err
		}
		l.mu.segs = []*segment{s}
		if deferSync {
			l.createSync.Or(createSyncDir)
			return nil
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("sync log dir: %w", err)
		}
		return nil
	}
	for _, base := range bases {
		s, err := openSegmentFile(l.fs, l.mu.opts.Files, l.dir, base)
		if err != nil {
			return err
		}
		l.mu.segs = append(l.mu.segs, s)
	}
	a := l.activeLocked()
	clean := valid && marker.activeBase == a.base && marker.activeSize == a.size
	if present && !clean {
		l.logger().Warn("ignoring clean-shutdown marker that does not match the files", "valid", valid)
	}
	// Closed segments are durable, except that after a crash under
	// interval/never the last closed one may still have been in its
	// background fsync: it is recovered like the active one below.
	trusted := len(l.mu.segs) - 1
	if !clean && trusted > 0 {
		trusted--
	}
	for i := 0; i < trusted; i++ {
		s := l.mu.segs[i]
		s.next = l.mu.segs[i+1].base
		if ts, _, ok := readLastTimeEntry(l.fs, s.tidxPath); ok {
			s.maxTs, s.maxTsOf = ts, -2
			if ts < 0 {
				s.maxTsOf = -1
			}
		} else {
			l.logger().Warn("rebuilding index of closed segment", "segment", s.logPath, "reason", "missing or damaged .timeindex")
			if err := l.rebuildClosedIndex(s); err != nil {
				return err
			}
			l.noteLoaded(s)
		}
	}
	if clean && l.loadCleanActive(a, marker.next) {
		l.logger().Debug("opened after clean shutdown", "next", a.next)
		// Still true: it goes before the first write (readCleanMarker).
		l.mu.markerPending = true
	} else {
		if present {
			if err := removeCleanMarker(l.fs, l.dir); err != nil {
				return err
			}
		}
		if trusted == len(l.mu.segs)-2 {
			if err := l.recoverLastClosed(); err != nil {
				return err
			}
			a = l.activeLocked()
		}
		if !a.loaded {
			idx, _ := readIndexFile(l.fs, a.idxPath, idxMagic, idxEntrySize)
			tidx, _ := readIndexFile(l.fs, a.tidxPath, tidxMagic, tidxEntrySize)
			deferTail = l.mu.opts.DeferRecoverySync && l.mu.opts.Sync == SyncAlways
			if err := l.recoverTail(a, idx, tidx, "unclean shutdown", deferTail, true); err != nil {
				return err
			}
		}
	}
	a.created = now
	l.mu.next = a.next
	l.written.Store(l.mu.next)
	l.mu.start = l.mu.segs[0].base
	l.applyStartFileLocked()
	l.mu.hw, l.mu.dur = l.mu.next, l.mu.next
	l.mu.hwPos, l.mu.durPos = a.size, a.size
	if deferTail {
		// Nothing of the active segment is known durable until
		// FinishRecovery's commit round: readers see none of it, and the
		// round makes all of it durable and visible (endSync).
		l.mu.hw, l.mu.dur = a.base, a.base
		l.mu.hwPos, l.mu.durPos = 0, 0
	}
	return nil
}

// FinishRecovery makes the tail that Open recovered under
// Options.DeferRecoverySync durable and readable, and rewrites its
// indexes. Logs calling it at the same time share one commit round (one
// volume sync where the filesystem offers it); a caller opening many logs
// calls QueueSync(LogEndOffset()) on each first, so that the first round
// covers them all. It does nothing for a log with nothing to sync.
func (l *Log) FinishRecovery() error {
	next := l.LogEndOffset()
	l.QueueSync(next)
	if err := l.WaitDurable(next); err != nil {
		return fmt.Errorf("finish recovery of %s: %w", l.dir, err)
	}
	return nil
}

// recoverLastClosed checks the tail of the last closed segment after a
// crash (its background fsync may not have finished). If it lost batches,
// the segments after it cannot follow it and are removed, making it active
// again.
func (l *Log) recoverLastClosed() error {
	n := len(l.mu.segs)
	p, last := l.mu.segs[n-2], l.mu.segs[n-1]
	idx, _ := readIndexFile(l.fs, p.idxPath, idxMagic, idxEntrySize)
	tidx, _ := readIndexFile(l.fs, p.tidxPath, tidxMagic, tidxEntrySize)
	if err := l.recoverTail(p, idx, tidx, "unclean shutdown during the background fsync of a rolled segment", false, false); err != nil {
		return err
	}
	if p.next == last.base {
		p.imu.Lock()
		p.sealTimeIndex()
		err := p.flushIndex(true)
		p.closeIndexFiles()
		p.imu.Unlock()
		if err != nil {
			l.logger().Warn("index rewrite failed", "segment", p.idxPath, "err", err)
		}
		l.noteLoaded(p)
		return nil
	}
	l.logger().Warn("removing segment that no longer follows the recovered one", "segment", last.logPath,
		"bytes", last.size, "expected_base", p.next)
	l.metrics.truncated.Add(float64(last.size))
	if err := last.remove(); err != nil {
		return fmt.Errorf("remove %s: %w", last.logPath, err)
	}
	l.mu.segs = l.mu.segs[:n-1]
	if err := l.fs.SyncDir(l.dir); err != nil {
		return fmt.Errorf("sync log dir: %w", err)
	}
	return nil
}

// loadCleanActive trusts the active segment after a clean stop, loading its
// indexes; false means they are unusable and the tail must be scanned.
func (l *Log) loadCleanActive(a *segment, next int64) bool {
	idx, ok1 := readIndexFile(l.fs, a.idxPath, idxMagic, idxEntrySize)
	tidx, ok2 := readIndexFile(l.fs, a.tidxPath, tidxMagic, tidxEntrySize)
	if !ok1 || !ok2 || validIdxPrefix(idx, a.size) != len(idx) || validTidxPrefix(tidx, next-a.base) != len(tidx) ||
		(a.size > 0 && len(idx) == 0) || next < a.base {
		l.logger().Warn("index of active segment damaged after clean shutdown; scanning", "segment", a.logPath)
		return false
	}
	a.idx, a.tidx = idx, tidx
	a.idxDone, a.tidxDone = len(idx), len(tidx)
	a.loaded = true
	a.next = next
	if len(idx) > 0 {
		_, pos := idxEntry(idx, len(idx)/idxEntrySize-1)
		a.sinceIdx = int(a.size - int64(pos))
	}
	if ts := a.lastTidxTs(); ts >= 0 {
		a.maxTs, a.maxTsOf = ts, -2
	}
	return true
}

// recoverTail validates the tail of the active segment s, whose size field
// is the byte count to consider, against the given index contents:
// it keeps index entries up to the last one that points at a good batch,
// rescans from there, truncates the file after the last good batch and
// rewrites the index files. With deferSync it leaves the fsync and the
// index writes to the caller's commit round (FinishRecovery).
//
// onDisk says that idx and tidx are what the index files hold (nil for a
// file missing or damaged). When the files hold exactly the entries kept,
// as after a kill -9 (index entries are written only for fsynced bytes,
// and the page cache survives), they are not rewritten: the entries of
// the rescanned tail are appended by a later flush, as in normal running,
// and recovery scans after the last entry on disk anyway. Rewriting both
// files of every log (open, truncate, write, close) was most of a restart
// after kill -9 with 10,000 partitions.
func (l *Log) recoverTail(s *segment, idx, tidx []byte, why string, deferSync, onDisk bool) error {
	onDisk = onDisk && idx != nil && tidx != nil
	diskIdx, diskTidx := len(idx), len(tidx)
	idx = idx[:validIdxPrefix(idx, s.size)]
	// Choose the last index point k covered by both indexes, whose batch
	// verifies; everything up to k is trusted.
	lastRel := func(b []byte, entry int) (uint32, bool) {
		if len(b) < entry {
			return 0, false
		}
		r := b[len(b)-entry:]
		if entry == idxEntrySize {
			rel, _ := idxEntry(r, 0)
			return rel, true
		}
		_, rel := tidxEntry(r, 0)
		return rel, true
	}
	var buf []byte
	startPos, startNext := int64(0), s.base
	s.idx, s.tidx = s.idx[:0], s.tidx[:0]
	s.maxTs, s.maxTsOf, s.lastBase = -1, -1, -1
	for len(idx) > 0 {
		relK, _ := lastRel(idx, idxEntrySize)
		tidx = tidx[:validTidxPrefix(tidx, int64(relK)+1)]
		if relT, ok := lastRel(tidx, tidxEntrySize); ok && relT < relK {
			relK = relT
		} else if !ok {
			idx = idx[:0]
			break
		}
		pos := idxLookup(idx, relK)
		if buf == nil {
			buf = make([]byte, 0, min(scanChunk, max(s.size, record.BatchHeaderSize)))
		}
		end, next, _ := scanBatches(s.f, pos, min(s.size, pos+int64(maxBatchProbe(s, pos))), s.base+int64(relK), buf, nil)
		if end > pos {
			// Keep entries up to k; the scan restarts after batch k.
			n := sortSearchIdx(idx, relK)
			idx = idx[:n]
			tidx = tidx[:validTidxPrefix(tidx, int64(relK)+1)]
			s.idx = append(s.idx, idx...)
			s.tidx = append(s.tidx, tidx...)
			s.maxTs = s.lastTidxTs()
			if s.maxTs >= 0 {
				s.maxTsOf = -2
			}
			s.lastBase = s.base + int64(relK)
			s.sinceIdx = int(end - pos)
			startPos, startNext = end, next
			break
		}
		// Drop the failed point and retry with the one before it.
		idx = idx[:max(0, sortSearchIdx(idx, relK)-idxEntrySize)]
	}
	if startPos == 0 {
		s.idx, s.tidx = s.idx[:0], s.tidx[:0]
		s.sinceIdx = 0
	}
	keepFiles := onDisk && len(s.idx) == diskIdx && len(s.tidx) == diskTidx
	keptIdx, keptTidx := len(s.idx), len(s.tidx)
	validEnd, next, reason := scanBatches(s.f, startPos, s.size, startNext, buf, func(h *record.BatchHeader, pos int64) {
		s.trackBatch(h, pos, l.mu.opts.IndexIntervalBytes)
	})
	s.next = next
	st, err := s.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", s.logPath, err)
	}
	if fileSize := st.Size(); fileSize > validEnd && allZeros(s.f, validEnd, fileSize) {
		// Space zero-filled ahead of appends (zerofill.go): nothing lost.
		l.logger().Info("dropping zero-filled space after the last batch", "segment", s.logPath, "at", validEnd, "bytes", fileSize-validEnd)
		if err := s.f.Truncate(validEnd); err != nil {
			return fmt.Errorf("truncate %s: %w", s.logPath, err)
		}
	} else if fileSize > validEnd {
		cerr := &CorruptionError{Segment: s.logPath, Offset: validEnd, Reason: why, Err: reason}
		l.logger().Warn("truncating log tail", "segment", s.logPath, "at", validEnd, "bytes", fileSize-validEnd,
			"next_offset", next, "scanned_from", startPos, "reason", cerr)
		l.metrics.truncated.Add(float64(fileSize - validEnd))
		if err := s.f.Truncate(validEnd); err != nil {
			return fmt.Errorf("truncate %s: %w", s.logPath, err)
		}
	}
	// Info, not Warn: after a crash every partition's log reports this
	// (10,000 lines for 10,000 partitions); a truncation warns above.
	l.logger().Info("recovered log tail", "segment", s.logPath, "reason", why,
		"scanned_from", startPos, "scanned_bytes", validEnd-startPos, "next_offset", next)
	s.size = validEnd
	s.loaded = true
	if keepFiles {
		s.idxBad = false
		s.idxDone, s.tidxDone = keptIdx, keptTidx
	} else {
		s.idxBad = true // rewrite both index files whole
	}
	if deferSync {
		// The caller's commit round fsyncs the tail, and only then does
		// endSync write index entries pointing into it.
		return nil
	}
	// What survived may exist only in the page cache (a killed process):
	// make it durable before the index files vouch for it.
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", s.logPath, err)
	}
	if err := s.flushIndex(false); err != nil {
		l.logger().Warn("index rewrite failed; it will be retried", "segment", s.idxPath, "err", err)
	}
	return nil
}

// maxBatchProbe bounds the read that verifies the batch at an index point.
func maxBatchProbe(s *segment, pos int64) int64 {
	var hb [record.BatchHeaderSize]byte
	if _, err := s.f.ReadAt(hb[:], pos); err != nil {
		return 0
	}
	h, _ := record.ParseBatchHeader(hb[:])
	if h.BatchLength < 0 {
		return 0
	}
	return int64(h.BatchLength) + record.BatchLengthOverhead
}

// sortSearchIdx returns the byte length of the entries with rel <= relK.
func sortSearchIdx(idx []byte, relK uint32) int {
	n := len(idx) / idxEntrySize
	i := 0
	for i < n {
		r, _ := idxEntry(idx, i)
		if r > relK {
			break
		}
		i++
	}
	return i * idxEntrySize
}

// rebuildClosedIndex rebuilds both indexes of a closed segment from its
// batches. A closed segment was fsynced at roll, so damage inside it is
// reported, not truncated.
func (l *Log) rebuildClosedIndex(s *segment) error {
	s.imu.Lock()
	defer s.imu.Unlock()
	s.idx, s.tidx, s.sinceIdx = nil, nil, 0
	s.maxTs, s.maxTsOf = -1, -1
	end, _, reason := scanBatches(s.f, 0, s.size, s.base, nil, func(h *record.BatchHeader, pos int64) {
		s.trackBatch(h, pos, l.mu.opts.IndexIntervalBytes)
	})
	if end != s.size {
		return &CorruptionError{Segment: s.logPath, Offset: end, Reason: "closed segment has invalid batches", Err: reason}
	}
	s.sealTimeIndex()
	s.loaded = true
	s.idxBad = true
	if err := s.flushIndex(true); err != nil {
		l.logger().Warn("index rewrite failed", "segment", s.idxPath, "err", err)
	}
	s.closeIndexFiles()
	return nil
}
