package kafka

import (
	"context"
	"sync"
)

// budget is a weighted semaphore of bytes: produce requests acquire their
// size before the reader reads on, and release it when their response is
// written, so at most cap bytes of produce data wait on fsync server-wide.
// Waiters are served first-come first-served so a large request is not
// starved by small ones.
type budget struct {
	mu      sync.Mutex
	cap     int64
	used    int64
	peak    int64
	waiters []*budgetWaiter
}

type budgetWaiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(capacity int64) *budget { return &budget{cap: capacity} }

// acquire takes n bytes (clamped to the capacity so one huge request can
// still pass alone). It returns the amount to release.
func (b *budget) acquire(ctx context.Context, n int64) (int64, error) {
	if b == nil || b.cap <= 0 {
		return 0, nil
	}
	if n > b.cap {
		n = b.cap
	}
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.cap {
		b.used += n
		b.peak = max(b.peak, b.used)
		b.mu.Unlock()
		return n, nil
	}
	w := &budgetWaiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return n, nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted while we were giving up: give it back.
			b.mu.Unlock()
			b.release(n)
			return 0, ctx.Err()
		default:
		}
		for i, x := range b.waiters {
			if x == w {
				b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
				break
			}
		}
		b.grantLocked()
		b.mu.Unlock()
		return 0, ctx.Err()
	}
}

func (b *budget) release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.grantLocked()
	b.mu.Unlock()
}

func (b *budget) grantLocked() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.cap {
			return
		}
		b.used += w.n
		b.peak = max(b.peak, b.used)
		close(w.ready)
		b.waiters = b.waiters[1:]
	}
}

func (b *budget) inUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// peakBytes is the most ever held at once.
func (b *budget) peakBytes() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
