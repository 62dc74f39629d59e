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

// waitForSlot holds the accept loop while MaxConnections connections are
// open, as Kafka's Acceptor does (waitForConnectionSlot): connections
// beyond the cap are not accepted and closed, they wait in the kernel's
// listen backlog, costing no descriptor, until a connection closes (a
// client's request then completes late, or its client times out and
// retries). Each wait is counted (eddy_kafka_accept_waits_total) and
// logged at most once a minute. It returns false once the server shuts
// down.
func (s *Server) waitForSlot() bool {
	limit := s.cfg.MaxConnections
	if limit <= 0 {
		return true
	}
	waited := false
	for {
		s.mu.Lock()
		n, down := len(s.mu.conns), s.mu.shutdown
		s.mu.Unlock()
		if down {
			return false
		}
		if n < limit {
			return true
		}
		if !waited {
			waited = true
			s.metrics.acceptWaits.Inc()
			// Every listener's accept loop may wait here: the log time is
			// shared under s.mu.
			s.mu.Lock()
			now := time.Now()
			logIt := now.Sub(s.slotWaitLogged) >= time.Minute
			if logIt {
				s.slotWaitLogged = now
			}
			s.mu.Unlock()
			if logIt {
				s.log.Warn("kafka connections at max-connections: not accepting until one closes (new connections wait in the listen backlog)",
					"open_connections", n, "max_connections", limit)
			}
		}
		select {
		case <-s.slotFreed:
		case <-s.ctx.Done():
			return false
		}
	}
}
