package commitlog

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// CommitterOptions configure a Committer.
type CommitterOptions struct {
	// Registerer receives the fsync metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives fsync failures; nil discards them.
	Logger *slog.Logger
	// Parallelism is how many logs one group-commit round fsyncs at once;
	// default 4. Devices with deep queues (NVMe) finish parallel fsyncs of
	// different files in about the time of one.
	Parallelism int
}

// Committer performs group commit for every log of one data directory: a
// single goroutine fsyncs each log that has waiters once per round, so all
// appenders that wrote while the previous round's fsync ran share the next
// one. Safe for concurrent use.
type Committer struct {
	metrics *metrics
	log     *slog.Logger

	mu     sync.Mutex
	queue  []*Log
	closed bool

	wake chan struct{}
	quit chan struct{}
	done chan struct{}

	work    chan *Log // to fsync workers
	workWG  sync.WaitGroup
	workers int
}

// NewCommitter starts a committer goroutine; stop it with Close after every
// log using it is closed.
func NewCommitter(opts CommitterOptions) *Committer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 4
	}
	c := &Committer{
		metrics: newMetrics(opts.Registerer),
		log:     opts.Logger,
		wake:    make(chan struct{}, 1),
		quit:    make(chan struct{}),
		done:    make(chan struct{}),
		work:    make(chan *Log, 1024),
		workers: opts.Parallelism,
	}
	for i := 1; i < c.workers; i++ {
		go c.worker()
	}
	go c.run()
	return c
}

// Close stops the goroutine after serving queued logs. Later WaitDurable
// calls on logs using it fsync inline. Close is idempotent.
func (c *Committer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.done
		return nil
	}
	c.closed = true
	c.mu.Unlock()
	close(c.quit)
	<-c.done
	return nil
}

// enqueue asks for an fsync of l; false means the committer is closed.
func (c *Committer) enqueue(l *Log) bool {
	if !l.queued.CompareAndSwap(false, true) {
		return true
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		l.queued.Store(false)
		return false
	}
	c.queue = append(c.queue, l)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *Committer) worker() {
	for l := range c.work {
		c.syncLog(l)
		c.workWG.Done()
	}
}

func (c *Committer) syncLog(l *Log) {
	if err := l.syncOnce(); err != nil && err != ErrClosed {
		c.log.Error("group commit fsync failed", "log", l.dir, "err", err)
	}
}

func (c *Committer) run() {
	defer close(c.done)
	defer close(c.work)
	var batch []*Log
	for {
		select {
		case <-c.wake:
		case <-c.quit:
			c.mu.Lock()
			batch, c.queue = c.queue, nil
			c.mu.Unlock()
			c.syncAll(batch)
			return
		}
		c.mu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.mu.Unlock()
		c.syncAll(batch)
		clear(batch)
	}
}

// syncAll fsyncs every queued log once, up to Parallelism at a time: the
// run goroutine does the first and hands the rest to the workers.
func (c *Committer) syncAll(batch []*Log) {
	for _, l := range batch {
		l.queued.Store(false)
	}
	if len(batch) == 0 {
		return
	}
	if c.workers > 1 && len(batch) > 1 {
		c.workWG.Add(len(batch) - 1)
		for _, l := range batch[1:] {
			c.work <- l // buffered; blocks only when workers fall far behind
		}
	}
	c.syncLog(batch[0])
	if c.workers <= 1 {
		for _, l := range batch[1:] {
			c.syncLog(l)
		}
	}
	c.workWG.Wait()
}

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
	a.imu.Lock()
	if len(a.idx)-a.idxDone > 0 || a.idxBad {
		// Index files are derived data: written here, fsynced only at roll
		// and Close; recovery validates them against the log.
		if err := a.flushIndex(false); err != nil {
			l.log.Warn("index write failed; it will be rewritten", "segment", a.idxPath, "err", err)
		}
	}
	a.imu.Unlock()
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
		if !l.committer.enqueue(l) {
			l.mu.Unlock()
			err := l.syncOnce()
			l.mu.Lock()
			if err != nil {
				return err
			}
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
				if err := l.syncOnce(); err != nil && err != ErrClosed {
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
