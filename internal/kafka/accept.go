package kafka

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// acceptBackoff keeps the accept loop alive through temporary failures:
// running out of file descriptors (EMFILE, ENFILE), of kernel buffers
// (ENOBUFS, ENOMEM) or a connection reset before it was accepted
// (ECONNABORTED). Like net/http it sleeps 5 ms after the first failure,
// doubling up to 1 s, and retries; connections keep waiting in the
// listen backlog meanwhile. Only an error that retrying cannot cure (the
// listener was closed) ends the loop. The first failure of an episode is
// logged; the rest are counted (eddy_kafka_accept_errors_total).
type acceptBackoff struct {
	delay  time.Duration
	logged bool
}

const (
	minAcceptDelay = 5 * time.Millisecond
	maxAcceptDelay = time.Second
)

// retry reports whether err is temporary; if so it sleeps (unless the
// server is shutting down) and the caller accepts again.
func (b *acceptBackoff) retry(s *Server, err error) bool {
	if !temporaryAcceptError(err) {
		return false
	}
	s.metrics.guard.acceptErrors.Inc()
	if b.delay == 0 {
		b.delay = minAcceptDelay
	} else {
		b.delay = min(2*b.delay, maxAcceptDelay)
	}
	if !b.logged {
		b.logged = true
		s.log.Warn("kafka accept failing, retrying with backoff (raise the open-files limit or lower --max-connections)",
			"err", err.Error(), "open_connections", s.connCount())
	}
	select {
	case <-time.After(b.delay):
	case <-s.ctx.Done():
	}
	return true
}

// reset ends an episode after a successful accept.
func (b *acceptBackoff) reset() {
	if b.logged {
		b.logged = false
	}
	b.delay = 0
}

func temporaryAcceptError(err error) bool {
	if errors.Is(err, net.ErrClosed) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	for _, e := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.ECONNRESET, syscall.EINTR, syscall.EAGAIN} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// connCount is the number of open client connections.
func (s *Server) connCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.mu.conns)
}
