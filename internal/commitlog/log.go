// Package commitlog is Eddy's storage engine: one append-only, segmented log
// per partition directory, holding Kafka RecordBatch v2 bytes exactly as
// produced (only the base offset is rewritten).
//
// A Log is a directory of segments named by base offset
// (00000000000000000000.log) with a sparse offset index (.index) and time
// index (.timeindex) beside each, and a clean-shutdown marker written by
// Close. Open recovers after a crash by scanning only the tail of the last
// segment; see docs/format/log.md for the byte layout.
//
// Durability follows Options.Sync. Under SyncAlways the high watermark is
// the fsynced end, so consumers never read bytes a crash could take back.
// Group commit runs in rounds owned by a Committer shared by every log of a
// data directory: an appender waiting in WaitDurable queues its log, the
// first one to find no round running leads the next on its own goroutine
// and makes every queued log durable at once (one fsync, or one volume sync
// for several logs), and the appenders that arrive meanwhile share the next
// round. The Committer also bounds concurrent fsyncs and holds the metrics.
// To keep those fsyncs cheap, the active segment of a SyncAlways log whose
// fsyncs are small is zero-filled ahead of its end in the background
// (zerofill.go). Pages that are on disk and more than Options.CacheBytes
// behind the end are dropped from the page cache, so a busy log reuses
// pages instead of taking fresh ones (pagecache.go).
//
// Concurrency: every method is safe for concurrent use. Writes to one log
// are serialized; reads run in parallel with each other and with writes.
// Reads locate the batch under the read lock and copy the bytes after
// releasing it (holding only the segment's io lock), so a cold read does not
// delay appends. Lock order: Committer slot → Log.syncMu (a round's leader
// holds several, in queue order; no holder waits for a slot) → Log.mu →
// {segment.io, Log.loadedMu → segment.imu}; Committer.mu is a leaf.
//
// Usage:
//
//	c := commitlog.NewCommitter(commitlog.CommitterOptions{Registerer: reg})
//	defer c.Close()
//	opts := commitlog.DefaultOptions()
//	opts.Committer = c
//	l, err := commitlog.Open(filepath.Join(dataDir, "orders-0"), opts)
//	...
//	base, err := l.Append(batches) // returns once durable
//	b, err := l.Read(base, 1<<20)
//	err = l.Close()
package commitlog

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// cleanMarkerName is the clean-shutdown marker's file name in a log
// directory.
const cleanMarkerName = ".clean_shutdown"

// Log is one partition's log. Create it with Open.
type Log struct {
	dir       string
	fs        vfs.FS
	baseLog   *slog.Logger // Options.Logger; logger() adds the log's directory
	committer *Committer
	ownsComm  bool
	metrics   *metrics

	// syncMu serializes fsyncs of this log (committer, flusher, Close).
	// Taken before mu, never while holding it.
	syncMu sync.Mutex

	// mu guards the log's state: its segments, offsets and positions,
	// failure state and options. Functions that need it held are named
	// …Locked; mu is held only for short bookkeeping and segment writes,
	// never across an fsync.
	mu struct {
		sync.RWMutex
		opts   Options
		closed bool
		segs   []*segment // ascending base; the last is active
		next   int64      // log end offset
		start  int64      // log start offset
		hw     int64      // high watermark
		hwPos  int64      // byte position of hw in the active segment
		dur    int64      // durable end offset
		durPos int64      // byte position of dur in the active segment

		// writeBroken is set when a failed write could not be truncated
		// away; syncErr when an fsync failed. Either makes the next Write
		// repair the active segment back to its durable end first.
		writeBroken bool
		// markerPending: the clean-shutdown marker Open trusted is still
		// on disk, and write removes it first (readCleanMarker).
		markerPending  bool
		syncErr        error
		failEpoch      uint64
		rollSync       chan struct{} // closed when the background fsync of the last rolled segment ends
		lazyArmed      bool          // lazy is set to fire
		lazyNext       int64         // the log end when lazy was armed: what it must see durable
		soloRounds     int8          // consecutive fsyncs of this log alone, up to maxSoloRounds (zerofill.go)
		pendingAppends int64         // appends since the last successful fsync
		roundBytes     int64         // moving average of the bytes one fsync made durable (zerofill.go)
		sinceDrop      int64         // bytes written since the last look for pages to drop (pagecache.go)
		dropDone       chan struct{} // closed when the running page dropper exits; nil when none runs
		dropBase       int64         // sealed segments below this base are done with dropping
		// held: copies of SyncAlways writes not yet written to the active
		// segment, which they fill from heldAt to its size (held.go).
		held   *heldBuf
		heldAt int64
		// writing is closed once a journal round has written the held
		// bytes it took (syncPoint.unwritten); nil when none is pending.
		writing chan struct{}
	}

	// createSync holds the fsyncs of the log's creation still owed
	// (createSync* bits, Options.DeferCreateSync; create_sync.go).
	createSync atomic.Uint32

	// queued: in the committer's queue for the next round; guarded by
	// the committer's mu, not the log's.
	queued bool
	// takenBy and takenEnd: the last round that took the log from the
	// queue, and the log end offset then (from written); guarded by the
	// committer's mu. A writer whose offsets end at or below takenEnd is
	// covered by that round's flush.
	takenBy  uint64
	takenEnd int64
	// written is the log end offset (mu.next), stored after each write,
	// for the committer to read without taking mu.
	written atomic.Int64
	// lazy is the safety-net fsync when nobody waits (SyncAlways), armed
	// under mu (mu.lazyArmed, armLazyLocked); nil while the log is idle.
	// Guarded by mu.
	lazy *time.Timer

	// flusher guards the interval flusher's channels.
	flusher struct {
		sync.Mutex
		quit chan struct{}
		done chan struct{}
	}

	useClock atomic.Int64 // lazily loaded index LRU stamps
	// loaded guards the closed segments whose indexes are in memory (an
	// LRU); taken after mu when both are held.
	loaded struct {
		sync.Mutex
		segs []*segment
	}
}

// Open opens or creates the log in dir, recovering after an unclean stop.
func Open(dir string, opts Options) (*Log, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	l := &Log{dir: dir, fs: opts.FS, baseLog: opts.Logger}
	l.mu.opts = opts
	if opts.Committer != nil {
		l.committer = opts.Committer
	} else {
		l.committer = NewCommitter(CommitterOptions{Registerer: opts.Registerer, Logger: opts.Logger})
		l.ownsComm = true
	}
	l.metrics = l.committer.metrics
	_, statErr := l.fs.Stat(dir)
	if err := l.fs.MkdirAll(dir, 0o755); err != nil {
		l.closeCommitter()
		return nil, fmt.Errorf("create log dir %s: %w", dir, err)
	}
	// A new directory's entry in the data directory is durable only after
	// the data directory's fsync; without it a power cut can drop a whole
	// partition whose segments were fsynced.
	if errors.Is(statErr, iofs.ErrNotExist) && opts.DeferCreateSync {
		l.createSync.Or(createSyncParent)
	} else if errors.Is(statErr, iofs.ErrNotExist) {
		if err := l.fs.SyncDir(filepath.Dir(dir)); err != nil {
			l.closeCommitter()
			return nil, fmt.Errorf("create log dir %s: %w", dir, err)
		}
	}
	if err := l.recover(); err != nil {
		for _, s := range l.mu.segs {
			s.close()
		}
		l.closeCommitter()
		return nil, fmt.Errorf("open log %s: %w", dir, err)
	}
	for _, s := range l.mu.segs {
		s.dropped = s.size // not ours to drop (pagecache.go)
	}
	l.startFlusher()
	return l, nil
}

func (l *Log) closeCommitter() {
	if l.ownsComm {
		l.committer.Close()
	}
}

func (l *Log) activeLocked() *segment { return l.mu.segs[len(l.mu.segs)-1] }

// Dir returns the log's directory.
func (l *Log) Dir() string { return l.dir }

// HighWatermark is the offset after the last record consumers may read:
// under SyncAlways the fsynced end (it moves when a WaitDurable caller's
// group commit fsyncs, or at most ~200 ms after a write nobody waits for),
// otherwise the log end offset.
func (l *Log) HighWatermark() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.hw
}

// LogEndOffset is the offset the next appended record will get.
func (l *Log) LogEndOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.next
}

// LogStartOffset is the first offset still stored (it moves with retention).
func (l *Log) LogStartOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.start
}

// Size is the total bytes of stored batches across all segments.
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.sizeLocked()
}

func (l *Log) sizeLocked() int64 {
	var n int64
	for _, s := range l.mu.segs {
		n += s.size
	}
	return n
}

// SegmentCount is the number of segments, the active one included.
func (l *Log) SegmentCount() int {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return len(l.mu.segs)
}

// Options returns the log's current options.
func (l *Log) Options() Options {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mu.opts
}

// Reconfigure changes segment, retention, index and sync settings at run
// time (AlterConfigs). FS, Committer, Files, Registerer and Logger cannot
// change and are ignored. Switching to SyncAlways fsyncs first so the high watermark
// does not move backwards.
func (l *Log) Reconfigure(opts Options) error {
	if err := opts.Validate(); err != nil {
		return err
	}
	l.stopFlusher()
	defer l.startFlusher()
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	old := l.mu.opts
	opts.FS, opts.Committer, opts.Registerer, opts.Logger, opts.Files = old.FS, old.Committer, old.Registerer, old.Logger, old.Files
	if opts.Now == nil {
		opts.Now = old.Now
	}
	toAlways := opts.Sync == SyncAlways && old.Sync != SyncAlways
	if opts.Sync != SyncAlways {
		// Readers may read up to the log's size from now on.
		if err := l.writeHeldLocked(); err != nil {
			l.mu.Unlock()
			return fmt.Errorf("reconfigure: %w", err)
		}
	}
	if !toAlways {
		l.mu.opts = opts
		if opts.Sync != SyncAlways {
			l.mu.hw, l.mu.hwPos = l.mu.next, l.activeLocked().size
		}
	}
	l.mu.Unlock()
	if toAlways {
		l.mu.Lock()
		l.waitRollSyncLocked()
		l.mu.Unlock()
		if err := l.syncOnce(); err != nil {
			return fmt.Errorf("reconfigure: %w", err)
		}
		l.mu.Lock()
		l.mu.opts = opts
		l.mu.Unlock()
	}
	return nil
}

// logger returns the log's logger, naming its directory. It is built per
// message (they are rare) rather than kept: a kept one cost 450 bytes per
// partition.
func (l *Log) logger() *slog.Logger { return l.baseLog.With("log", l.dir) }

// Close fsyncs everything, writes the clean-shutdown marker and closes the
// files. Waiters in WaitDurable get ErrClosed if their data was not synced.
func (l *Log) Close() error {
	l.stopFlusher()
	l.stopLazy()
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	err := l.closeLocked()
	l.mu.Unlock()
	l.closeCommitter()
	return err
}

func (l *Log) closeLocked() error {
	l.mu.closed = true
	l.waitDropperLocked()
	var errs []error
	if l.mu.syncErr != nil || l.mu.writeBroken {
		// A failed fsync may have dropped pages: cut back to what is known
		// durable so the marker never vouches for lost bytes.
		if err := l.repairLocked(); err != nil {
			errs = append(errs, err)
		}
	}
	l.waitRollSyncLocked()
	a := l.activeLocked()
	if len(errs) == 0 {
		if err := l.writeHeldLocked(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := l.releaseAlloc(a); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		start := l.mu.opts.Now()
		if err := a.f.Sync(); err != nil {
			errs = append(errs, fmt.Errorf("sync %s: %w", a.logPath, err))
		} else {
			// Appenders still in WaitDurable were made durable by this sync.
			l.mu.dur, l.mu.durPos = l.mu.next, a.size
		}
		l.metrics.fsync.Observe(l.mu.opts.Now().Sub(start).Seconds())
	}
	if len(errs) == 0 {
		a.imu.Lock()
		a.sealTimeIndex()
		if err := a.flushIndex(true); err != nil {
			errs = append(errs, err)
		}
		a.imu.Unlock()
	}
	if len(errs) == 0 && l.committer.journalFailed() {
		// A replay may write a failed round's records over this log's
		// tail: the next start must scan it.
		errs = append(errs, errJournalFailed)
	}
	if len(errs) == 0 {
		if err := writeCleanMarker(l.fs, l.dir, cleanMarker{next: l.mu.next, activeBase: a.base, activeSize: a.size}); err != nil {
			errs = append(errs, err)
		}
	}
	for _, s := range l.mu.segs {
		if err := s.close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close log %s: %w", l.dir, err)
	}
	return nil
}

// Delete closes the log without a clean marker and removes its directory
// (DeleteTopics).
func (l *Log) Delete() error {
	l.stopFlusher()
	l.stopLazy()
	l.syncMu.Lock()
	l.mu.Lock()
	if l.mu.closed {
		l.mu.Unlock()
		l.syncMu.Unlock()
		return ErrClosed
	}
	l.mu.closed = true
	l.dropHeldLocked()
	l.waitDropperLocked()
	l.waitRollSyncLocked()
	for _, s := range l.mu.segs {
		s.close()
	}
	l.mu.Unlock()
	l.syncMu.Unlock()
	// Closed, the log is in no later round; retiring the journal now makes
	// sure no replay writes its old bytes into a log recreated here.
	if err := l.committer.RetireJournal(); err != nil {
		l.closeCommitter()
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	l.closeCommitter()
	if err := l.fs.RemoveAll(l.dir); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	if err := l.fs.SyncDir(filepath.Dir(l.dir)); err != nil {
		return fmt.Errorf("delete log %s: %w", l.dir, err)
	}
	return nil
}

// segmentForLocked returns the index in l.mu.segs of the segment holding offset.
func (l *Log) segmentForLocked(offset int64) int {
	i := sort.Search(len(l.mu.segs), func(i int) bool { return l.mu.segs[i].base > offset })
	if i == 0 {
		return 0
	}
	return i - 1
}

// limitOfLocked is the readable end (bytes) of segment i: the high watermark's
// position in the active segment, the whole size otherwise.
func (l *Log) limitOfLocked(i int) int64 {
	if i == len(l.mu.segs)-1 {
		return l.mu.hwPos
	}
	return l.mu.segs[i].size
}
