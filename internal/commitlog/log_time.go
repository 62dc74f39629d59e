package commitlog

import (
	"errors"

	"github.com/eddy-streaming/eddy/internal/record"
)

// TimeLookup returns the offset and timestamp of the first record at or
// after the log start offset and below the high watermark whose timestamp
// is >= ts, as Kafka's ListOffsets by time answers: the record's own
// offset and timestamp, inside compressed batches too (records need not
// be in timestamp order within a batch; the first by offset wins). The
// time index and batch headers find the candidate batch, the first whose
// max timestamp is >= ts; only that batch is read and decompressed (and
// the next ones only if its header's max timestamp overstated its
// records). It returns ErrNotFound when no record is that new.
func (l *Log) TimeLookup(ts int64) (offset, timestamp int64, err error) {
	base, err := l.candidateForTime(ts)
	if err != nil {
		return -1, -1, err
	}
	return l.RecordAtOrAfter(base, ts)
}

// candidateForTime is the base offset of the first batch below the high
// watermark whose max timestamp is >= ts.
func (l *Log) candidateForTime(ts int64) (int64, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.mu.closed {
		return -1, ErrClosed
	}
	for i, s := range l.mu.segs {
		if s.maxTs < ts && i < len(l.mu.segs)-1 {
			continue
		}
		h, pos, err := l.firstBatchAtOrAfterLocked(i, ts)
		if err != nil {
			return -1, err
		}
		if pos >= 0 {
			return h.BaseOffset, nil
		}
	}
	return -1, ErrNotFound
}

// RecordAtOrAfter returns the offset and timestamp of the first record at
// or after offset from (and the log start offset), below the high
// watermark, whose timestamp is >= ts, reading one batch at a time from
// the one holding from and decompressing only batches whose max timestamp
// is >= ts. Control batches are skipped. It returns ErrNotFound when no
// such record exists.
func (l *Log) RecordAtOrAfter(from, ts int64) (offset, timestamp int64, err error) {
	var (
		buf []byte
		rd  record.Reader
	)
	defer rd.Release()
	for {
		start := l.LogStartOffset()
		from = max(from, start)
		buf, err = l.ReadInto(buf[:0], from, 1)
		if errors.Is(err, ErrOffsetOutOfRange) && l.LogStartOffset() > start {
			continue // the start moved under the read (DeleteRecords, retention)
		}
		if err != nil {
			return -1, -1, err
		}
		if len(buf) == 0 {
			return -1, -1, ErrNotFound
		}
		h, err := record.ParseBatchHeader(buf)
		if err != nil {
			return -1, -1, err
		}
		if h.MaxTimestamp >= ts && !h.IsControl() && h.LastOffset() >= from {
			if err := rd.ResetHeader(h, buf); err != nil {
				return -1, -1, err
			}
			for rd.Next() {
				r := rd.Record()
				if r.Offset >= from && r.Timestamp >= ts {
					return r.Offset, r.Timestamp, nil
				}
			}
			if err := rd.Err(); err != nil {
				return -1, -1, err
			}
		}
		from = h.LastOffset() + 1
	}
}
