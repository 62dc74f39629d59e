// Package membudget is a byte semaphore for memory that requests hold while
// they arrive and until they are answered: Kafka produce frames and HTTP
// request bodies take their bytes from one as the bytes arrive, so a
// client that claims a large size and then trickles costs only what it
// sent, and the total held by all clients is bounded.
//
// Usage:
//
//	b := membudget.New(256<<20, 100<<20)
//	t := b.Begin()                   // a body starts arriving
//	n, err := b.Acquire(ctx, t, 64<<10) // before reading the next chunk
//	...
//	b.End(t)                         // all of it arrived (or gave up)
//	b.Release(total)                 // once answered
package membudget

import (
	"context"
	"slices"
	"sync"
)

// Budget is a semaphore of bytes shared by every connection: produce
// frames take their bytes from it as they arrive (not for the size their
// frame prefix claims) and give them back once their response is written,
// so at most cap bytes of produce data are in memory, read or waiting on
// fsync, server-wide.
//
// A frame still arriving holds part of the budget while it waits for more,
// so arrivals could hold it all between them and wait for each other
// forever. To rule that out the oldest arrival may fill the whole budget,
// while every other arrival leaves reserve bytes (the largest possible
// frame) free: whichever arrival becomes the oldest then always finds room
// for its whole frame once completed requests give their bytes back.
// Frames whose bytes have all arrived (ticket 0) take from the whole
// budget.
type Budget struct {
	mu      sync.Mutex
	cap     int64
	reserve int64
	used    int64
	peak    int64
	// arriving holds the tickets of frames being read, oldest first.
	arriving []uint64
	next     uint64
	// changed is closed (and replaced) whenever bytes are released or
	// the oldest arrival changes; waiters then look again.
	changed chan struct{}
	// waiting counts goroutines waiting on changed.
	waiting int
}

// New returns a Budget of capacity bytes; reserve is the largest single
// request (see Budget).
func New(capacity, reserve int64) *Budget {
	return &Budget{cap: capacity, reserve: min(max(reserve, 0), capacity), changed: make(chan struct{})}
}

// Begin registers a frame that starts arriving and returns its ticket.
func (b *Budget) Begin() uint64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	b.next++
	t := b.next
	b.arriving = append(b.arriving, t)
	b.mu.Unlock()
	return t
}

// End unregisters an arrival (complete or abandoned); its bytes stay
// held until released.
func (b *Budget) End(ticket uint64) {
	if b == nil || ticket == 0 {
		return
	}
	b.mu.Lock()
	if i := slices.Index(b.arriving, ticket); i >= 0 {
		b.arriving = slices.Delete(b.arriving, i, i+1)
		if i == 0 {
			b.broadcastLocked()
		}
	}
	b.mu.Unlock()
}

// Acquire takes n bytes for the frame with the given ticket (0: a frame
// already read in full), clamped to the capacity. It returns the amount to
// release.
func (b *Budget) Acquire(ctx context.Context, ticket uint64, n int64) (int64, error) {
	if b == nil || b.cap <= 0 || n <= 0 {
		return 0, nil
	}
	n = min(n, b.cap)
	for {
		b.mu.Lock()
		limit := b.cap
		if ticket != 0 && len(b.arriving) > 0 && b.arriving[0] != ticket {
			limit -= b.reserve
		}
		if b.used+n <= limit {
			b.used += n
			b.peak = max(b.peak, b.used)
			b.mu.Unlock()
			return n, nil
		}
		ch := b.changed
		b.waiting++
		b.mu.Unlock()
		var err error
		select {
		case <-ch:
		case <-ctx.Done():
			err = ctx.Err()
		}
		b.mu.Lock()
		b.waiting--
		b.mu.Unlock()
		if err != nil {
			return 0, err
		}
	}
}

// Release gives back n bytes taken with Acquire.
func (b *Budget) Release(n int64) {
	if b == nil || n == 0 {
		return
	}
	b.mu.Lock()
	b.used -= n
	b.broadcastLocked()
	b.mu.Unlock()
}

func (b *Budget) broadcastLocked() {
	if b.waiting == 0 {
		return
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// InUse is the number of bytes held.
func (b *Budget) InUse() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// Peak is the most ever held at once.
func (b *Budget) Peak() int64 {
	if b == nil {
		return 0
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.peak
}
