package commitlog

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/record"
)

// Check verifies every stored batch (CRC, header rules, dense offsets
// across segments) and that each loaded index entry points at the start of
// the batch with its offset. It reads the whole log, so it is for tests, not
// the hot path (`eddy log check` verifies the files of closed logs with
// Verify). The first problem found is returned as a *CorruptionError.
func (l *Log) Check() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return ErrClosed
	}
	if err := l.writeHeldLocked(); err != nil {
		return err
	}
	var buf []byte
	if l.mu.start < l.mu.segs[0].base || l.mu.start > l.mu.next {
		return &CorruptionError{Segment: l.mu.segs[0].logPath, Reason: fmt.Sprintf("log start offset %d outside the segments' [%d, %d]", l.mu.start, l.mu.segs[0].base, l.mu.next)}
	}
	expect := l.mu.segs[0].base
	for i, s := range l.mu.segs {
		if s.base != expect {
			return &CorruptionError{Segment: s.logPath, Reason: fmt.Sprintf("segment base %d, previous segment ends at %d", s.base, expect)}
		}
		starts := map[int64]int64{}
		end, next, reason := scanBatches(s.f, 0, s.size, s.base, buf, func(h *record.BatchHeader, pos int64) {
			starts[pos] = h.BaseOffset
		})
		if end != s.size {
			return &CorruptionError{Segment: s.logPath, Offset: end, Reason: "invalid batch", Err: reason}
		}
		if i < len(l.mu.segs)-1 && next != l.mu.segs[i+1].base {
			return &CorruptionError{Segment: s.logPath, Offset: end, Reason: fmt.Sprintf("segment ends at offset %d, next segment starts at %d", next, l.mu.segs[i+1].base)}
		}
		s.imu.Lock()
		idx := s.idx
		loaded := s.loaded
		s.imu.Unlock()
		if loaded {
			for j := 0; j < len(idx)/idxEntrySize; j++ {
				rel, pos := idxEntry(idx, j)
				if off, ok := starts[int64(pos)]; !ok || off != s.base+int64(rel) {
					return &CorruptionError{Segment: s.idxPath, Offset: int64(idxHeaderSize + j*idxEntrySize), Reason: fmt.Sprintf("entry %d (offset %d at %d) does not point at its batch", j, s.base+int64(rel), pos)}
				}
			}
		}
		expect = next
	}
	if expect != l.mu.next {
		return &CorruptionError{Segment: l.activeLocked().logPath, Offset: l.activeLocked().size, Reason: fmt.Sprintf("batches end at offset %d, log end offset is %d", expect, l.mu.next)}
	}
	return nil
}
