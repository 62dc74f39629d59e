package commitlog

import (
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// Zero-filling ahead (SyncAlways logs on files that offer vfs.ZeroFiller).
//
// An append that grows a file changes its size, so the fdatasync that makes
// it durable must also commit the filesystem journal; on ext4 that commit
// costs about as much as the data itself for a 16 KiB batch. Writing into
// blocks that already hold durable zeros changes nothing but data, so the
// fdatasync is a data write and a device cache flush. The active segment of
// a SyncAlways log is therefore kept zero-filled ahead of its end, as
// PostgreSQL fills new WAL files with zeros (wal_init_zero): a background
// goroutine writes the next range (vfs.ZeroFiller: through the page cache,
// starting its writeback as it goes, so the pages stay cached for appends
// that end mid-page and commit rounds find little of it dirty) and
// fdatasyncs it, while appends go on below it.
//
// The file is then longer than its batches. Nothing reads past the
// segment's size; sealing and closing the segment truncate the zeros away
// (durably, before a new segment or the clean marker exists); after a crash
// recovery scans the tail and drops the zeros like any invalid tail.
//
// How far ahead: as much as the segment already holds, between
// minZeroStep and Options.PreallocateBytes, so that a quiet partition
// spends at most about its own size in zeros, and a busy one fills a step
// at a time while it appends the previous one.
//
// Only while fsyncs are small. Zeros cost a second write of every byte
// (memory bandwidth, CPU, device bandwidth), while what they save is one
// journal commit per fsync: a win when a commit round makes a few hundred
// KiB durable (fsync=always with small produce requests, event-store
// appends), a loss when each round carries a megabyte-sized produce
// request, which is bandwidth-bound. So a log whose rounds average more
// than maxZeroRoundBytes reserves blocks (Allocator) as under the other
// policies instead, and returns to zero-filling when rounds shrink again.
// Measured on this project's VM (git log -p docs/benchmarks.md): 16 KiB appends
// shared by 16 appenders fsync about twice as fast into zeros, while a
// single producer of 1 MB requests lost 30 % of its throughput to them.

// minZeroStep is the smallest zero-fill.
const minZeroStep = 64 << 10

// maxZeroRoundBytes is the average bytes per fsync above which a log stops
// zero-filling ahead.
const maxZeroRoundBytes = 256 << 10

// Only while fsyncs are the log's own. A commit round that covers several
// logs makes them durable together (committer.go): one volume sync, or
// parallel fsyncs whose journal commits the filesystem merges, so zeros save
// such a round little and cost every log a second write of its bytes and an
// fdatasync per fill. With a thousand partitions written at once, the fills
// took most of the broker's CPU and their dirty pages pushed the volume past
// MaxVolumeDirty, turning every round into a thousand separate fsyncs. So a
// log zero-fills only after minSoloRounds fsyncs in a row that flushed it
// alone; one shared round stops it.

// minSoloRounds is how many consecutive fsyncs of a log alone it takes
// before the log zero-fills ahead; maxSoloRounds caps the count.
const (
	minSoloRounds = 2
	maxSoloRounds = 8
)

// noteRoundLocked feeds the size of one successful fsync of the active segment
// into the log's moving average (weight 1/8), and whether it was part of a
// round over several logs into the count of solo rounds. mu must be held.
func (l *Log) noteRoundLocked(bytes int64, shared bool) {
	if shared {
		l.mu.soloRounds = 0
	} else {
		l.mu.soloRounds = min(l.mu.soloRounds+1, maxSoloRounds)
	}
	if bytes <= 0 {
		return
	}
	l.mu.roundBytes += (bytes - l.mu.roundBytes) / 8
}

// zeroFill is one background FillZeros of [from, to).
type zeroFill struct {
	from, to int64
	done     chan struct{}
	err      error // set before done is closed
}

// settleFill runs before every append that ends at need: it collects the
// segment's finished fill and waits for a running one only if the append
// would reach it. mu must be held.
func (l *Log) settleFill(a *segment, need int64) {
	f := a.fill
	if f == nil {
		return
	}
	select {
	case <-f.done:
	default:
		if need <= f.from {
			return
		}
		<-f.done // the append would write where zeros are being written
	}
	l.finishFill(a)
}

// zeroAheadLocked keeps the active segment zero-filled ahead of an append that
// ends at need, after settleFill: it starts the next fill when less than
// half a step of zeros is left; while the log's fsyncs are large it
// reserves blocks instead, and while they are small but shared with other
// logs (or too few to tell) it does neither: appends grow the file, and the
// round's one sync commits that. mu must be held.
func (l *Log) zeroAheadLocked(a *segment, zf vfs.ZeroFiller, need int64) {
	if a.fill != nil || a.noAlloc {
		return // settleFill left a fill running below which the append stays
	}
	if l.mu.roundBytes > maxZeroRoundBytes {
		if need > a.alloc {
			l.preallocateLocked(a, need) // reserves past the zeros, if any
		}
		return
	}
	if l.mu.soloRounds < minSoloRounds {
		return
	}
	step := min(l.mu.opts.PreallocateBytes, max(minZeroStep, a.size))
	if a.alloc-need >= step/2 {
		return
	}
	from := roundUp(max(a.alloc, need), vfs.ZeroFillAlign)
	to := min(from+step, l.mu.opts.SegmentBytes) &^ (vfs.ZeroFillAlign - 1)
	if to <= from {
		return
	}
	f := &zeroFill{from: from, to: to, done: make(chan struct{})}
	a.fill = f
	l.metrics.zeroFilled.Add(float64(to - from))
	go func() {
		f.err = zf.FillZeros(f.from, f.to-f.from)
		close(f.done)
	}()
}

// finishFill records the outcome of the segment's finished fill. A failed
// fill (a full disk) stops zero-filling for the segment; appends then grow
// the file as without it. Either way the file may now extend to the fill's
// end, so alloc says where releaseAlloc must cut. mu must be held.
func (l *Log) finishFill(a *segment) {
	f := a.fill
	a.fill = nil
	a.alloc = max(a.alloc, f.to)
	a.zeroed = true
	if f.err != nil {
		a.noAlloc = true
		l.logger().Warn("cannot zero-fill ahead of appends; appending without", "segment", a.logPath, "err", f.err)
	}
}

// waitFill waits for the segment's running fill, before anything truncates
// or closes the file. mu must be held (or the log otherwise unshared).
func (l *Log) waitFill(a *segment) {
	if a.fill != nil {
		<-a.fill.done
		l.finishFill(a)
	}
}

func roundUp(n, to int64) int64 { return (n + to - 1) / to * to }
