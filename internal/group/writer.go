package group

import (
	"sync"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// writer makes group writes durable with group commit and no added delay:
// while one meta transaction (one fsync) is in flight, the writes that
// arrive queue up and all go in the next transaction. A lone commit
// therefore costs one fsync, not meta.Batch's fixed coalescing delay, and
// concurrent commits of many groups still share fsyncs.
//
// There is no writer goroutine: the caller that finds the writer idle
// becomes the leader, writes one batch (which holds its own request) and
// hands leadership to the oldest waiting caller, so no caller ever writes
// more than one batch for others.
type writer struct {
	store *meta.Store

	mu      sync.Mutex
	queue   []*writeReq
	running bool
}

type writeReq struct {
	fn      func(tx *meta.Tx) error
	done    chan error
	promote chan struct{}
}

// maxWritesPerTx bounds one transaction so a flood cannot make one fsync
// carry an unbounded amount of work.
const maxWritesPerTx = 1024

// write runs fn in a durable transaction shared with concurrent writes and
// returns once it is fsynced. fn must only write; if a shared transaction
// fails, each of its functions is retried alone so that one failure does
// not fail the others.
func (w *writer) write(fn func(tx *meta.Tx) error) error {
	r := &writeReq{fn: fn, done: make(chan error, 1), promote: make(chan struct{}, 1)}
	w.mu.Lock()
	w.queue = append(w.queue, r)
	lead := !w.running
	w.running = true
	w.mu.Unlock()
	if !lead {
		select {
		case err := <-r.done:
			return err
		case <-r.promote:
		}
	}
	w.writeBatch()
	return <-r.done
}

// writeBatch writes the requests at the head of the queue (the leader's
// own is first) and passes leadership on.
func (w *writer) writeBatch() {
	w.mu.Lock()
	n := min(len(w.queue), maxWritesPerTx)
	batch := w.queue[:n:n]
	w.queue = append([]*writeReq(nil), w.queue[n:]...)
	w.mu.Unlock()

	err := w.store.Update(func(tx *meta.Tx) error {
		for _, r := range batch {
			if err := r.fn(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			r.done <- w.store.Update(r.fn)
		}
	} else {
		for _, r := range batch {
			r.done <- err
		}
	}

	w.mu.Lock()
	if len(w.queue) == 0 {
		w.running = false
	} else {
		w.queue[0].promote <- struct{}{}
	}
	w.mu.Unlock()
}
