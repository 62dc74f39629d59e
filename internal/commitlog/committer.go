package commitlog

import (
	"fmt"
	"log/slog"
	"runtime"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CommitterOptions configure a Committer.
type CommitterOptions struct {
	// Registerer receives the fsync metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives fsync failures; nil discards them.
	Logger *slog.Logger
	// Parallelism is how many logs may fsync at once; default 64. Devices
	// with deep queues and journaling filesystems batch concurrent fsyncs,
	// so parallel ones finish in about the time of one.
	Parallelism int
}

// Committer coordinates group commit for every log of one data directory.
//
// Group commit is leader-based: the first appender of a log that needs its
// bytes durable fsyncs the segment on its own goroutine (no hand-off to a
// background goroutine, so a lone producer pays one fsync and nothing more);
// appenders that write while that fsync runs wait, and the first of them
// leads the next fsync, which covers all of them. Each log is fsynced by at
// most one goroutine at a time. The Committer bounds how many logs of the
// data directory fsync at once (Parallelism), so thousands of partitions
// cannot pin thousands of OS threads in fsync, and owns the metrics. Safe
// for concurrent use.
type Committer struct {
	metrics *metrics
	log     *slog.Logger
	sem     chan struct{}
}

// NewCommitter returns a committer; Close it after every log using it is
// closed.
func NewCommitter(opts CommitterOptions) *Committer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 64
	}
	return &Committer{
		metrics: newMetrics(opts.Registerer),
		log:     opts.Logger,
		sem:     make(chan struct{}, opts.Parallelism),
	}
}

// Close releases the committer. It holds no goroutines, so Close only
// exists to keep the lifecycle explicit; it is idempotent.
func (c *Committer) Close() error { return nil }

func (c *Committer) acquire() { c.sem <- struct{}{} }
func (c *Committer) release() { <-c.sem }

// syncOnce fsyncs the active segment up to the current end and moves the
// durable end (and, under SyncAlways, the high watermark). On failure the
// unsynced tail is considered lost: the next Write truncates back to the
// durable end.
func (l *Log) syncOnce() error {
	l.syncMu.Lock()
	defer l.syncMu.Unlock()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return ErrClosed
	}
	if l.syncErr != nil {
		err := l.syncErr
		l.mu.Unlock()
		return err
	}
	a := l.active()
	next, end, appends := l.next, a.size, l.pendingAppends
	if next <= l.dur {
		l.mu.Unlock()
		return nil
	}
	l.mu.Unlock()

	start := time.Now()
	err := a.f.Sync()
	l.metrics.fsync.Observe(time.Since(start).Seconds())

	l.mu.Lock()
	defer l.cond.Broadcast()
	defer l.mu.Unlock()
	if err != nil {
		l.metrics.fsyncErrors.Inc()
		l.syncErr = fmt.Errorf("fsync %s: %w", a.logPath, err)
		l.failEpoch++
		return l.syncErr
	}
	l.metrics.groupCommit.Observe(float64(appends))
	if a == l.active() && next > l.dur {
		l.pendingAppends -= appends
		l.dur, l.durPos = next, end
		if l.opts.Sync == SyncAlways {
			l.hw, l.hwPos = next, end
		}
		// Index entries for the now-durable bytes: written, not fsynced
		// (index files are derived; recovery validates them).
		a.imu.Lock()
		if err := a.flushIndexUpTo(end, false); err != nil {
			l.log.Warn("index write failed; it will be rewritten", "segment", a.idxPath, "err", err)
		}
		a.imu.Unlock()
	}
	return nil
}

// WaitDurable blocks until every offset below next is fsynced, under
// SyncAlways; under other policies it returns at once. If an fsync fails it
// returns that error: the unsynced tail is lost and the producer must retry.
func (l *Log) WaitDurable(next int64) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.opts.Sync != SyncAlways {
		if l.closed {
			return ErrClosed
		}
		return nil
	}
	epoch := l.failEpoch
	for l.dur < next {
		switch {
		case l.failEpoch != epoch || l.syncErr != nil:
			if l.syncErr != nil {
				return l.syncErr
			}
			return fmt.Errorf("fsync failed; offsets from %d were lost", l.dur)
		case l.closed:
			return ErrClosed
		case next > l.next:
			return fmt.Errorf("offset %d was never written or was lost (log end %d)", next, l.next)
		}
		if !l.syncing {
			// Leader: fsync on this goroutine (no hand-off latency); the
			// appenders that write meanwhile wait for the next leader.
			l.syncing = true
			l.mu.Unlock()
			// Let appenders that are runnable (woken by the previous fsync)
			// write first, so this fsync covers them too.
			runtime.Gosched()
			l.committer.acquire()
			l.syncOnce()
			l.committer.release()
			l.mu.Lock()
			l.syncing = false
			l.cond.Broadcast()
			continue
		}
		l.cond.Wait()
	}
	return nil
}

func (l *Log) startFlusher() {
	l.mu.RLock()
	interval := l.opts.Sync == SyncInterval && !l.closed
	period := l.opts.SyncInterval
	l.mu.RUnlock()
	if !interval {
		return
	}
	l.flMu.Lock()
	defer l.flMu.Unlock()
	if l.flusherQuit != nil {
		return
	}
	l.flusherQuit = make(chan struct{})
	l.flusherDone = make(chan struct{})
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
					l.log.Error("interval fsync failed", "err", err)
				}
			}
		}
	}(l.flusherQuit, l.flusherDone)
}

func (l *Log) stopFlusher() {
	l.flMu.Lock()
	defer l.flMu.Unlock()
	if l.flusherQuit == nil {
		return
	}
	close(l.flusherQuit)
	<-l.flusherDone
	l.flusherQuit, l.flusherDone = nil, nil
}
