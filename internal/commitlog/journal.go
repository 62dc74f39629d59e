package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// The commit journal (CommitterOptions.JournalBytes).
//
// A volume sync costs a data write and an inode update per file it finds
// dirty, so a commit round over a thousand partitions costs several times
// what the same bytes cost in one file (BenchmarkVolumeSyncFiles). A round
// over several logs therefore appends each log's newly written bytes to one
// file, the journal, and fdatasyncs only it; the logs' own
// files are written back by the kernel later.
//
// The journal has two halves. Rounds append to one; when it is full they
// go on in the other, and a background volume sync makes every file
// durable and then retires the full half's records: each half's records
// carry its epoch, and the header names the first live epoch, so one
// header write retires a half. A round that finds the other half not yet
// retired (its volume sync still running), or that the journal cannot
// serve, uses a volume sync as before, which retires both halves.
//
// At start-up, before any log opens, the live records are written back
// into the segment files they name and those are fsynced; recovery then
// validates them like any tail. Replay must never write where a log now
// holds other bytes: a log's bytes below its durable end never change
// (appends only; a repair after a failed fsync cuts only bytes that were
// never durable), a deleted segment's file is not recreated (records for a
// missing file are skipped), and deleting a log retires the journal first
// (Committer.RetireJournal), so a log recreated under the same name never
// receives old bytes. The records of a round whose journal sync failed are
// zeroed before its logs write again, or retired with a volume sync; when
// neither works nothing is acknowledged any more. A volume sync that fails
// while records are live fails the journal the same way: the files may
// have lost acknowledged bytes that only the journal holds, which a
// restart replays.
//
// Layout: a header block (magic, first live epoch, CRC-32C), then the two
// halves, each holding records back to back from its start: CRC-32C of the
// body, body length, body = epoch, path length, path of the segment file
// relative to the data directory, file position, bytes.

// journalName is the journal's file name in the data directory.
const journalName = "commit.journal"

// journalHeaderSize is the header block's size; the halves follow it.
const journalHeaderSize = 4096

// journalMagic starts the header.
const journalMagic = "EDDYJNL2"

// journalRecordHeader is a record's CRC and body length.
const journalRecordHeader = 8

// journalBodyFixed is a body's fixed part: epoch, path length, position.
const journalBodyFixed = 8 + 2 + 8

// journalMinSize is the smallest journal: the header and two 4 KiB halves.
const journalMinSize = journalHeaderSize + 2*4096

// errJournalFull: a round's records do not fit in the journal's free space.
var errJournalFull = errors.New("commit journal full")

// journal is the open journal file. Its records are written only by a
// commit round's leader (rounds never overlap) or before any log opens;
// the header (liveFrom) also by the background retirement of a half.
type journal struct {
	fs   vfs.FS
	dir  string
	f    vfs.File
	half int64 // bytes per half

	cur       int       // the half records go to
	halfEpoch [2]uint64 // each half's epoch; 0: never used
	pos       int64     // where the next record goes (file offset)
	// written is the end of what the current half holds, including a
	// failed round's records past pos (scrub).
	written int64
	buf     []byte // the round's records

	// retiring is closed when the last background retirement ends.
	retiring chan struct{}

	hmu      sync.Mutex
	liveFrom uint64 // records of lower epochs are dead; in the header
}

// openJournal opens the journal of dir, replaying its live records into
// the segment files they name and retiring them, or creates it, size bytes
// long (durable before it returns). replayed is how many records
// were written back. vol, when not nil, syncs the volume holding dir: it
// makes the replayed files durable with one sync instead of one each.
// Call it before any log of dir opens.
func openJournal(fsys vfs.FS, dir string, size int64, vol vfs.Volume, log *slog.Logger) (j *journal, replayed int, err error) {
	path := filepath.Join(dir, journalName)
	f, err := fsys.OpenFile(path, os.O_RDWR, 0)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		j, err := createJournal(fsys, dir, size)
		return j, 0, err
	case err != nil:
		return nil, 0, fmt.Errorf("open commit journal: %w", err)
	}
	fail := func(err error) (*journal, int, error) {
		f.Close()
		return nil, replayed, err
	}
	st, err := f.Stat()
	if err != nil {
		return fail(fmt.Errorf("stat commit journal: %w", err))
	}
	hdr := make([]byte, 20)
	if _, err := f.ReadAt(hdr, 0); err != nil || st.Size() < journalMinSize {
		return fail(fmt.Errorf("commit journal %s: too short (%d bytes) or unreadable (%v); it may hold acknowledged records, so Eddy will not start without it (restore it, or remove it to accept losing them)", path, st.Size(), err))
	}
	if string(hdr[:8]) != journalMagic || crc32.Checksum(hdr[:16], castagnoli) != binary.BigEndian.Uint32(hdr[16:]) {
		return fail(fmt.Errorf("commit journal %s: damaged header; it may hold acknowledged records, so Eddy will not start without it (restore it, or remove it to accept losing them)", path))
	}
	j = &journal{fs: fsys, dir: dir, f: f, half: (st.Size() - journalHeaderSize) / 2}
	j.liveFrom = binary.BigEndian.Uint64(hdr[8:])
	replayed, last, err := j.replay(vol, log)
	if err != nil {
		return fail(err)
	}
	if replayed > 0 {
		log.Info("commit journal replayed", "records", replayed, "live_from_epoch", j.liveFrom)
	}
	// Every replayed file is durable: start a new epoch past all of them.
	next := max(j.liveFrom, last+1)
	if err := j.setLiveFrom(next); err != nil {
		return fail(err)
	}
	if size > 0 && max(size, journalMinSize) != st.Size() {
		// Resized (--commit-journal-bytes changed): nothing is live any
		// more, so a new file of the new size replaces it.
		f.Close()
		j, err := createJournal(fsys, dir, size)
		return j, replayed, err
	}
	j.start(0, next)
	return j, replayed, nil
}

// createJournal writes a new journal (zeros, then the header) under a
// temporary name and renames it into place, durably.
func createJournal(fsys vfs.FS, dir string, size int64) (*journal, error) {
	size = max(size, journalMinSize)
	if err := fsys.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create commit journal: %w", err)
	}
	path := filepath.Join(dir, journalName)
	tmp := path + ".tmp"
	f, err := fsys.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create commit journal: %w", err)
	}
	j := &journal{fs: fsys, dir: dir, f: f, half: (size - journalHeaderSize) / 2}
	// Sized, not filled: the first round in each stretch of it allocates
	// its blocks (one filesystem journal commit for a round's megabyte),
	// later laps reuse them; filling 128 MiB with zeros would cost every
	// new data directory a second of writes.
	if err := f.Truncate(size); err != nil {
		f.Close()
		return nil, fmt.Errorf("create commit journal: %w", err)
	}
	err = j.setLiveFrom(1)
	if err == nil {
		err = fsys.Rename(tmp, path)
	}
	if err == nil {
		err = fsys.SyncDir(dir)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("create commit journal: %w", err)
	}
	j.start(0, 1)
	return j, nil
}

// start makes half h, with epoch, the one records go to, from its start.
func (j *journal) start(h int, epoch uint64) {
	j.cur = h
	j.halfEpoch[h] = epoch
	j.pos = j.halfStart(h)
	j.written = j.pos
}

// halfStart is the file offset of half h.
func (j *journal) halfStart(h int) int64 { return journalHeaderSize + int64(h)*j.half }

// epoch is the current half's epoch.
func (j *journal) epoch() uint64 { return j.halfEpoch[j.cur] }

// setLiveFrom durably records that epochs below e are dead (if that
// retires more than the header already says).
func (j *journal) setLiveFrom(e uint64) error {
	j.hmu.Lock()
	defer j.hmu.Unlock()
	if e <= j.liveFrom && j.liveFrom != 0 {
		return nil
	}
	hdr := make([]byte, 20)
	copy(hdr, journalMagic)
	binary.BigEndian.PutUint64(hdr[8:], e)
	binary.BigEndian.PutUint32(hdr[16:], crc32.Checksum(hdr[:16], castagnoli))
	if _, err := j.f.WriteAt(hdr, 0); err != nil {
		return fmt.Errorf("write commit journal header: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("sync commit journal header: %w", err)
	}
	j.liveFrom = e
	return nil
}

// isLive reports whether epoch e's records are live.
func (j *journal) isLive(e uint64) bool {
	j.hmu.Lock()
	defer j.hmu.Unlock()
	return e != 0 && e >= j.liveFrom
}

// replay writes every live record back into its segment file, the older
// half first, and makes the files written durable (one volume sync, or an
// fsync each without vol). Each half is read from its
// start up to the first record that is not whole, not intact or of another
// epoch than its first. last is the highest epoch found.
func (j *journal) replay(vol vfs.Volume, log *slog.Logger) (n int, last uint64, err error) {
	var halves [2][]journalRecord
	for h := range halves {
		recs, err := j.scanHalf(h)
		if err != nil {
			return 0, 0, err
		}
		if len(recs) > 0 {
			last = max(last, recs[0].epoch)
			if recs[0].epoch >= j.liveFrom {
				halves[h] = recs
			}
		}
	}
	if len(halves[0]) > 0 && len(halves[1]) > 0 && halves[1][0].epoch < halves[0][0].epoch {
		halves[0], halves[1] = halves[1], halves[0]
	}
	files := map[string]vfs.File{}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	for _, recs := range halves {
		for _, rec := range recs {
			f, ok := files[rec.path]
			if !ok {
				f, err = j.fs.OpenFile(filepath.Join(j.dir, rec.path), os.O_RDWR, 0)
				if errors.Is(err, iofs.ErrNotExist) {
					// Deleted since (retention, DeleteRecords): its bytes
					// are not wanted any more.
					log.Debug("commit journal record for a deleted segment", "segment", rec.path)
					continue
				}
				if err != nil {
					return n, last, fmt.Errorf("commit journal replay: %w", err)
				}
				files[rec.path] = f
			}
			if _, err := f.WriteAt(rec.data, rec.pos); err != nil {
				return n, last, fmt.Errorf("commit journal replay into %s: %w", rec.path, err)
			}
			n++
		}
	}
	if vol != nil && len(files) > 0 {
		if err := vol.Sync(); err != nil {
			return n, last, fmt.Errorf("commit journal replay: sync the volume: %w", err)
		}
		return n, last, nil
	}
	for path, f := range files {
		if err := f.Sync(); err != nil {
			return n, last, fmt.Errorf("commit journal replay: sync %s: %w", path, err)
		}
	}
	return n, last, nil
}

// scanHalf decodes half h's records: from its start, while whole, intact
// and of the first record's epoch.
func (j *journal) scanHalf(h int) ([]journalRecord, error) {
	var recs []journalRecord
	var hdr [journalRecordHeader]byte
	end := j.halfStart(h) + j.half
	for pos := j.halfStart(h); pos+journalRecordHeader <= end; {
		if _, err := j.f.ReadAt(hdr[:], pos); err != nil {
			return nil, fmt.Errorf("read commit journal at %d: %w", pos, err)
		}
		sum, length := binary.BigEndian.Uint32(hdr[:4]), int64(binary.BigEndian.Uint32(hdr[4:]))
		if length < journalBodyFixed || pos+journalRecordHeader+length > end {
			break
		}
		body := make([]byte, length)
		if _, err := j.f.ReadAt(body, pos+journalRecordHeader); err != nil {
			return nil, fmt.Errorf("read commit journal at %d: %w", pos, err)
		}
		rec, ok := parseJournalRecord(body, sum)
		if !ok || rec.epoch == 0 || (len(recs) > 0 && rec.epoch != recs[0].epoch) {
			break
		}
		recs = append(recs, rec)
		pos += journalRecordHeader + length
	}
	return recs, nil
}

// journalRecord is one decoded record.
type journalRecord struct {
	epoch uint64
	path  string
	pos   int64
	data  []byte
}

// parseJournalRecord decodes a record body whose CRC-32C should be sum.
// ok is false for a damaged body or one naming a path outside the data
// directory.
func parseJournalRecord(body []byte, sum uint32) (r journalRecord, ok bool) {
	if len(body) < journalBodyFixed || crc32.Checksum(body, castagnoli) != sum {
		return r, false
	}
	r.epoch = binary.BigEndian.Uint64(body)
	plen := int(binary.BigEndian.Uint16(body[8:]))
	if len(body) < journalBodyFixed+plen {
		return r, false
	}
	r.path = string(body[10 : 10+plen])
	r.pos = int64(binary.BigEndian.Uint64(body[10+plen:]))
	r.data = body[journalBodyFixed+plen:]
	if !filepath.IsLocal(r.path) || r.pos < 0 {
		return r, false
	}
	return r, true
}

// recordSize is the size of a record of n bytes of the file at path.
func recordSize(path string, n int64) int64 {
	return journalRecordHeader + journalBodyFixed + int64(len(path)) + n
}

// room reports whether need bytes of records fit in the current half,
// moving to the other half when they do not and it is retired, after
// waiting for its retirement if one runs (the full half, returned as full
// with ok, is then the caller's to retire).
func (j *journal) room(need int64) (full uint64, ok bool) {
	if j.pos+need <= j.halfStart(j.cur)+j.half {
		return 0, true
	}
	other := 1 - j.cur
	if need > j.half {
		return 0, false
	}
	if j.isLive(j.halfEpoch[other]) && j.retiring != nil {
		// Its retirement runs: wait for it rather than sync the volume
		// a second time.
		<-j.retiring
	}
	if j.isLive(j.halfEpoch[other]) {
		return 0, false
	}
	full = j.epoch()
	j.start(other, full+1)
	return full, true
}

// begin starts a round's records.
func (j *journal) begin() { j.buf = j.buf[:0] }

// add appends to the round a record of the n bytes at pos of the segment
// file f, whose path relative to the data directory is path. mem, when it
// holds n bytes, is those bytes, and f is not read.
func (j *journal) add(path string, f vfs.File, pos, n int64, mem []byte) error {
	start := len(j.buf)
	size := int(recordSize(path, n))
	// Every byte of the record is written below: grow without zeroing.
	j.buf = slices.Grow(j.buf, size)[:start+size]
	rec := j.buf[start:]
	body := rec[journalRecordHeader:]
	binary.BigEndian.PutUint64(body, j.epoch())
	binary.BigEndian.PutUint16(body[8:], uint16(len(path)))
	copy(body[10:], path)
	binary.BigEndian.PutUint64(body[10+len(path):], uint64(pos))
	if int64(len(mem)) == n {
		copy(body[journalBodyFixed+len(path):], mem)
	} else if _, err := f.ReadAt(body[journalBodyFixed+len(path):], pos); err != nil {
		j.buf = j.buf[:start]
		return fmt.Errorf("read %s for the commit journal: %w", path, err)
	}
	binary.BigEndian.PutUint32(rec, crc32.Checksum(body, castagnoli))
	binary.BigEndian.PutUint32(rec[4:], uint32(len(body)))
	return nil
}

// commit writes the round's records and syncs the journal. After a
// failure the records may be on disk in part: scrub them (or retire the
// epoch) before the logs of the round write over the bytes they name.
func (j *journal) commit() error {
	if j.pos+int64(len(j.buf)) > j.halfStart(j.cur)+j.half {
		return errJournalFull
	}
	j.written = max(j.written, j.pos+int64(len(j.buf)))
	_, err := j.f.WriteAt(j.buf, j.pos)
	if err == nil {
		err = j.f.Sync()
	}
	if err != nil {
		return fmt.Errorf("commit journal: %w", err)
	}
	j.pos += int64(len(j.buf))
	return nil
}

// scrub overwrites what failed rounds wrote past the last good record with
// zeros, durably, so no replay finds those records.
func (j *journal) scrub() error {
	if j.written <= j.pos {
		return nil
	}
	if _, err := j.f.WriteAt(make([]byte, j.written-j.pos), j.pos); err != nil {
		return fmt.Errorf("scrub commit journal: %w", err)
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("scrub commit journal: %w", err)
	}
	j.written = j.pos
	return nil
}

// live reports whether the journal holds records a volume sync must retire.
func (j *journal) live() bool {
	return j.pos > j.halfStart(j.cur) || j.written > j.pos || j.isLive(j.halfEpoch[1-j.cur])
}

// retire kills every record, durably, and starts a new epoch in the
// current half. The caller has made every file the records name durable.
func (j *journal) retire() error {
	next := j.epoch() + 1
	if err := j.setLiveFrom(next); err != nil {
		return err
	}
	j.start(j.cur, next)
	return nil
}

// close closes the file.
func (j *journal) close() error { return j.f.Close() }
