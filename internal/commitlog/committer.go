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
	// Parallelism is how many fsyncs of different logs may run at once;
	// default 8. Devices with deep queues and journaling filesystems batch
	// concurrent fsyncs, so parallel ones finish in about the time of one.
	Parallelism int
}

// Committer performs group commit for every log of one data directory:
// a pool of workers fsyncs logs that have waiters, each log at most once at
// a time, so all appenders that wrote to a log while its previous fsync ran
// share the next one. There are no rounds: a worker takes the next queued
// log as soon as it is free. Safe for concurrent use.
type Committer struct {
	metrics *metrics
	log     *slog.Logger

	mu     sync.Mutex
	cond   *sync.Cond // signalled when queue grows or closed is set
	queue  []*Log     // logs with waiters, FIFO from head
	head   int
	closed bool

	wg sync.WaitGroup
}

// NewCommitter starts the fsync workers; stop them with Close after every
// log using the committer is closed.
func NewCommitter(opts CommitterOptions) *Committer {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Parallelism <= 0 {
		opts.Parallelism = 8
	}
	c := &Committer{metrics: newMetrics(opts.Registerer), log: opts.Logger}
	c.cond = sync.NewCond(&c.mu)
	c.wg.Add(opts.Parallelism)
	for i := 0; i < opts.Parallelism; i++ {
		go c.worker()
	}
	return c
}

// Close stops the workers after they drain the queue. Later WaitDurable
// calls on logs using it fsync inline. Close is idempotent.
func (c *Committer) Close() error {
	c.mu.Lock()
	c.closed = true
	c.cond.Broadcast()
	c.mu.Unlock()
	c.wg.Wait()
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
	c.cond.Signal()
	return true
}

func (c *Committer) worker() {
	defer c.wg.Done()
	c.mu.Lock()
	for {
		for c.head == len(c.queue) && !c.closed {
			c.cond.Wait()
		}
		if c.head == len(c.queue) {
			c.mu.Unlock()
			return
		}
		l := c.queue[c.head]
		c.queue[c.head] = nil
		c.head++
		switch {
		case c.head == len(c.queue):
			c.queue, c.head = c.queue[:0], 0
		case c.head > 1024 && c.head > len(c.queue)/2:
			n := copy(c.queue, c.queue[c.head:])
			clear(c.queue[n:])
			c.queue, c.head = c.queue[:n], 0
		}
		c.mu.Unlock()
		l.queued.Store(false)
		if err := l.syncOnce(); err != nil && err != ErrClosed {
			c.log.Error("group commit fsync failed", "log", l.dir, "err", err)
		}
		c.mu.Lock()
	}
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
