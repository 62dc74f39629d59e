package commitlog

import (
	"fmt"
	"time"
)

// EnforceRetention rolls the active segment when it is older than
// SegmentAge, then deletes whole segments from the start of the log while
// they are older than RetentionAge (by their newest batch timestamp, or the
// file's modification time when timestamps are missing) or while the log
// would still hold RetentionBytes without them. The active segment is never
// deleted, but an expired non-empty one is rolled first so it can be. The
// broker calls it periodically. LogStartOffset moves to the first remaining
// segment.
func (l *Log) EnforceRetention() (deletedSegments int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return 0, ErrClosed
	}
	now := l.mu.opts.Now()
	a := l.activeLocked()
	if a.size > 0 {
		ageRoll := l.mu.opts.SegmentAge > 0 && now.Sub(a.created) >= l.mu.opts.SegmentAge
		expired := l.mu.opts.RetentionAge >= 0 && l.expiredLocked(a, now)
		if ageRoll || (expired && l.mu.hw == l.mu.next) {
			if err := l.rollLocked(); err != nil {
				return 0, fmt.Errorf("retention: %w", err)
			}
		}
	}
	total := l.sizeLocked()
	n := 0
	for n < len(l.mu.segs)-1 {
		s := l.mu.segs[n]
		bySize := l.mu.opts.RetentionBytes >= 0 && total-s.size >= l.mu.opts.RetentionBytes
		byAge := l.mu.opts.RetentionAge >= 0 && l.expiredLocked(s, now)
		if !bySize && !byAge {
			break
		}
		total -= s.size
		n++
	}
	if n == 0 {
		return 0, nil
	}
	firstErr := l.dropSegmentsLocked(n, "retention")
	if firstErr != nil {
		return n, fmt.Errorf("retention: %w", firstErr)
	}
	return n, nil
}

// expiredLocked reports whether every batch of s is older than RetentionAge.
func (l *Log) expiredLocked(s *segment, now time.Time) bool {
	newest := s.modTime
	if s.maxTs >= 0 {
		newest = time.UnixMilli(s.maxTs)
	}
	return now.Sub(newest) > l.mu.opts.RetentionAge
}
