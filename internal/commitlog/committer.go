package commitlog

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
	"github.com/prometheus/client_golang/prometheus"
)

// CommitterOptions configure a Committer.
type CommitterOptions struct {
	// Registerer receives the fsync metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives fsync failures; nil discards them.
	Logger *slog.Logger
	// Parallelism is how many fsyncs may run at once; default 64. Devices
	// with deep queues and journaling filesystems batch concurrent fsyncs,
	// so parallel ones finish in about the time of one.
	Parallelism int
	// FS and Dir name the data directory whose logs share the committer.
	// When FS implements vfs.VolumeFS, a commit round that covers several
	// logs makes them all durable with one volume sync (syncfs(2): one
	// journal commit and one device flush) instead of an fsync per log.
	// Every log using the committer must live on that volume. Zero values
	// disable volume syncs.
	FS  vfs.FS
	Dir string
	// MaxVolumeDirty bounds volume syncs: a round uses one only while the
	// kernel reports at most this many bytes waiting for writeback, since
	// syncfs flushes every file of the volume (logs under fsync=never, other
	// programs' files), not only the logs that wait. Default 64 MiB (about
	// 40 ms of writeback at 1.5 GB/s, the worst case a round then pays);
	// negative disables volume syncs.
	MaxVolumeDirty int64
	// JournalBytes sizes the commit journal (journal.go): a round over
	// several logs appends their new bytes to one file of this size in Dir
	// and syncs only it, while a volume sync is available to retire it.
	// Zero disables it; OpenJournal still replays a journal left by a run
	// that used one.
	JournalBytes int64
	// JournalMinLogs is how many logs a round covers at least to go
	// through the journal; default defaultJournalMinLogs.
	JournalMinLogs int
}

// defaultMaxVolumeDirty is CommitterOptions.MaxVolumeDirty's default.
const defaultMaxVolumeDirty = 64 << 20

// indexFlushBytes is how many bytes of new offset-index entries (one every
// IndexIntervalBytes of log) a log gathers before a commit round writes
// them to the index files.
const indexFlushBytes = 4096

// maxGatherDelay bounds how long a round's leader waits for the appenders
// of the previous round to come back (see gatherLocked).
const maxGatherDelay = 250 * time.Microsecond

// dirtyCheckEvery is how long a volume's dirty-bytes reading is reused.
const dirtyCheckEvery = 10 * time.Millisecond

// Committer runs group commit for every log of one data directory.
//
// Appenders that need their bytes durable (WaitDurable under SyncAlways)
// queue their log for the next commit round. Rounds run one at a time. The
// first appender that finds no round running leads the next one on its own
// goroutine (no hand-off to a background goroutine, so a lone producer pays
// one fsync and nothing more): it takes every queued log, makes them all
// durable, and wakes every appender the round covered. Appenders that queue
// while a round runs wait for the next, which one of them leads. So with
// many appenders on one log, one fsync covers all of them; with appenders
// spread over many logs, one round covers all the logs: a single volume
// sync when the filesystem offers one (see CommitterOptions.FS), else one
// fsync per log, issued in parallel so the filesystem can merge their
// journal commits.
//
// The Committer also bounds how many fsyncs run at once (Parallelism), so
// thousands of partitions cannot pin thousands of OS threads in fsync, and
// owns the metrics. Safe for concurrent use.
type Committer struct {
	metrics *metrics
	log     *slog.Logger
	sem     chan struct{}

	vol      vfs.Volume // nil: fsync per log only
	volFS    vfs.FS
	maxDirty int64
	fs       vfs.FS // CommitterOptions.FS and Dir
	dir      string
	jrnSize  int64
	// jrnMinLogs: CommitterOptions.JournalMinLogs.
	jrnMinLogs int

	// jrn is the commit journal, nil when not in use; used only by a
	// round's leader.
	jrn *journal
	// jrnFailed: the journal's records of a failed round could be neither
	// scrubbed nor retired, so a replay could write them over bytes the
	// logs hold since: nothing is acknowledged any more (errJournalFailed).
	jrnFailed atomic.Bool
	rels      []string        // a journal round's segment paths, reused
	kicks     []writebackKick // a journal round's writeback starts, reused
	bg        sync.WaitGroup  // background retirements of journal halves

	mu sync.Mutex
	// conds[r%2] holds the appenders waiting for round r: when round r
	// ends its waiters are woken, and one waiter of round r+1 to lead it,
	// so a round's end does not wake the next round's appenders for
	// nothing.
	conds    [2]*sync.Cond
	queue    []*Log // logs waiting for the next round (Log.queued set)
	spare    []*Log // the previous round's slice, reused
	leading  bool   // a round is running
	started  uint64 // rounds begun
	done     uint64 // rounds finished
	arrivals uint64 // waitRound calls
	pending  uint64 // waitRound calls the next round will release
	// What the last round did, for the next round's gathering.
	released      uint64        // appenders it released
	arrivalsAtEnd uint64        // arrivals when it ended
	lastFlush     time.Duration // how long its flush took
	retireReq     bool          // the next round must retire the journal (RetireJournal)
	retires       uint64        // rounds that served a retireReq
	retireErr     error         // why the last of them left the journal live
	gathering     bool          // a leader waits on gatherCond
	gatherCond    *sync.Cond
	gatherTimer   *time.Timer // ends a leader's gathering

	// Used only by the round's leader (rounds never overlap).
	points  []syncPoint
	dirtyAt time.Time
	dirty   int64 // bytes waiting for writeback at dirtyAt
	dirtyOK bool  // dirty could be read
}

// NewCommitter returns a committer; Close it after every log using it is
// closed. A volume that cannot be opened only disables volume syncs.
func NewCommitter(opts CommitterOptions) *Committer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 64
	}
	if opts.MaxVolumeDirty == 0 {
		opts.MaxVolumeDirty = defaultMaxVolumeDirty
	}
	c := &Committer{
		metrics:  newMetrics(opts.Registerer),
		log:      opts.Logger,
		sem:      make(chan struct{}, opts.Parallelism),
		maxDirty: opts.MaxVolumeDirty,
		fs:       opts.FS,
		dir:      opts.Dir,
		jrnSize:  opts.JournalBytes,
	}
	c.jrnMinLogs = opts.JournalMinLogs
	if c.jrnMinLogs <= 0 {
		c.jrnMinLogs = defaultJournalMinLogs
	}
	c.conds = [2]*sync.Cond{sync.NewCond(&c.mu), sync.NewCond(&c.mu)}
	c.gatherCond = sync.NewCond(&c.mu)
	c.gatherTimer = time.AfterFunc(time.Hour, func() {
		c.mu.Lock()
		c.gatherCond.Broadcast()
		c.mu.Unlock()
	})
	c.gatherTimer.Stop()
	if vfsys, ok := opts.FS.(vfs.VolumeFS); ok && opts.Dir != "" && opts.MaxVolumeDirty > 0 {
		vol, err := vfsys.OpenVolume(opts.Dir)
		switch {
		case err == nil:
			c.vol, c.volFS = vol, opts.FS
		case !errors.Is(err, vfs.ErrNoVolume):
			c.log.Warn("volume sync unavailable; logs will be fsynced one by one", "dir", opts.Dir, "err", err)
		}
	}
	return c
}

// OpenJournal replays the commit journal of Dir, if there is one, into
// the segment files it names, and starts using it when JournalBytes and a
// volume sync allow. Call it once, before any log of Dir opens; replayed
// is how many records were written back.
func (c *Committer) OpenJournal() (replayed int, err error) {
	if c.fs == nil || c.dir == "" {
		return 0, nil
	}
	use := c.jrnSize > 0 && c.vol != nil
	if !use {
		if _, err := c.fs.Stat(filepath.Join(c.dir, journalName)); errors.Is(err, iofs.ErrNotExist) {
			return 0, nil
		}
	}
	j, n, err := openJournal(c.fs, c.dir, c.jrnSize, c.vol, c.log)
	if err != nil {
		return n, err
	}
	if !use {
		return n, j.close()
	}
	c.jrn = j
	return n, nil
}

// RetireJournal makes every file durable with a volume sync and retires
// the journal's records, so that no later replay writes into files that
// change meanwhile: Log.Delete calls it before removing its directory.
func (c *Committer) RetireJournal() error {
	c.mu.Lock()
	if c.jrn == nil {
		c.mu.Unlock()
		return nil
	}
	c.retireReq = true
	served := c.retires
	c.mu.Unlock()
	// The round that takes the request begins after it and ends before
	// the round this call waits for.
	c.waitRound(nil, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.retires == served {
		return errors.New("commit journal: no round served the request to retire it")
	}
	return c.retireErr
}

// Close retires the journal (every log using the committer is closed, so
// fsynced) and releases the committer's volume handle and journal. It
// holds no goroutines; it is idempotent.
func (c *Committer) Close() error {
	c.bg.Wait()
	c.mu.Lock()
	vol, j := c.vol, c.jrn
	c.vol, c.jrn = nil, nil
	c.mu.Unlock()
	var errs []error
	if j != nil {
		if j.live() && !c.jrnFailed.Load() {
			errs = append(errs, j.retire())
		}
		errs = append(errs, j.close())
	}
	if vol != nil {
		errs = append(errs, vol.Close())
	}
	return errors.Join(errs...)
}

func (c *Committer) acquire() { c.sem <- struct{}{} }
func (c *Committer) release() { <-c.sem }

// enqueue puts l in the queue of the next commit round, unless the round
// running now took it after its offsets below next were written (that
// round covers them; see takenBy).
func (c *Committer) enqueue(l *Log, next int64) {
	c.mu.Lock()
	if c.coveredLocked(l, next) {
		c.mu.Unlock()
		return
	}
	if !l.queued {
		l.queued = true
		c.queue = append(c.queue, l)
	}
	c.mu.Unlock()
}

// coveredLocked reports whether the running round took l after its
// offsets below next were written, so that its flush covers them: the
// round snapshots a log's end when it flushes it, after taking it. c.mu
// must be held.
func (c *Committer) coveredLocked(l *Log, next int64) bool {
	return c.leading && next > 0 && l.takenBy == c.started && next <= l.takenEnd
}

// waitRound queues l for the next commit round and returns once a round
// that began after the call has flushed it (successfully or not: the caller
// checks the log's durable end and sync error). A caller waiting for the
// offsets below next (0: unknown) whose bytes the running round took
// waits for that round instead: a produce request written while the
// previous request of its connection waited is then made durable by the
// round already under way rather than the one after it.
func (c *Committer) waitRound(l *Log, next int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l != nil && c.coveredLocked(l, next) {
		target := c.started
		for c.done < target {
			c.conds[target%2].Wait()
		}
		return
	}
	c.arrivals++
	c.pending++
	if c.gathering {
		c.gatherCond.Signal()
	}
	if l != nil && !l.queued {
		l.queued = true
		c.queue = append(c.queue, l)
	}
	target := c.started + 1
	for c.done < target {
		if c.leading {
			c.conds[target%2].Wait()
			continue
		}
		c.leading = true
		c.gatherLocked()
		logs := c.queue
		c.queue = c.spare[:0]
		for _, q := range logs {
			q.queued = false
			q.takenBy, q.takenEnd = c.started+1, q.written.Load()
		}
		waiters := c.pending
		c.pending = 0
		c.started++
		vol := c.vol
		retire := c.retireReq
		c.retireReq = false
		c.mu.Unlock()

		start := time.Now()
		c.flush(logs, vol, retire)
		took := time.Since(start)
		var retireErr error
		if retire && c.jrn != nil && c.jrn.live() {
			retireErr = errors.New("commit journal could not be retired: the volume sync or the journal's header write failed")
		}

		clear(logs)
		c.mu.Lock()
		c.spare = logs[:0]
		c.done = c.started
		c.leading = false
		c.released, c.arrivalsAtEnd, c.lastFlush = waiters, c.arrivals, took
		if retire {
			c.retires++
			c.retireErr = retireErr
		}
		c.conds[c.done%2].Broadcast()
		c.conds[(c.done+1)%2].Signal()
	}
}

// gatherLocked holds a round open, before it takes the queue, until the
// appenders the previous round released are back (they write their next
// batch and queue again), for at most half of the previous flush's
// duration. Without it, appenders split into two groups that alternate
// rounds, each round carrying about half of them. A lone appender, or one
// whose peers do not come back, does not wait: it is back as soon as it
// leads. mu must be held; it is released while waiting.
func (c *Committer) gatherLocked() {
	if c.arrivals-c.arrivalsAtEnd >= c.released {
		// Let appenders that are runnable write and queue first.
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		return
	}
	wait := min(c.lastFlush/2, maxGatherDelay)
	deadline := time.Now().Add(wait)
	c.gathering = true
	c.gatherTimer.Reset(wait)
	for c.arrivals-c.arrivalsAtEnd < c.released && time.Now().Before(deadline) {
		c.gatherCond.Wait()
	}
	c.gathering = false
	c.gatherTimer.Stop()
}

// flush makes every log of one round durable; retire asks for a volume
// sync that retires the journal whatever the round holds.
func (c *Committer) flush(logs []*Log, vol vfs.Volume, retire bool) {
	switch {
	case retire && vol != nil:
		c.syncVolume(logs, vol)
	case len(logs) == 0:
	case len(logs) == 1:
		c.acquire()
		logs[0].syncOnce()
		c.release()
		c.metrics.roundLogs.Observe(1)
	case vol != nil && c.jrn != nil && (len(logs) >= c.jrnMinLogs || c.jrn.live()):
		c.syncJournal(logs, vol)
	case vol != nil && c.volumeUsable(logs, vol):
		c.syncVolume(logs, vol)
	default:
		var wg sync.WaitGroup
		for _, l := range logs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.acquire()
				l.syncOnceIn(true)
				c.release()
			}()
		}
		wg.Wait()
		c.metrics.roundLogs.Observe(float64(len(logs)))
	}
}

// volumeUsable reports whether one volume sync may serve this round: every
// log lives on the committer's filesystem and little else waits for
// writeback. "Little" grows with the round: the alternative is one fsync
// per log, each a journal commit of its own, so a round over n logs accepts
// n/logsPerDirtyLimit times MaxVolumeDirty (a round over 1,000 partitions
// fsynced one by one spent more than writing back the volume's other dirty
// bytes would, which the kernel writes back within seconds anyway).
func (c *Committer) volumeUsable(logs []*Log, vol vfs.Volume) bool {
	for _, l := range logs {
		if l.fs != c.volFS {
			return false
		}
	}
	if now := time.Now(); now.Sub(c.dirtyAt) >= dirtyCheckEvery {
		n, ok := vol.DirtyBytes()
		c.dirty, c.dirtyOK = n, ok
		c.dirtyAt = now
	}
	return c.dirtyOK && c.dirty <= c.maxDirty*int64(max(1, len(logs)/logsPerDirtyLimit))
}

// logsPerDirtyLimit is how many logs of a round earn it one more
// MaxVolumeDirty of other dirty bytes (see volumeUsable).
const logsPerDirtyLimit = 16

// syncVolume makes every log of the round durable with one volume sync,
// and retires the journal's records, which that sync made durable too. A
// failure is charged to every log of the round: the kernel does not say
// whose writeback failed.
func (c *Committer) syncVolume(logs []*Log, vol vfs.Volume) {
	c.acquire()
	defer c.release()
	pts := c.beginPoints(logs, false)
	c.syncPointsVolume(pts, vol)
}

// timedSync runs sync, a volume or journal sync, into the fsync latency
// histogram.
func (c *Committer) timedSync(sync func() error) error {
	start := time.Now()
	err := sync()
	c.metrics.fsync.Observe(time.Since(start).Seconds())
	return err
}

// beginPoints begins the flush of each log that has bytes to flush
// (beginSync), into the round's reused slice; deferWrite as beginSync's.
func (c *Committer) beginPoints(logs []*Log, deferWrite bool) []syncPoint {
	pts := c.points[:0]
	for _, l := range logs {
		if p, ok, _ := l.beginSync(deferWrite); ok {
			pts = append(pts, p)
		}
	}
	return pts
}

// syncPointsVolume is syncVolume for points already begun.
func (c *Committer) syncPointsVolume(pts []syncPoint, vol vfs.Volume) {
	if len(pts) == 0 && (c.jrn == nil || !c.jrn.live()) {
		return
	}
	writeTaken(pts)
	err := c.timedSync(vol.Sync)
	if err != nil {
		c.log.Error("volume sync failed; the unsynced tails of the logs it covered are lost", "logs", len(pts), "err", err)
		if c.jrn != nil && c.jrn.live() {
			c.failLiveJournal(err)
		}
	} else if c.jrn != nil && c.jrn.live() {
		// Until the journal's records are dead, none may be acknowledged:
		// after a failed journal sync some may be for bytes the logs
		// dropped, which a replay would write back.
		if err = c.jrn.retire(); err != nil {
			c.log.Error("commit journal could not be retired; the round's logs drop their unsynced tails", "err", err)
		}
	}
	c.endPoints(pts, err)
}

// endPoints records the outcome of a round's flush for each of its points
// (a point whose held bytes could not be written fails with that error).
func (c *Committer) endPoints(pts []syncPoint, err error) {
	var appends int64
	for _, p := range pts {
		appends += p.appends
		perr := err
		if perr == nil {
			perr = p.werr
		}
		p.log.endSync(p, perr, true)
	}
	if err == nil && len(pts) > 0 {
		c.metrics.groupCommit.Observe(float64(appends))
		c.metrics.roundLogs.Observe(float64(len(pts)))
	}
	clear(pts)
	c.points = pts[:0]
}

// defaultJournalMinLogs is how many logs a round covers at least to go
// through the journal. A round over a few busy logs carries much data per log, so
// its volume sync costs little more than the journal's would, while the
// journal writes every byte twice and its background syncs of large halves
// delay the rounds behind them: at 4 and 16 partitions under the 4-producer
// load it lost 5-11 % of the records/s and doubled p99 (docs/scale.md).
//
// While the journal holds live records, though, every round over several
// logs goes through it: a volume sync would write back every file the
// journal's rounds wrote since its last retirement. At 1,000 partitions an
// eighth of the rounds (those over fewer logs) took such a sync, 69 ms
// each against 12 ms for a journal round. (Below saturation the halves
// then fill and retire in bursts; journalWritebackAge spreads their
// writeback.)
const defaultJournalMinLogs = 64

// syncJournal makes the round's logs durable through the journal: their
// new bytes appended to it and one sync of it. A round the journal cannot
// serve (no room left, a log's bytes unreadable) uses a volume sync, which
// retires the journal.
func (c *Committer) syncJournal(logs []*Log, vol vfs.Volume) {
	c.acquire()
	defer c.release()
	pts := c.beginPoints(logs, true)
	if len(pts) == 0 {
		return
	}
	j := c.jrn
	rels := c.rels[:0]
	var need int64
	for _, p := range pts {
		rel, err := filepath.Rel(c.dir, p.seg.logPath)
		if err == nil && !filepath.IsLocal(rel) {
			err = fmt.Errorf("%s is outside %s", p.seg.logPath, c.dir)
		}
		if err != nil {
			c.log.Warn("commit journal cannot serve the round; syncing the volume", "err", err)
			c.syncPointsVolume(pts, vol)
			return
		}
		rels = append(rels, rel)
		need += recordSize(rel, p.end-p.from)
	}
	c.rels = rels[:0]
	full, ok := j.room(need)
	if !ok {
		// The other half is not retired yet, or the round is larger than
		// a half: this round's volume sync retires both.
		c.syncPointsVolume(pts, vol)
		return
	}
	if full != 0 {
		c.retireAsync(j, vol, full+1)
	}
	j.begin()
	for i, p := range pts {
		if err := j.add(rels[i], p.seg.f, p.from, p.end-p.from, p.mem.bytes()); err != nil {
			c.log.Warn("commit journal cannot serve the round; syncing the volume", "err", err)
			c.syncPointsVolume(pts, vol)
			return
		}
	}
	// The logs' held bytes go to their files while the journal syncs:
	// the round's records already hold them.
	written := make(chan bool, 1)
	go func() { written <- writeTaken(pts) }()
	err := c.timedSync(j.commit)
	failedWrite := !<-written
	if err != nil {
		c.log.Error("commit journal sync failed; the unsynced tails of the logs it covered are lost", "logs", len(pts), "err", err)
		c.clearFailedRound(vol)
	} else if failedWrite {
		// The records are durable, but logs that could not write their
		// held bytes fail the round and cut their tails.
		c.retireOrFail(vol, "a failed segment write")
	}
	var kicks []writebackKick
	if err == nil {
		kicks = c.pickKicks(pts)
	}
	c.endPoints(pts, err)
	// After the round's appenders are released: the kernel writes these
	// ranges back now, in pieces of at least journalWritebackBytes, rather
	// than all at once in the half's volume sync.
	for _, k := range kicks {
		if ws, ok := k.seg.f.(vfs.WritebackStarter); ok {
			_ = ws.StartWriteback(k.from, k.to-k.from)
		}
	}
	clear(kicks)
	c.kicks = kicks[:0]
}

// pickKicks chooses the ranges of a successful journal round's segments
// whose writeback the round starts: a log's journaled bytes once they reach
// journalWritebackBytes, or once they are journalWritebackAge old (at most
// an eighth of the round's logs, and at least minAgedKicks, of those).
func (c *Committer) pickKicks(pts []syncPoint) []writebackKick {
	kicks := c.kicks[:0]
	now := time.Now()
	aged := max(minAgedKicks, len(pts)/8)
	for _, p := range pts {
		if p.seg.kickedAt.IsZero() {
			p.seg.kickedAt = now // the age of its bytes counts from here
		}
		n := p.end - p.seg.kicked
		full := n >= journalWritebackBytes
		old := n > 0 && aged > 0 && now.Sub(p.seg.kickedAt) >= journalWritebackAge
		if !full && !old {
			continue
		}
		if !full {
			aged--
		}
		kicks = append(kicks, writebackKick{p.seg, p.seg.kicked, p.end})
		p.seg.kicked, p.seg.kickedAt = p.end, now
	}
	return kicks
}

// writeTaken writes the held bytes that beginSync took without writing
// (syncPoint.unwritten) to their segments; false when a write failed
// (that point's werr).
func writeTaken(pts []syncPoint) bool {
	ok := true
	for i := range pts {
		p := &pts[i]
		if p.unwritten == nil {
			continue
		}
		if _, err := p.seg.f.WriteAt(p.mem.b, p.from); err != nil {
			p.werr = fmt.Errorf("write %s: %w", p.seg.logPath, err)
			ok = false
		}
		close(p.unwritten)
		p.unwritten = nil
	}
	return ok
}

// retireOrFail retires the journal with a volume sync, so that no replay
// finds records of a failed round (why) whose logs will write other bytes
// where they point; when that fails too, the journal is failed for good
// (jrnFailed).
func (c *Committer) retireOrFail(vol vfs.Volume, why string) {
	err := vol.Sync()
	if err == nil {
		err = c.jrn.retire()
	}
	if err != nil {
		c.jrnFailed.Store(true)
		c.log.Error("commit journal could not be retired after "+why+"; no write to an fsync=always topic is acknowledged any more: restart Eddy once the disk is fixed", "err", err)
	}
}

// journalWritebackBytes is how many bytes a log's journal rounds gather
// before the kernel is asked to start writing them back to the log's file.
const journalWritebackBytes = 64 << 10

// journalWritebackAge is how long a log's journaled bytes wait before a
// round may start their writeback however few they are, so a half's
// background volume sync finds little of a slow log's bytes to write
// instead of everything since the previous half: at 200 k records/s over
// 1,000 partitions that sync's burst set p99.9 (149-168 ms against 84-99
// with these kicks). A round starts at most an eighth of its logs' (and
// at least minAgedKicks) such kicks: each is a writeback of its own, and
// at 10,000 partitions one per log each second cost a quarter of the
// records/s.
const journalWritebackAge = time.Second

// minAgedKicks is how many kicks of old bytes any round may start.
const minAgedKicks = 16

// writebackKick is a range of a segment whose writeback a journal round
// starts.
type writebackKick struct {
	seg      *segment
	from, to int64
}

// clearFailedRound makes sure no replay finds the records of a round whose
// journal sync failed (the logs will write other bytes where they point):
// it zeroes them, or failing that retires the epoch (retireOrFail).
func (c *Committer) clearFailedRound(vol vfs.Volume) {
	if c.jrn.scrub() != nil {
		c.retireOrFail(vol, "a failed journal sync")
	}
}

// retireAsync retires the journal's epochs below upTo in the background:
// a volume sync makes every file durable, then the header says so. The
// journal's other half takes the rounds meanwhile.
func (c *Committer) retireAsync(j *journal, vol vfs.Volume, upTo uint64) {
	c.bg.Add(1)
	done := make(chan struct{})
	j.retiring = done
	go func() {
		defer c.bg.Done()
		defer close(done)
		// No fsync slot: the round's leader holds one and may wait for this
		// sync (journal.room); at most one of these runs at a time.
		if err := c.timedSync(vol.Sync); err != nil {
			c.failLiveJournal(err)
			return
		}
		if err := j.setLiveFrom(upTo); err != nil {
			c.jrnFailed.Store(true)
			c.log.Error("commit journal half could not be retired; no write to an fsync=always topic is acknowledged any more: restart Eddy once the disk is fixed", "err", err)
		}
	}()
}

// failLiveJournal fails the journal for good after a volume sync failed
// while it held records: the partition files may have lost acknowledged
// bytes that only the journal holds, which a restart replays.
func (c *Committer) failLiveJournal(err error) {
	if c.jrnFailed.Swap(true) {
		return
	}
	c.log.Error("volume sync failed while the commit journal held acknowledged records; no write to an fsync=always topic is acknowledged any more: restart Eddy to replay them", "err", err)
}

// errJournalFailed is what appenders get once the journal has failed for
// good (Committer.jrnFailed).
var errJournalFailed = errors.New("commit journal failed and could not be cleared: writes are no longer acknowledged; restart Eddy once the disk is fixed")

// journalFailed reports whether the journal has failed for good.
func (c *Committer) journalFailed() bool { return c.jrnFailed.Load() }

// syncPoint is what one flush of a log covers: the active segment from
// from up to end, offsets below next, appends writes.
type syncPoint struct {
	log     *Log
	seg     *segment
	next    int64
	from    int64 // where the active segment's durable bytes end
	end     int64
	appends int64
	// mem holds the bytes from from to end when the log held them all
	// (held.go); the flush owns it and endSync pools it.
	mem *heldBuf
	// unwritten, when not nil, says mem is not written to seg yet: the
	// round writes it (writeTaken), then closes unwritten, which is the
	// log's mu.writing meanwhile.
	unwritten chan struct{}
	werr      error // why writing mem failed
}

// beginSync locks the log's syncMu and snapshots what a flush started now
// covers, writing the log's held bytes to its file first, or, with
// deferWrite when they are all the flush covers, handing them to the
// flush to write (syncPoint.unwritten). ok is false when there is nothing
// to flush (syncMu is then released); err says why not when it is an
// error (closed, or an earlier fsync failure still to be repaired). A true
// ok must be followed by endSync.
func (l *Log) beginSync(deferWrite bool) (p syncPoint, ok bool, err error) {
	l.syncMu.Lock()
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case l.mu.closed:
		err = ErrClosed
	case l.mu.syncErr != nil:
		err = l.mu.syncErr
	case l.mu.next <= l.mu.dur:
	default:
		a := l.activeLocked()
		p = syncPoint{log: l, seg: a, next: l.mu.next, from: l.mu.durPos, end: a.size, appends: l.mu.pendingAppends}
		covers := l.mu.held != nil && l.mu.heldAt == l.mu.durPos
		if covers && deferWrite {
			p.mem, p.unwritten = l.mu.held, make(chan struct{})
			l.mu.held, l.mu.writing = nil, p.unwritten
			return p, true, nil
		}
		mem, werr := l.takeHeldLocked()
		if werr != nil {
			// No round is flushing the log now, so no journal record
			// names the bytes this loses.
			err = l.failSyncLocked(werr)
			break
		}
		if covers {
			p.mem = mem
		} else {
			putHeld(mem)
		}
		return p, true, nil
	}
	l.syncMu.Unlock()
	return syncPoint{}, false, err
}

// endSync records the outcome of the flush that began at p: on success it
// moves the durable end (and, under SyncAlways, the high watermark); on
// failure the unsynced tail is considered lost and the next Write truncates
// back to the durable end. shared says the flush was part of a commit round
// over several logs. It releases syncMu.
func (l *Log) endSync(p syncPoint, err error, shared bool) error {
	defer l.syncMu.Unlock()
	putHeld(p.mem)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.mu.writing = nil
	a := p.seg
	if err == nil && l.committer.journalFailed() {
		err = errJournalFailed
	}
	if err != nil {
		return l.failSyncLocked(fmt.Errorf("fsync %s: %w", a.logPath, err))
	}
	if a == l.activeLocked() && p.next > l.mu.dur {
		l.noteRoundLocked(p.end-l.mu.durPos, shared)
		l.mu.pendingAppends -= p.appends
		l.mu.dur, l.mu.durPos = p.next, p.end
		if l.mu.opts.Sync == SyncAlways {
			l.mu.hw, l.mu.hwPos = p.next, p.end
		}
		// Index entries for the now-durable bytes: written, not fsynced
		// (index files are derived; recovery validates them), a page of
		// entries at a time. Writing them every round would dirty two more
		// files per log for the next flush: a volume sync writes back every
		// dirty file. Recovery scans the log after the last entry on disk,
		// so the lag costs a crash restart at most a few MiB of scanning.
		a.imu.Lock()
		if a.idxBad || len(a.idx)-a.idxDone >= indexFlushBytes {
			if err := a.flushIndexUpTo(p.end, false); err != nil {
				l.logger().Warn("index write failed; it will be rewritten", "segment", a.idxPath, "err", err)
			}
		}
		a.imu.Unlock()
	}
	return nil
}

// syncOnce fsyncs the active segment up to the current end and records the
// outcome (see endSync).
func (l *Log) syncOnce() error { return l.syncOnceIn(false) }

// syncOnceIn is syncOnce as part of a commit round that flushes several
// logs (shared) or this log alone.
func (l *Log) syncOnceIn(shared bool) error {
	p, ok, err := l.beginSync(false)
	if !ok {
		return err
	}
	start := time.Now()
	err = p.seg.f.Sync()
	l.metrics.fsync.Observe(time.Since(start).Seconds())
	if err == nil {
		l.metrics.groupCommit.Observe(float64(p.appends))
	}
	return l.endSync(p, err, shared)
}

// QueueSync queues the log for the next commit round when offsets below
// next are not durable yet, under SyncAlways, without waiting. A caller
// about to wait on several logs (a produce request spanning partitions)
// queues them all first, so one round flushes all of them and the
// WaitDurable calls that follow find their offsets durable.
func (l *Log) QueueSync(next int64) {
	l.mu.RLock()
	need := l.mu.opts.Sync == SyncAlways && !l.mu.closed && l.mu.dur < next
	l.mu.RUnlock()
	if need {
		l.committer.enqueue(l, next)
	}
}

// WaitDurable blocks until every offset below next is fsynced, under
// SyncAlways; under other policies it returns at once. If an fsync fails it
// returns that error: the unsynced tail is lost and the producer must retry.
func (l *Log) WaitDurable(next int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.mu.opts.Sync != SyncAlways {
		if l.mu.closed {
			return ErrClosed
		}
		return nil
	}
	epoch := l.mu.failEpoch
	for l.mu.dur < next {
		switch {
		case l.mu.failEpoch != epoch || l.mu.syncErr != nil:
			if l.mu.syncErr != nil {
				return l.mu.syncErr
			}
			return fmt.Errorf("fsync failed; offsets from %d were lost", l.mu.dur)
		case l.mu.closed:
			return ErrClosed
		case next > l.mu.next:
			return fmt.Errorf("offset %d was never written or was lost (log end %d)", next, l.mu.next)
		}
		l.mu.Unlock()
		l.committer.waitRound(l, next)
		l.mu.Lock()
	}
	return nil
}
func (l *Log) startFlusher() {
	l.mu.RLock()
	interval := l.mu.opts.Sync == SyncInterval && !l.mu.closed
	period := l.mu.opts.SyncInterval
	l.mu.RUnlock()
	if !interval {
		return
	}
	l.flusher.Lock()
	defer l.flusher.Unlock()
	if l.flusher.quit != nil {
		return
	}
	l.flusher.quit = make(chan struct{})
	l.flusher.done = make(chan struct{})
	go func(quit, done chan struct{}) {
		defer close(done)
		t := time.NewTicker(period)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-t.C:
				l.committer.acquire()
				err := l.syncOnce()
				l.committer.release()
				if err == ErrClosed {
					return // closed while a Reconfigure restarted the flusher
				}
				if err != nil {
					l.logger().Error("interval fsync failed", "err", err)
				}
			}
		}
	}(l.flusher.quit, l.flusher.done)
}

func (l *Log) stopFlusher() {
	l.flusher.Lock()
	defer l.flusher.Unlock()
	if l.flusher.quit == nil {
		return
	}
	close(l.flusher.quit)
	<-l.flusher.done
	l.flusher.quit, l.flusher.done = nil, nil
}
