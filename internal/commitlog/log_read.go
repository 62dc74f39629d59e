package commitlog

import (
	"fmt"
	"slices"

	"github.com/eddy-streaming/eddy/internal/record"
)

// Read returns whole batches starting with the one containing offset, up
// to the high watermark and maxBytes, but always at least one whole batch
// (Kafka's rule, so a consumer never gets stuck behind a big batch). Only
// one segment is read per call. It returns (nil, nil) at the high
// watermark and ErrOffsetOutOfRange below LogStartOffset or above it.
func (l *Log) Read(offset int64, maxBytes int) ([]byte, error) {
	b, err := l.ReadInto(nil, offset, maxBytes)
	if len(b) == 0 {
		return nil, err
	}
	return b, err
}

// ReadInto is Read appending to dst; with enough capacity in dst it does
// not allocate.
func (l *Log) ReadInto(dst []byte, offset int64, maxBytes int) ([]byte, error) {
	l.mu.RLock()
	s, pos, limit, err := l.locateLocked(dst, offset)
	if err != nil || s == nil {
		l.mu.RUnlock()
		return dst, err
	}
	// Copy the bytes without the log lock, so a slow (cold) read does not
	// hold up appends; the segment's io lock keeps its file open.
	s.io.RLock()
	l.mu.RUnlock()
	defer s.io.RUnlock()
	return l.readFrom(dst, s, pos, limit, maxBytes)
}

// locateLocked finds the segment and position of the batch holding offset
// and the readable limit there; s is nil at the high watermark. mu must be
// read-locked. dst's spare capacity is used as scratch.
func (l *Log) locateLocked(dst []byte, offset int64) (s *segment, pos, limit int64, err error) {
	if l.mu.closed {
		return nil, 0, 0, ErrClosed
	}
	if offset < l.mu.start || offset > l.mu.hw {
		return nil, 0, 0, fmt.Errorf("%w: offset %d, log start %d, high watermark %d", ErrOffsetOutOfRange, offset, l.mu.start, l.mu.hw)
	}
	if offset == l.mu.hw {
		return nil, 0, 0, nil
	}
	orig := len(dst)
	dst = slices.Grow(dst, record.BatchHeaderSize)
	scratch := dst[orig : orig+record.BatchHeaderSize]
	for i := l.segmentForLocked(offset); i < len(l.mu.segs); i++ {
		s, limit := l.mu.segs[i], l.limitOfLocked(i)
		if err := l.ensureLoaded(s); err != nil {
			return nil, 0, 0, err
		}
		pos, err := s.findPos(scratch, offset, limit)
		if err != nil {
			return nil, 0, 0, err
		}
		if pos < limit {
			return s, pos, limit, nil
		}
	}
	return nil, 0, 0, nil
}

// readFrom appends whole batches from s between pos and limit.
func (l *Log) readFrom(dst []byte, s *segment, pos, limit int64, maxBytes int) ([]byte, error) {
	orig := len(dst)
	want := min(int64(max(maxBytes, record.BatchHeaderSize)), limit-pos)
	dst = slices.Grow(dst, int(want))
	buf := dst[orig : orig+int(want)]
	if _, err := s.f.ReadAt(buf, pos); err != nil {
		return dst[:orig], fmt.Errorf("read %s at %d: %w", s.logPath, pos, err)
	}
	// Keep whole batches only.
	keep := 0
	for keep+record.BatchHeaderSize <= len(buf) {
		h, _ := record.ParseBatchHeader(buf[keep:])
		size := h.Size()
		if h.BatchLength <= 0 {
			return dst[:orig], &CorruptionError{Segment: s.logPath, Offset: pos + int64(keep), Reason: "non-positive batch length"}
		}
		if keep+size > len(buf) {
			if keep == 0 {
				// The first batch alone exceeds maxBytes: return it whole.
				if pos+int64(size) > limit {
					return dst[:orig], &CorruptionError{Segment: s.logPath, Offset: pos, Reason: "batch runs past the segment end"}
				}
				dst = slices.Grow(dst[:orig], size)
				whole := dst[orig : orig+size]
				if _, err := s.f.ReadAt(whole, pos); err != nil {
					return dst[:orig], fmt.Errorf("read %s at %d: %w", s.logPath, pos, err)
				}
				return dst[:orig+size], nil
			}
			break
		}
		keep += size
	}
	if keep == 0 {
		return dst[:orig], &CorruptionError{Segment: s.logPath, Offset: pos, Reason: "no whole batch before the segment end"}
	}
	return dst[:orig+keep], nil
}

// ScanBatches calls fn for every stored batch from the one containing
// offset from up to the high watermark. batch is only valid during the call;
// an error from fn stops the scan and is returned. Producer-state and index
// rebuilds use it. fn must not call methods of l that write.
func (l *Log) ScanBatches(from int64, fn func(h record.BatchHeader, batch []byte) error) error {
	var buf []byte
	for {
		var err error
		buf, err = l.ReadInto(buf[:0], from, 1<<20)
		if err != nil {
			return err
		}
		if len(buf) == 0 {
			return nil
		}
		for pos := 0; pos < len(buf); {
			h, err := record.ParseBatchHeader(buf[pos:])
			if err != nil {
				return err
			}
			b := buf[pos : pos+h.Size()]
			if err := fn(h, b); err != nil {
				return err
			}
			from = h.LastOffset() + 1
			pos += h.Size()
		}
	}
}

// OffsetForTime returns the offset of the first record below the high
// watermark whose timestamp is >= ts (TimeLookup without the timestamp).
// When there is none it returns (-1, ErrNotFound), which Kafka's
// ListOffsets reports as offset -1.
func (l *Log) OffsetForTime(ts int64) (int64, error) {
	off, _, err := l.TimeLookup(ts)
	if err != nil {
		return -1, err
	}
	return off, nil
}

// firstBatchAtOrAfterLocked finds the first batch of segment i below its
// readable limit whose max timestamp is >= ts, starting from the time index;
// pos is -1 when there is none. mu must be read-locked.
func (l *Log) firstBatchAtOrAfterLocked(i int, ts int64) (record.BatchHeader, int64, error) {
	s := l.mu.segs[i]
	if err := l.ensureLoaded(s); err != nil {
		return record.BatchHeader{}, -1, err
	}
	limit := l.limitOfLocked(i)
	s.imu.Lock()
	rel, ok := tidxLookup(s.tidx, ts)
	pos := int64(0)
	if ok {
		pos = idxLookup(s.idx, rel)
	}
	s.imu.Unlock()
	var scratch [record.BatchHeaderSize]byte
	for pos+record.BatchHeaderSize <= limit {
		h, err := s.readHeader(scratch[:], pos)
		if err != nil {
			return h, -1, err
		}
		if h.BatchLength <= 0 {
			return h, -1, &CorruptionError{Segment: s.logPath, Offset: pos, Reason: "non-positive batch length"}
		}
		if h.MaxTimestamp >= ts {
			return h, pos, nil
		}
		pos += int64(h.Size())
	}
	return record.BatchHeader{}, -1, nil
}

// MaxTimestamp returns the greatest batch max timestamp below the high
// watermark and the base offset of the first batch that holds it
// (ListOffsets timestamp -3), or (-1, -1) for an empty log.
func (l *Log) MaxTimestamp() (ts, offset int64) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return -1, -1
	}
	bestTs, bestOff := int64(-1), int64(-1)
	for i, s := range l.mu.segs {
		if s.maxTsOf == -1 || s.maxTs <= bestTs {
			continue
		}
		if s.maxTsOf >= 0 && s.maxTsOf < l.mu.hw {
			bestTs, bestOff = s.maxTs, s.maxTsOf
			continue
		}
		// The batch holding the max is not known (reopened segment) or not
		// yet below the high watermark: look it up, or take the greatest
		// readable one.
		h, pos, err := l.firstBatchAtOrAfterLocked(i, s.maxTs)
		if err == nil && pos >= 0 {
			bestTs, bestOff = h.MaxTimestamp, h.BaseOffset
			continue
		}
		var scratch [record.BatchHeaderSize]byte
		for pos := int64(0); pos+record.BatchHeaderSize <= l.limitOfLocked(i); {
			h, err := s.readHeader(scratch[:], pos)
			if err != nil || h.BatchLength <= 0 {
				break
			}
			if h.MaxTimestamp > bestTs {
				bestTs, bestOff = h.MaxTimestamp, h.BaseOffset
			}
			pos += int64(h.Size())
		}
	}
	return bestTs, bestOff
}

// ensureLoaded loads a closed segment's indexes on first use, rebuilding
// them from the log when damaged, and keeps at most maxLoadedIndex closed
// segments' indexes in memory so the heap does not grow with data stored.
func (l *Log) ensureLoaded(s *segment) error {
	s.imu.Lock()
	s.lastUse = l.useClock.Add(1)
	if s.loaded {
		s.imu.Unlock()
		return nil
	}
	idx, ok1 := readIndexFile(l.fs, s.idxPath, idxMagic, idxEntrySize)
	tidx, ok2 := readIndexFile(l.fs, s.tidxPath, tidxMagic, tidxEntrySize)
	if ok1 && ok2 && validIdxPrefix(idx, s.size) == len(idx) && validTidxPrefix(tidx, s.next-s.base) == len(tidx) && (len(idx) > 0 || s.size == 0) {
		s.idx, s.tidx, s.idxDone, s.tidxDone = idx, tidx, len(idx), len(tidx)
		s.loaded = true
		s.imu.Unlock()
	} else {
		s.imu.Unlock()
		l.logger().Warn("rebuilding damaged index of closed segment", "segment", s.idxPath)
		if err := l.rebuildClosedIndex(s); err != nil {
			return err
		}
	}
	l.noteLoaded(s)
	return nil
}

// noteLoaded records that a closed segment's index is in memory and evicts
// the least recently used beyond maxLoadedIndex.
func (l *Log) noteLoaded(s *segment) {
	l.loaded.Lock()
	defer l.loaded.Unlock()
	if !slices.Contains(l.loaded.segs, s) {
		l.loaded.segs = append(l.loaded.segs, s)
	}
	for len(l.loaded.segs) > maxLoadedIndex {
		lru := 0
		for i, c := range l.loaded.segs {
			c.imu.Lock()
			u := c.lastUse
			c.imu.Unlock()
			l.loaded.segs[lru].imu.Lock()
			lu := l.loaded.segs[lru].lastUse
			l.loaded.segs[lru].imu.Unlock()
			if u < lu {
				lru = i
			}
		}
		v := l.loaded.segs[lru]
		v.imu.Lock()
		v.idx, v.tidx, v.loaded = nil, nil, false
		v.idxDone, v.tidxDone = 0, 0
		v.imu.Unlock()
		l.loaded.segs = slices.Delete(l.loaded.segs, lru, lru+1)
	}
}
