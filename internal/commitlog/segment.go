package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

const (
	logSuffix  = ".log"
	idxSuffix  = ".index"
	tidxSuffix = ".timeindex"
)

func segmentName(base int64, suffix string) string { return fmt.Sprintf("%020d%s", base, suffix) }

// parseSegmentName returns the base offset of a "%020d.log" file name.
func parseSegmentName(name string) (int64, bool) {
	s, ok := strings.CutSuffix(name, logSuffix)
	if !ok || len(s) != 20 {
		return 0, false
	}
	base, err := strconv.ParseInt(s, 10, 64)
	return base, err == nil && base >= 0
}

// segment is one .log file with its sparse indexes.
//
// Fields without a comment are guarded by Log.mu: written under the write
// lock, read under the read lock. The index bytes are guarded by imu because
// readers load closed segments' indexes lazily while holding only the read
// lock.
type segment struct {
	fs       vfs.FS
	base     int64
	logPath  string
	idxPath  string
	tidxPath string
	f        vfs.File     // the .log, open for the segment's lifetime
	io       sync.RWMutex // read-locked by readers copying from f without Log.mu; write-locked to close f

	size     int64     // bytes of valid batches
	kicked   int64     // writeback of the bytes below was started (commit journal rounds; their leaders only)
	kickedAt time.Time // when kicked last moved
	alloc    int64     // blocks are reserved, or zero-filled, up to here (Options.PreallocateBytes); 0 when none
	noAlloc  bool      // reserving failed (full disk, unsupported): stop trying
	fill     *zeroFill // a background zero-fill past alloc, nil when none (zerofill.go)
	zeroed   bool      // the file may hold zeros past size, up to alloc
	next     int64     // offset after the last batch
	maxTs    int64     // greatest batch max timestamp, -1 if empty
	maxTsOf  int64     // base offset of the batch holding maxTs, -1 if empty, -2 if not yet known
	lastBase int64     // base offset of the last batch, -1 if unknown
	created  time.Time
	modTime  time.Time
	dropped  int64       // pages before this were dropped from the page cache, or are not ours (pagecache.go); Log.mu
	noDrop   bool        // keep the pages: their writeback failed or cannot be checked; Log.mu
	wb       vfs.File    // writeback descriptor of the active segment under SyncNever (pagecache.go): opened under Log.mu while nil (the dropper reads it only for ranges picked after), closed under io
	synced   atomic.Bool // sealed and fsynced whole

	imu      sync.Mutex
	loaded   bool   // idx/tidx hold the whole index (always true for the active segment)
	idx      []byte // .index entries without header
	tidx     []byte // .timeindex entries without header
	idxDone  int    // bytes of idx already written to the file
	tidxDone int
	idxBad   bool     // the file content is unknown: rewrite it whole on flush
	idxF     vfs.File // open .index handle while a flush writes, nil otherwise
	tidxF    vfs.File
	sinceIdx int // log bytes since the last index entry
	lastUse  int64
	scratch  [tidxEntrySize]byte
}

func newSegmentPaths(fs vfs.FS, dir string, base int64) *segment {
	return &segment{
		fs:       fs,
		base:     base,
		logPath:  filepath.Join(dir, segmentName(base, logSuffix)),
		idxPath:  filepath.Join(dir, segmentName(base, idxSuffix)),
		tidxPath: filepath.Join(dir, segmentName(base, tidxSuffix)),
		next:     base,
		maxTs:    -1,
		maxTsOf:  -1,
		lastBase: -1,
	}
}

// createSegment creates empty segment files (truncating leftovers) and
// loads an empty index. The caller syncs the directory.
func createSegment(fs vfs.FS, files *FileCache, dir string, base int64, now time.Time) (*segment, error) {
	return createSegmentSync(fs, files, dir, base, now, true)
}

// createSegmentSync is createSegment; without syncIndex (a new log under
// Options.DeferCreateSync) the index files' headers are written but not
// fsynced. Their files are created here all the same, not at the first
// index flush: that flush runs in a commit round, where creating two files
// per partition of a new 10,000-partition topic cost the first seconds of
// produce a third of their throughput.
func createSegmentSync(fs vfs.FS, files *FileCache, dir string, base int64, now time.Time, syncIndex bool) (*segment, error) {
	s := newSegmentPaths(fs, dir, base)
	f, err := openLogFile(fs, files, s.logPath, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create segment %d: %w", base, err)
	}
	s.f = f
	s.created, s.modTime = now, now
	s.loaded = true
	s.idxBad = true // write headers on first flush
	if err := s.flushIndex(syncIndex); err != nil {
		f.Close()
		return nil, err
	}
	return s, nil
}

// openSegmentFile opens an existing .log and records its size.
func openSegmentFile(fs vfs.FS, files *FileCache, dir string, base int64) (*segment, error) {
	s := newSegmentPaths(fs, dir, base)
	f, err := openLogFile(fs, files, s.logPath, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open segment %d: %w", base, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat segment %d: %w", base, err)
	}
	s.f = f
	s.size = st.Size()
	s.modTime = st.ModTime()
	s.created = st.ModTime()
	return s, nil
}

// openLogFile opens a segment's .log, through files when not nil.
func openLogFile(fs vfs.FS, files *FileCache, path string, flag int, perm os.FileMode) (vfs.File, error) {
	if files != nil {
		return files.openFile(fs, path, flag, perm)
	}
	return fs.OpenFile(path, flag, perm)
}

func (s *segment) close() error {
	if s.fill != nil {
		<-s.fill.done // a zero-fill still writing (a crash-like close)
	}
	s.io.Lock() // wait for readers copying without Log.mu
	defer s.io.Unlock()
	s.closeIndexFiles()
	if s.wb != nil {
		s.wb.Close()
		s.wb = nil
	}
	return s.f.Close()
}

// closeIndexFiles closes the index handles a flush opened. imu must be
// held or the segment unshared.
func (s *segment) closeIndexFiles() {
	for _, fp := range []*vfs.File{&s.idxF, &s.tidxF} {
		if *fp != nil {
			(*fp).Close()
			*fp = nil
		}
	}
}

// remove closes and deletes the segment's files.
func (s *segment) remove() error {
	err := s.close()
	for _, p := range []string{s.logPath, s.idxPath, s.tidxPath} {
		if rerr := s.fs.Remove(p); rerr != nil && !errors.Is(rerr, os.ErrNotExist) && err == nil {
			err = rerr
		}
	}
	return err
}

// trackBatch updates the segment after the batch h was stored at pos: the
// sparse indexes, the max timestamp and the next offset. imu must be held.
func (s *segment) trackBatch(h *record.BatchHeader, pos int64, interval int) {
	if h.MaxTimestamp > s.maxTs || s.maxTsOf == -1 {
		s.maxTs, s.maxTsOf = h.MaxTimestamp, h.BaseOffset
	}
	if s.sinceIdx >= interval || len(s.idx) == 0 {
		// Every index point gets a time entry (the running max including
		// this batch), even when the max did not grow: recovery then finds
		// the last point covered by both files and scans only after it.
		rel := uint32(h.BaseOffset - s.base)
		s.idx = putIdxEntry(s.idx, rel, uint32(pos))
		s.tidx = putTidxEntry(s.tidx, max(s.maxTs, s.lastTidxTs()), rel)
		s.sinceIdx = 0
	}
	s.sinceIdx += h.Size()
	s.next = h.LastOffset() + 1
	s.lastBase = h.BaseOffset
}

// lastTidxTs is the timestamp of the last time index entry, or -1.
func (s *segment) lastTidxTs() int64 {
	if len(s.tidx) == 0 {
		return -1
	}
	ts, _ := tidxEntry(s.tidx, len(s.tidx)/tidxEntrySize-1)
	return ts
}

// sealTimeIndex appends a final time entry carrying the segment's max
// timestamp at its last batch, so a closed segment's last entry is its max
// (read on open without loading the index). imu must be held.
func (s *segment) sealTimeIndex() {
	if s.maxTsOf != -1 && s.maxTs > s.lastTidxTs() && s.lastBase >= s.base {
		s.tidx = putTidxEntry(s.tidx, s.maxTs, uint32(s.lastBase-s.base))
	}
}

// flushIndex writes every pending index entry (the data they point at must
// be durable), optionally fsyncing the index files. imu must be held.
func (s *segment) flushIndex(sync bool) error { return s.flushIndexUpTo(math.MaxInt64, sync) }

// flushIndexUpTo writes the pending entries of batches that start below
// byte position limit, which must be the fsynced end of the log. Index files
// therefore never point at data that is not durable, so crash recovery,
// which trusts everything before the last index entry and CRC-checks
// everything after it, covers every byte a power cut could have damaged.
// The index files are open only while it writes: a flush comes every few
// MiB of log at most, and keeping them open cost every partition two more
// descriptors (10,000 partitions needed 30,000). imu must be held.
func (s *segment) flushIndexUpTo(limit int64, sync bool) error {
	defer s.closeIndexFiles()
	ni := s.idxDone
	if s.idxBad || ni > len(s.idx) {
		ni = 0
	}
	for ni < len(s.idx) {
		if _, pos := idxEntry(s.idx, ni/idxEntrySize); int64(pos) >= limit {
			break
		}
		ni += idxEntrySize
	}
	relLimit := uint32(math.MaxUint32)
	if ni < len(s.idx) {
		relLimit, _ = idxEntry(s.idx, ni/idxEntrySize)
	}
	nt := s.tidxDone
	if s.idxBad || nt > len(s.tidx) {
		nt = 0
	}
	for nt < len(s.tidx) {
		if _, rel := tidxEntry(s.tidx, nt/tidxEntrySize); rel >= relLimit {
			break
		}
		nt += tidxEntrySize
	}
	if err := s.flushOne(&s.idxF, s.idxPath, idxMagic, idxEntrySize, s.idx[:ni], &s.idxDone, sync); err != nil {
		s.idxBad = true
		return err
	}
	if err := s.flushOne(&s.tidxF, s.tidxPath, tidxMagic, tidxEntrySize, s.tidx[:nt], &s.tidxDone, sync); err != nil {
		s.idxBad = true
		return err
	}
	s.idxBad = false
	return nil
}

func (s *segment) flushOne(fp *vfs.File, path string, magic [4]byte, entrySize int, entries []byte, done *int, sync bool) error {
	if !s.idxBad && *done == len(entries) && !sync {
		return nil
	}
	if *fp == nil {
		f, err := s.fs.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("open index %s: %w", path, err)
		}
		*fp = f
	}
	f := *fp
	if s.idxBad || *done > len(entries) {
		*done = 0
		if err := f.Truncate(0); err != nil {
			return fmt.Errorf("truncate index %s: %w", path, err)
		}
		if _, err := f.WriteAt(indexHeader(magic, entrySize), 0); err != nil {
			return fmt.Errorf("write index %s: %w", path, err)
		}
	}
	if *done < len(entries) {
		if _, err := f.WriteAt(entries[*done:], int64(idxHeaderSize+*done)); err != nil {
			return fmt.Errorf("write index %s: %w", path, err)
		}
		*done = len(entries)
	}
	if sync {
		if err := f.Sync(); err != nil {
			return fmt.Errorf("sync index %s: %w", path, err)
		}
	}
	return nil
}

// readIndexFile returns the entries of an index file, or ok=false when it is
// missing or its header or length is wrong.
func readIndexFile(fs vfs.FS, path string, magic [4]byte, entrySize int) (entries []byte, ok bool) {
	f, err := fs.Open(path)
	if err != nil {
		return nil, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < idxHeaderSize || (st.Size()-idxHeaderSize)%int64(entrySize) != 0 {
		return nil, false
	}
	b := make([]byte, st.Size())
	if _, err := f.ReadAt(b, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, false
	}
	if !checkIndexHeader(b, magic, entrySize) {
		return nil, false
	}
	return b[idxHeaderSize:], true
}

// readLastTimeEntry reads the last .timeindex entry of a closed segment,
// which sealTimeIndex made its max timestamp.
func readLastTimeEntry(fs vfs.FS, path string) (ts int64, rel uint32, ok bool) {
	f, err := fs.Open(path)
	if err != nil {
		return 0, 0, false
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Size() < idxHeaderSize || (st.Size()-idxHeaderSize)%tidxEntrySize != 0 {
		return 0, 0, false
	}
	var hdr [idxHeaderSize]byte
	if _, err := f.ReadAt(hdr[:], 0); err != nil || !checkIndexHeader(hdr[:], tidxMagic, tidxEntrySize) {
		return 0, 0, false
	}
	if st.Size() == idxHeaderSize {
		return -1, 0, true
	}
	var e [tidxEntrySize]byte
	if _, err := f.ReadAt(e[:], st.Size()-tidxEntrySize); err != nil {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(e[:])), binary.BigEndian.Uint32(e[8:]), true
}

// readHeader reads the batch header at pos into scratch (at least
// record.BatchHeaderSize bytes) and parses it.
func (s *segment) readHeader(scratch []byte, pos int64) (record.BatchHeader, error) {
	if _, err := s.f.ReadAt(scratch[:record.BatchHeaderSize], pos); err != nil {
		return record.BatchHeader{}, fmt.Errorf("read %s at %d: %w", s.logPath, pos, err)
	}
	return record.ParseBatchHeader(scratch[:record.BatchHeaderSize])
}

// findPos returns the position of the batch containing offset, found by an
// index lookup and a short header scan, or limit if offset is not below
// limit. imu must not be held; idx must be loaded.
func (s *segment) findPos(scratch []byte, offset, limit int64) (int64, error) {
	s.imu.Lock()
	pos := idxLookup(s.idx, uint32(offset-s.base))
	s.imu.Unlock()
	for pos+record.BatchHeaderSize <= limit {
		h, err := s.readHeader(scratch, pos)
		if err != nil {
			return 0, err
		}
		if h.LastOffset() >= offset {
			return pos, nil
		}
		if h.BatchLength <= 0 {
			return 0, &CorruptionError{Segment: s.logPath, Offset: pos, Reason: "non-positive batch length"}
		}
		pos += int64(h.Size())
	}
	return limit, nil
}
