package kafka

import (
	"bufio"
	"net"
	"sync"
	"syscall"
)

// Idle connections hold no read buffer.
//
// A connection's reader keeps a readBufSize buffer to take several small
// requests with one read. Most connections of a big deployment are idle
// most of the time (10,000 idle connections held 80 MB of such buffers), so
// a reader that has nothing buffered and finds nothing waiting in the
// socket (a non-blocking peek) gives its buffer back to a pool and waits
// for the socket to become readable through the runtime's poller, then
// takes a buffer again. Connections that are not plain sockets (TLS), and
// systems without the peek (idlebuf_other.go), keep theirs.

var readerPool = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, readBufSize) }}

// idleReader is the reader of one connection and the raw socket it may
// wait on without a buffer.
type idleReader struct {
	br  *bufio.Reader
	raw syscall.RawConn // nil: keep the buffer
}

func newIdleReader(nc net.Conn) *idleReader {
	r := &idleReader{br: readerPool.Get().(*bufio.Reader)}
	r.br.Reset(nc)
	if sc, ok := nc.(syscall.Conn); ok {
		if raw, err := sc.SyscallConn(); err == nil {
			r.raw = raw
		}
	}
	return r
}

// waitIdle, when nothing is buffered, waits until the socket is readable
// (or its read deadline passes, or it is closed: the read that follows
// reports those), holding no buffer while it waits.
func (r *idleReader) waitIdle(nc net.Conn) {
	if r.raw == nil || r.br.Buffered() > 0 {
		return
	}
	released := false
	_ = r.raw.Read(func(fd uintptr) bool {
		if socketEmpty(fd) {
			if !released {
				r.br.Reset(nil)
				readerPool.Put(r.br)
				r.br, released = nil, true
			}
			return false // wait for readability
		}
		return true // data, end of stream or an error: the read sees it
	})
	if released {
		r.br = readerPool.Get().(*bufio.Reader)
		r.br.Reset(nc)
	}
}

// release returns the buffer once the connection's reader is done.
func (r *idleReader) release() {
	if r.br != nil {
		r.br.Reset(nil)
		readerPool.Put(r.br)
		r.br = nil
	}
}
