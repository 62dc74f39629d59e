package kafka

// Writing replies. A connection's replies leave in request order. Whoever
// makes the reply at the head of the queue ready writes it, and every
// ready reply behind it, on its own goroutine:
//
//   - the reader, for a reply its handler returned at once (metadata, a
//     fetch with data, a produce under fsync=never): no hand-off at all;
//   - a Defer goroutine (a parked fetch, a group wait), once its reply is
//     ready and everything before it is written;
//   - the connection's writer goroutine, for DeferInOrder replies (a
//     produce's durability wait): it runs their fn when they reach the
//     head, so the reader never blocks on an fsync.
//
// The writer goroutine therefore wakes only for DeferInOrder replies and at
// the end of the connection, not for every reply. At most one goroutine
// holds the write role (c.w.writing) at a time; the rest only queue or
// mark replies ready, under c.w.mu.

import (
	"errors"
	"fmt"
	"net"
	"runtime/debug"
	"sync"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// writeState is the reply queue and who is writing it.
type writeState struct {
	mu sync.Mutex
	// q holds the replies not yet written or dropped, in request order.
	q []*pending
	// writing is set while a goroutine holds the write role.
	writing bool
	// handoff is set when the role was passed to the writer goroutine
	// (an in-order reply reached the head).
	handoff bool
	// readerDone: the reader queues nothing more.
	readerDone bool
	// failed: the connection broke (write error, CloseConn reply, forced
	// shutdown); later replies are dropped unwritten.
	failed bool
	// forced: the server's forced shutdown; in-order fns are not run.
	forced bool
	// buf is the response encoding buffer, used by the role holder.
	buf []byte
	// partial is a reply a non-blocking attempt wrote only the start of
	// (rest is what is left); the writer goroutine finishes it first.
	partial *pending
	rest    net.Buffers
}

// enqueue queues p (after taking an in-flight slot) and, when its reply
// is ready and nothing is being written, writes it on the caller's
// goroutine. A Defer reply's goroutine starts here. With runInOrder the
// reader also runs a DeferInOrder fn itself when p is next in line: the
// reader passes it for a small request when no further request is already
// buffered, where a hand-off to the writer would cost more than the wait
// it saves (a lone produce at linger 0 waiting for its fsync).
func (c *conn) enqueue(p *pending, runInOrder bool) {
	c.slots <- struct{}{}
	c.w.mu.Lock()
	if c.w.failed {
		c.dropLocked(p)
		c.w.mu.Unlock()
		if cb := p.reply.callback; cb != nil {
			// Let it clean up: ctx is cancelled, so it answers (into
			// the dropped pending) at once.
			c.startCallback(p, cb)
		}
		return
	}
	p.ready = p.reply.later == nil && p.reply.inOrder == nil && p.reply.callback == nil
	c.w.q = append(c.w.q, p)
	if fn := p.reply.later; fn != nil {
		c.deferred.Add(1)
		go func() {
			defer c.deferred.Done()
			c.complete(p, c.callDeferred(p.api, fn))
		}()
	}
	cb := p.reply.callback
	if runInOrder && !c.w.writing && len(c.w.q) == 1 {
		c.w.writing = true
		c.drainLocked(true)
	} else {
		c.kickLocked()
	}
	if cb != nil {
		c.startCallback(p, cb)
	}
}

// startCallback calls a DeferCallback reply's fn with the done function
// that completes p; a panic in fn, or a deferred Reply passed to done,
// closes the connection.
func (c *conn) startCallback(p *pending, fn func(done func(Reply))) {
	done := func(r Reply) {
		if r.later != nil || r.inOrder != nil || r.callback != nil {
			r = CloseConn(errors.New("deferred handler returned Defer"))
		}
		c.completeFrom(p, r, false)
	}
	defer func() {
		if v := recover(); v != nil {
			c.s.log.Error("kafka deferred handler panic", "api", p.api.name, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			done(CloseConn(fmt.Errorf("handler panic: %v", v)))
		}
	}()
	fn(done)
}

// complete makes a Defer reply ready and writes it when it is at the head.
func (c *conn) complete(p *pending, r Reply) { c.completeFrom(p, r, true) }

// completeFrom makes a deferred reply ready. When it is at the head and
// nobody is writing, the caller writes it if own (a goroutine of this
// connection), or else hands the writing to the connection's writer
// goroutine: a DeferCallback's done runs on a producer's goroutine, which
// must not block on this client's socket.
func (c *conn) completeFrom(p *pending, r Reply, own bool) {
	c.w.mu.Lock()
	if p.dropped || p.ready {
		// Dropped (the connection failed), or already answered (a
		// DeferCallback's done called again).
		c.w.mu.Unlock()
		r.done()
		return
	}
	p.reply, p.ready = r, true
	c.holdUnsent(p)
	if !own && !c.w.writing && len(c.w.q) > 0 && c.w.q[0] == p && !c.w.failed {
		// Next in line, on a foreign goroutine: one non-blocking write
		// attempt (the socket almost always has room); what it cannot
		// write goes to the writer goroutine.
		c.w.writing = true
		c.popLocked()
		c.w.mu.Unlock()
		finished, ok := c.tryWrite(p)
		c.w.mu.Lock()
		switch {
		case !finished:
			c.w.partial = p
		case !ok:
			c.failLocked()
		}
		if c.w.partial != nil || (len(c.w.q) > 0 && (c.w.q[0].ready || c.w.q[0].reply.inOrder != nil)) || c.w.failed {
			c.w.handoff = true
			c.signalWriter()
		} else {
			c.w.writing = false
			if c.w.readerDone && len(c.w.q) == 0 {
				c.signalWriter()
			}
		}
		c.w.mu.Unlock()
		return
	}
	c.kickLocked()
}

// failLocked marks the connection broken: reading stops, later replies
// are dropped and their budgets returned as they come.
func (c *conn) failLocked() {
	if !c.w.failed {
		c.w.failed = true
		c.cancel()
		_ = c.nc.Close()
	}
}

// tryWrite makes one non-blocking attempt at writing p's reply (the caller
// holds the write role and popped p). finished reports that p is done
// with (written, or the write failed: ok=false); otherwise c.w.rest holds
// what is left to write, or is nil when nothing was attempted.
func (c *conn) tryWrite(p *pending) (finished, ok bool) {
	r := p.reply
	if r.close != nil || r.none || r.resp == nil {
		c.w.rest = nil
		return false, true
	}
	var bufs net.Buffers
	if fr, isFetch := r.resp.(*kmsg.FetchResponse); isFetch {
		if b, ok := appendFetchFrame(c.w.buf[:0], p.corr, fr); ok {
			bufs = b
			c.w.buf = b[0][:0]
		}
	}
	if bufs == nil {
		c.w.buf = appendResponse(c.w.buf[:0], p.corr, r.resp)
		bufs = net.Buffers{c.w.buf}
	}
	total := 0
	for _, b := range bufs {
		total += len(b)
	}
	n, err := writeNonBlocking(c.nc, bufs)
	if err != nil {
		c.debug("kafka write", "err", err)
		c.finishWrite(p, 0, false)
		return true, false
	}
	if n == total {
		c.finishWrite(p, int64(total), true)
		return true, true
	}
	// Keep what is left (it points into c.w.buf and the reply's pooled
	// buffers, both untouched until the writer finishes it).
	for n > 0 && len(bufs) > 0 {
		if n >= len(bufs[0]) {
			n -= len(bufs[0])
			bufs = bufs[1:]
			continue
		}
		bufs[0] = bufs[0][n:]
		n = 0
	}
	c.w.rest = bufs
	return false, true
}

// kickLocked looks at the head of the queue when nobody holds the write
// role: a ready reply is written by the caller, an in-order one is handed
// to the writer goroutine, a Defer one not yet ready is left to its
// goroutine. It unlocks c.w.mu.
func (c *conn) kickLocked() {
	if c.w.writing || len(c.w.q) == 0 {
		c.w.mu.Unlock()
		return
	}
	c.w.writing = true
	c.drainLocked(false)
}

// drainLocked writes ready replies from the head while holding the write
// role; asWriter is true on the writer goroutine, which also runs in-order
// fns (and on the reader when enqueue lets it). It gives the role up (or hands it to the writer goroutine) and
// unlocks c.w.mu.
func (c *conn) drainLocked(asWriter bool) {
	if p := c.w.partial; p != nil {
		// Only the writer goroutine gets here (partial is handed to it).
		c.w.partial = nil
		rest := c.w.rest
		c.w.rest = nil
		if c.w.forced || c.w.failed {
			c.dropLocked(p)
		} else {
			c.w.mu.Unlock()
			ok := true
			if rest == nil {
				ok = c.writeOne(p)
			} else {
				n, err := c.writeBufs(rest)
				if err != nil {
					c.debug("kafka write", "err", err)
				}
				c.finishWrite(p, n, err == nil)
				ok = err == nil
			}
			c.w.mu.Lock()
			if !ok {
				c.failLocked()
			}
		}
	}
	for len(c.w.q) > 0 {
		p := c.w.q[0]
		if c.w.forced {
			// A forced stop writes nothing more and waits for nobody.
			c.popLocked()
			c.dropLocked(p)
			continue
		}
		if !p.ready {
			// Run the head's in-order wait; if a Defer goroutine or a
			// callback will complete the head instead, run the first
			// in-order wait queued behind it, which does not wait for
			// that: a produce behind a fetch parked on the same
			// connection may be what makes the fetch's data durable.
			// Only the replies' writing keeps request order. A wait runs
			// even after a failure (not a forced stop), as a Defer
			// goroutine would: a produce's durability wait also wakes
			// parked fetches.
			run := p
			if p.reply.inOrder == nil {
				if run = c.blockedInOrderLocked(); run == nil {
					break
				}
			}
			if !asWriter {
				c.w.handoff = true
				c.signalWriter()
				c.w.mu.Unlock()
				return
			}
			c.w.mu.Unlock()
			r := c.callDeferred(run.api, run.reply.inOrder)
			c.w.mu.Lock()
			run.reply, run.ready = r, true
			continue
		}
		c.popLocked()
		if c.w.failed {
			c.dropLocked(p)
			continue
		}
		c.w.mu.Unlock()
		ok := c.writeOne(p)
		c.w.mu.Lock()
		if !ok {
			c.failLocked()
		}
	}
	c.w.writing = false
	if c.w.readerDone && len(c.w.q) == 0 {
		c.signalWriter()
	}
	c.w.mu.Unlock()
}

// blockedInOrderLocked returns the first DeferInOrder reply not yet run
// behind the head of the queue.
func (c *conn) blockedInOrderLocked() *pending {
	for _, p := range c.w.q[1:] {
		if !p.ready && p.reply.inOrder != nil {
			return p
		}
	}
	return nil
}

func (c *conn) popLocked() {
	c.w.q[0] = nil
	c.w.q = c.w.q[1:]
	if len(c.w.q) == 0 {
		c.w.q = c.w.q[:0:0]
	}
}

// dropLocked gives up p unwritten: its budget and slot are returned, and
// a Defer goroutine still running will only release its reply.
func (c *conn) dropLocked(p *pending) {
	p.dropped = true
	if p.ready {
		p.reply.done()
	}
	c.releaseHeld(p)
	<-c.slots
}

// writeOne writes p's reply (the caller holds the write role) and
// releases what p holds. It returns false when the connection must close.
func (c *conn) writeOne(p *pending) bool {
	r := p.reply
	switch {
	case r.close != nil:
		c.debug("kafka closing connection", "api", p.api.name, "reason", r.close)
		c.finishWrite(p, 0, false)
		return false
	case r.none || r.resp == nil:
		c.finishWrite(p, 0, true)
		return true
	}
	var n int64
	var err error
	c.w.buf, n, err = c.writeResponse(c.w.buf, p.corr, r.resp)
	if err != nil {
		c.debug("kafka write", "err", err)
	}
	c.finishWrite(p, n, err == nil)
	return err == nil
}

// finishWrite accounts for p's reply (n bytes written; ok=false when the
// write failed or the reply closes the connection) and releases what p
// holds.
func (c *conn) finishWrite(p *pending, n int64, ok bool) {
	if ok {
		c.s.metrics.bytesOut.Add(float64(n))
		c.s.metrics.observe(p.api, p.start)
	}
	if cap(c.w.buf) > 1<<20 {
		c.w.buf = nil
	}
	p.reply.done()
	c.releaseHeld(p)
	putFrame(p.frame)
	<-c.slots
}

// signalWriter wakes the writer goroutine (never blocks).
func (c *conn) signalWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// readerDone is called by the reader when it stops queueing.
func (c *conn) readerDone() {
	c.w.mu.Lock()
	c.w.readerDone = true
	c.w.mu.Unlock()
	c.signalWriter()
}

// writeLoop is the connection's writer goroutine: it runs in-order fns
// handed to it, and closes the connection once the reader stopped and
// every reply was written or dropped (after waiting for Defer goroutines,
// unless the server forced its shutdown).
func (c *conn) writeLoop() {
	defer c.s.connWG.Done()
	defer c.s.removeConn(c)
	defer c.s.shareConnClosed(c.info.ID)
	defer c.nc.Close()
	defer c.cancel()
	forced := c.s.forced
	for {
		select {
		case <-c.wake:
		case <-forced:
			forced = nil
			c.w.mu.Lock()
			c.w.forced, c.w.failed = true, true
			// Drop everything queued, unless a goroutine holds the
			// write role: it drops the rest itself when its current
			// write returns.
			if !c.w.writing {
				for len(c.w.q) > 0 {
					p := c.w.q[0]
					c.popLocked()
					c.dropLocked(p)
				}
			}
			c.w.mu.Unlock()
		}
		c.w.mu.Lock()
		if c.w.handoff {
			c.w.handoff = false
			c.drainLocked(true)
			c.w.mu.Lock()
		}
		done := c.w.readerDone && len(c.w.q) == 0 && !c.w.writing
		if done && c.w.forced {
			c.w.mu.Unlock()
			return
		}
		c.w.mu.Unlock()
		if done {
			c.deferred.Wait()
			return
		}
	}
}
