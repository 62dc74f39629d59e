package commitlog

import (
	"errors"
	"fmt"
	"path/filepath"
	"slices"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// SegmentInfo describes one segment as Verify found it on disk.
type SegmentInfo struct {
	// Base is the segment's base offset (from its file name).
	Base int64
	// Next is the offset after the last valid batch.
	Next int64
	// Bytes is the file size; ValidBytes the length of its valid prefix.
	Bytes, ValidBytes int64
	// ZeroBytes counts zero bytes after the valid prefix: space an
	// fsync=always log zero-fills ahead of its appends, left behind by a
	// crash in the last segment (Open drops it). In any other segment it is
	// a Problem, since sealing a segment cuts its zeros off.
	ZeroBytes int64
	// Batches and Records count the valid batches and their records.
	Batches int
	Records int64
	// MaxTimestamp is the greatest batch max timestamp, -1 if none.
	MaxTimestamp int64
	// IndexOK and TimeIndexOK report whether the index files exist and
	// every entry points at the batch it names. A bad index is not data
	// loss: Open rebuilds it.
	IndexOK, TimeIndexOK bool
	// Problem is the first invalid byte (a *CorruptionError), or nil.
	Problem error
}

// VerifyReport is the result of Verify.
type VerifyReport struct {
	Dir string
	// Clean reports a valid clean-shutdown marker matching the files.
	Clean    bool
	Segments []SegmentInfo
	// Gaps lists offset discontinuities between consecutive segments.
	Gaps []error
}

// Err returns the first problem found: a discontinuity between segments or
// invalid bytes in any segment, joined; nil for a healthy log. After an
// unclean stop a torn tail of the last segment is expected (Open truncates
// it) and still reported here.
func (r *VerifyReport) Err() error {
	errs := slices.Clone(r.Gaps)
	for _, s := range r.Segments {
		if s.Problem != nil {
			errs = append(errs, s.Problem)
		}
	}
	return errors.Join(errs...)
}

// Verify checks a log directory without modifying it (for `eddy log check`
// on a stopped server): every batch's CRC and header, offset continuity
// within and across segments, the index files, and the clean-shutdown
// marker. The returned error is only for failures to read the directory.
func Verify(fs vfs.FS, dir string) (*VerifyReport, error) {
	names, err := fs.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("verify %s: %w", dir, err)
	}
	r := &VerifyReport{Dir: dir}
	var bases []int64
	for _, n := range names {
		if base, ok := parseSegmentName(n); ok {
			bases = append(bases, base)
		}
	}
	slices.Sort(bases)
	for i, base := range bases {
		info, err := verifySegment(fs, dir, base)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			prev := r.Segments[i-1]
			if prev.Problem == nil && prev.Next != base {
				r.Gaps = append(r.Gaps, &CorruptionError{Segment: filepath.Join(dir, segmentName(base, logSuffix)),
					Reason: fmt.Sprintf("segment starts at offset %d, previous one ends at %d", base, prev.Next)})
			}
		}
		r.Segments = append(r.Segments, info)
	}
	for i := range r.Segments {
		if s := &r.Segments[i]; s.ZeroBytes > 0 && i < len(r.Segments)-1 && s.Problem == nil {
			s.Problem = &CorruptionError{Segment: filepath.Join(dir, segmentName(s.Base, logSuffix)), Offset: s.ValidBytes,
				Reason: fmt.Sprintf("%d zero bytes after the last batch of a sealed segment", s.ZeroBytes)}
		}
	}
	if f, err := fs.Open(filepath.Join(dir, cleanMarkerName)); err == nil {
		b := make([]byte, markerSize+1)
		n, _ := f.ReadAt(b, 0)
		f.Close()
		if m, err := decodeMarker(b[:n]); err == nil && len(r.Segments) > 0 {
			last := r.Segments[len(r.Segments)-1]
			r.Clean = m.activeBase == last.Base && m.activeSize == last.Bytes && m.next == last.Next
		}
	}
	return r, nil
}

func verifySegment(fs vfs.FS, dir string, base int64) (SegmentInfo, error) {
	s := newSegmentPaths(fs, dir, base)
	info := SegmentInfo{Base: base, Next: base, MaxTimestamp: -1}
	f, err := fs.Open(s.logPath)
	if err != nil {
		return info, fmt.Errorf("verify %s: %w", s.logPath, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return info, fmt.Errorf("verify %s: %w", s.logPath, err)
	}
	info.Bytes = st.Size()
	starts := map[int64]int64{}
	end, next, reason := scanBatches(f, 0, info.Bytes, base, nil, func(h *record.BatchHeader, pos int64) {
		starts[pos] = h.BaseOffset
		info.Batches++
		info.Records += int64(h.RecordCount)
		info.MaxTimestamp = max(info.MaxTimestamp, h.MaxTimestamp)
	})
	info.ValidBytes, info.Next = end, next
	if end != info.Bytes && allZeros(f, end, info.Bytes) {
		info.ZeroBytes = info.Bytes - end
	} else if end != info.Bytes {
		info.Problem = &CorruptionError{Segment: s.logPath, Offset: end, Reason: "invalid batch", Err: reason}
	}
	if idx, ok := readIndexFile(fs, s.idxPath, idxMagic, idxEntrySize); ok && validIdxPrefix(idx, end) == len(idx) {
		info.IndexOK = true
		for j := 0; j < len(idx)/idxEntrySize; j++ {
			rel, pos := idxEntry(idx, j)
			if off, ok := starts[int64(pos)]; !ok || off != base+int64(rel) {
				info.IndexOK = false
				break
			}
		}
	}
	if tidx, ok := readIndexFile(fs, s.tidxPath, tidxMagic, tidxEntrySize); ok && validTidxPrefix(tidx, next-base) == len(tidx) {
		info.TimeIndexOK = true
		for j := 0; j < len(tidx)/tidxEntrySize; j++ {
			_, rel := tidxEntry(tidx, j)
			found := false
			for _, off := range starts {
				if off == base+int64(rel) {
					found = true
					break
				}
			}
			if !found {
				info.TimeIndexOK = false
				break
			}
		}
	}
	return info, nil
}
