package commitlog

import (
	"encoding/binary"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/record"
)

// Check verifies every stored batch (CRC, header rules, dense offsets
// across segments) and that each loaded index entry points at the start of
// the batch with its offset. It reads the whole log, so it is for tests, not
// the hot path (`eddy log check` verifies the files of closed logs with
// Verify). The first problem found is returned as a *CorruptionError.
func (l *Log) Check() error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return ErrClosed
	}
	var buf []byte
	expect := l.mu.start
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

// firstRecordAtOrAfter returns the offset of the first record of the
// uncompressed batch b whose timestamp is >= ts, or the batch's base offset
// when records cannot be walked (compressed or LogAppendTime batches, where
// the batch timestamp stands for every record).
func firstRecordAtOrAfter(b []byte, h *record.BatchHeader, ts int64) int64 {
	if h.Compression() != 0 || h.Attributes&record.AttrTimestampLogAppend != 0 {
		return h.BaseOffset
	}
	r := b[record.BatchHeaderSize:h.Size()]
	for n := int32(0); n < h.RecordCount; n++ {
		length, k := binary.Varint(r)
		if k <= 0 || length < 0 || int64(len(r)-k) < length {
			break
		}
		rec := r[k : k+int(length)]
		r = r[k+int(length):]
		if len(rec) < 1 {
			break
		}
		tsDelta, k1 := binary.Varint(rec[1:])
		if k1 <= 0 {
			break
		}
		offDelta, k2 := binary.Varint(rec[1+k1:])
		if k2 <= 0 {
			break
		}
		if h.BaseTimestamp+tsDelta >= ts {
			return h.BaseOffset + offDelta
		}
	}
	return h.BaseOffset
}
