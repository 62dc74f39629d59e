package commitlog

import (
	"fmt"
	"math/bits"
	"sync"
)

// Held writes (SyncAlways logs).
//
// Under SyncAlways nothing reads a log's bytes past its durable end: the
// high watermark is that end, and a write is acknowledged only after a
// commit round made it durable. So a small write need not reach the file
// when it is made: the log copies it into a buffer (held) and the next
// flush of the log writes everything held with one pwrite, just before it
// syncs. With many partitions each takes several produce requests' batches
// between two of its rounds (14 on average at 1,000 partitions under the
// 4-producer load), and every pwrite costs a system call, a page-cache
// lookup and, on ext4, an inode timestamp update with its journal handle:
// the segment writes were a quarter of the broker's CPU there, for a few
// KiB each.
//
// A commit round through the journal also takes the held bytes for its
// record when they cover everything the round flushes for the log
// (syncPoint.mem), instead of reading them back from the file.
//
// Large writes (> holdMaxWrite) go to the file at once, as under the other
// policies, after what is held: they are few, and the kernel starts writing
// them back while the round gathers (startWritebackLocked). A log holds at
// most holdMaxBytes; more writes the held bytes out first. The buffers come
// from size-classed pools and go back after the flush, so an idle log holds
// none.
//
// A commit round through the journal writes the held bytes it takes while
// the journal syncs (syncPoint.unwritten): its records hold them already,
// and readers cannot see them before the round ends.
//
// Everything that needs the file to hold the log's whole size (a flush, a
// roll, Close, Reconfigure away from SyncAlways, Check) writes the held bytes
// first (writeHeldLocked), after waiting for a journal round's. When that
// write fails the operation fails and the bytes stay held; when the write
// that starts a flush fails, the flush fails: their appenders get the error
// and the next write cuts the log back to its durable end (repairLocked),
// which drops whatever is still held.

// holdMaxWrite is the largest write a SyncAlways log holds in memory
// rather than writing at once.
const holdMaxWrite = 64 << 10

// Held buffers come in powers of two from 1 << minHeldClass bytes to
// holdMaxBytes, the most a log holds before writing it out.
const (
	minHeldClass = 12
	maxHeldClass = 18
	holdMaxBytes = 1 << maxHeldClass
)

var heldPools [maxHeldClass - minHeldClass + 1]sync.Pool

// heldBuf is a pooled buffer of held bytes.
type heldBuf struct{ b []byte }

// heldClass is the pool index of a buffer of at least n bytes.
func heldClass(n int) int {
	return max(bits.Len(uint(n-1)), minHeldClass) - minHeldClass
}

// bytes returns the buffer's bytes; nil for a nil buffer.
func (h *heldBuf) bytes() []byte {
	if h == nil {
		return nil
	}
	return h.b
}

// getHeld returns an empty buffer with room for n bytes (n <=
// holdMaxBytes).
func getHeld(n int) *heldBuf {
	c := heldClass(n)
	if v := heldPools[c].Get(); v != nil {
		return v.(*heldBuf)
	}
	return &heldBuf{b: make([]byte, 0, 1<<(c+minHeldClass))}
}

// putHeld returns a buffer from getHeld to its pool; nil is ignored.
func putHeld(h *heldBuf) {
	if h == nil {
		return
	}
	h.b = h.b[:0]
	heldPools[heldClass(cap(h.b))].Put(h)
}

// holdLocked reports whether a write of n bytes is held rather than
// written at once. mu must be held.
func (l *Log) holdLocked(n int) bool {
	return l.mu.opts.Sync == SyncAlways && n <= holdMaxWrite
}

// appendHeldLocked holds b, the bytes of a write at pos of the active
// segment (its end), which writeHeldLocked has left room for. mu must be
// held.
func (l *Log) appendHeldLocked(pos int64, b []byte) {
	h := l.mu.held
	if h == nil {
		h = getHeld(len(b))
		l.mu.held, l.mu.heldAt = h, pos
	}
	if cap(h.b)-len(h.b) < len(b) {
		nh := getHeld(len(h.b) + len(b))
		nh.b = append(nh.b, h.b...)
		putHeld(h)
		h = nh
		l.mu.held = h
	}
	h.b = append(h.b, b...)
}

// takeHeldLocked writes the held bytes to the active segment and returns
// their buffer, which the caller owns (putHeld it when done); nil when
// nothing is held. When the write fails the bytes stay held, for the next
// flush to try again; the caller's operation fails. mu must be held.
func (l *Log) takeHeldLocked() (*heldBuf, error) {
	h := l.mu.held
	if h == nil {
		return nil, nil
	}
	a := l.activeLocked()
	if _, err := a.f.WriteAt(h.b, l.mu.heldAt); err != nil {
		return nil, fmt.Errorf("write %s: %w", a.logPath, err)
	}
	l.mu.held = nil
	return h, nil
}

// writeHeldLocked writes the held bytes to the active segment, after the
// bytes a journal round took, so the file holds the log's whole size. mu
// must be held.
func (l *Log) writeHeldLocked() error {
	l.waitWritingLocked()
	return l.writeHeldNowLocked()
}

// writeHeldNowLocked writes the held bytes to the active segment, whether
// or not a journal round is writing bytes it took (they are below). mu
// must be held.
func (l *Log) writeHeldNowLocked() error {
	h, err := l.takeHeldLocked()
	putHeld(h)
	return err
}

// failSyncLocked records a failed flush of the log's tail (a failed
// fsync, or a failed write of held bytes at its start): the appenders
// waiting for it get err, and the next write cuts the log back to its
// durable end (repairLocked). It returns err. mu must be held.
func (l *Log) failSyncLocked(err error) error {
	l.metrics.fsyncErrors.Inc()
	l.mu.syncErr = err
	l.mu.failEpoch++
	return err
}

// waitWritingLocked waits until the held bytes a journal round took are in
// the file (the round writes them without mu). Everything that needs the
// file to hold the log's whole size, or cuts it, calls it first. mu must
// be held.
func (l *Log) waitWritingLocked() {
	if w := l.mu.writing; w != nil {
		<-w
	}
}

// dropHeldLocked forgets the held bytes (the log is cut back to its
// durable end, or deleted). mu must be held.
func (l *Log) dropHeldLocked() {
	l.waitWritingLocked()
	putHeld(l.mu.held)
	l.mu.held = nil
}
