package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"path/filepath"
	"slices"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// startFileName names the file holding a log start offset moved by
// DeleteRecordsBefore, which may fall inside a segment (retention only
// ever moves the start to a segment's base, which the files show).
const startFileName = "log-start-offset"

// The log-start-offset file (24 bytes, big-endian):
//
//	0  8 magic "EDDYLSO\x00"
//	8  2 version (1)
//	10 2 reserved (0)
//	12 8 log start offset
//	20 4 CRC-32C of bytes 0..19
const (
	startFileSize    = 24
	startFileVersion = 1
)

var startFileMagic = [8]byte{'E', 'D', 'D', 'Y', 'L', 'S', 'O', 0}

func encodeStartFile(off int64) []byte {
	b := make([]byte, startFileSize)
	copy(b, startFileMagic[:])
	binary.BigEndian.PutUint16(b[8:], startFileVersion)
	binary.BigEndian.PutUint64(b[12:], uint64(off))
	binary.BigEndian.PutUint32(b[20:], crc32.Checksum(b[:20], castagnoli))
	return b
}

func decodeStartFile(b []byte) (int64, error) {
	if len(b) != startFileSize {
		return 0, fmt.Errorf("%d bytes, want %d", len(b), startFileSize)
	}
	if [8]byte(b[:8]) != startFileMagic {
		return 0, errors.New("bad magic")
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != startFileVersion {
		return 0, fmt.Errorf("unknown version %d", v)
	}
	if crc32.Checksum(b[:20], castagnoli) != binary.BigEndian.Uint32(b[20:]) {
		return 0, errors.New("CRC mismatch")
	}
	off := int64(binary.BigEndian.Uint64(b[12:]))
	if off < 0 {
		return 0, fmt.Errorf("negative offset %d", off)
	}
	return off, nil
}

// writeStartFile durably records off (writeFileAtomic), so a crash leaves
// the old or the new offset, never a torn one.
func writeStartFile(fs vfs.FS, dir string, off int64) error {
	return writeFileAtomic(fs, dir, startFileName, "log start offset", encodeStartFile(off))
}

// readStartFile returns the recorded log start offset; ok is false when
// there is none (or it is damaged, which is logged by the caller).
func readStartFile(fs vfs.FS, dir string) (off int64, ok bool, err error) {
	f, oerr := fs.Open(filepath.Join(dir, startFileName))
	if oerr != nil {
		return 0, false, nil
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, startFileSize+1))
	if err != nil {
		return 0, false, fmt.Errorf("read log start offset: %w", err)
	}
	off, err = decodeStartFile(b)
	if err != nil {
		return 0, false, fmt.Errorf("log start offset file: %w", err)
	}
	return off, true, nil
}

// applyStartFileLocked raises the start recovery derived from the
// segments to the recorded one (clamped to the log end: a crash under
// fsync=never may have taken back records the start was moved past).
// Called by recover.
func (l *Log) applyStartFileLocked() {
	off, ok, err := readStartFile(l.fs, l.dir)
	if err != nil {
		l.logger().Warn("ignoring log start offset file", "err", err)
		return
	}
	if ok && off > l.mu.start {
		l.mu.start = min(off, l.mu.next)
	}
}

// DeleteRecordsBefore moves the log start offset up to offset (Kafka's
// DeleteRecords): records below it are no longer readable (Read answers
// ErrOffsetOutOfRange, as Fetch below the start does in Kafka) and whole
// segments below it are deleted. The new start is made durable (the
// log-start-offset file, fsynced) before anything is deleted, so it
// survives a crash and restart. offset must not be above the high
// watermark (ErrOffsetOutOfRange); an offset at or below the current start
// changes nothing. It returns the log start offset afterwards and the
// number of segments deleted.
func (l *Log) DeleteRecordsBefore(offset int64) (start int64, deletedSegments int, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.closed {
		return 0, 0, ErrClosed
	}
	if offset < 0 || offset > l.mu.hw {
		return l.mu.start, 0, fmt.Errorf("%w: delete records before %d: log start %d, high watermark %d", ErrOffsetOutOfRange, offset, l.mu.start, l.mu.hw)
	}
	if offset > l.mu.start {
		if err := writeStartFile(l.fs, l.dir, offset); err != nil {
			return l.mu.start, 0, err
		}
		l.mu.start = offset
	}
	n := 0
	for n < len(l.mu.segs)-1 && l.mu.segs[n+1].base <= l.mu.start {
		n++
	}
	if n == 0 {
		return l.mu.start, 0, nil
	}
	if err := l.dropSegmentsLocked(n, "records deleted below the log start offset"); err != nil {
		return l.mu.start, n, fmt.Errorf("delete records: %w", err)
	}
	return l.mu.start, n, nil
}

// dropSegmentsLocked deletes the first n segments (never the active one)
// and raises the log start offset to the first remaining segment's base
// if it was below. mu must be held.
func (l *Log) dropSegmentsLocked(n int, why string) error {
	l.waitRollSyncLocked()
	doomed := slices.Clone(l.mu.segs[:n])
	l.mu.segs = slices.Delete(l.mu.segs, 0, n)
	l.mu.start = max(l.mu.start, l.mu.segs[0].base)
	l.loaded.Lock()
	l.loaded.segs = slices.DeleteFunc(l.loaded.segs, func(s *segment) bool { return slices.Contains(doomed, s) })
	l.loaded.Unlock()
	var firstErr error
	for _, s := range doomed {
		l.logger().Info("deleted segment", "segment", s.logPath, "bytes", s.size, "reason", why, "log_start_offset", l.mu.start)
		if err := s.remove(); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	l.metrics.deletedSegs.Add(float64(n))
	if err := l.fs.SyncDir(l.dir); err != nil && firstErr == nil {
		firstErr = fmt.Errorf("sync log dir: %w", err)
	}
	return firstErr
}
