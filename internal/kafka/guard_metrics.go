package kafka

import "github.com/prometheus/client_golang/prometheus"

// guardMetrics count the work the server's resource limits refused or cut
// short, so an operator can tell a misbehaving client (or an attack) from
// an overloaded server.
type guardMetrics struct {
	// acceptErrors counts failed accepts (out of file descriptors, ...)
	// the listener retried after a backoff.
	acceptErrors prometheus.Counter
	// frameTimeouts counts connections closed because a request frame
	// did not arrive within FrameTimeout.
	frameTimeouts prometheus.Counter
	// refused counts requests answered with an error by a limit, per
	// reason ("duplicate_partitions", "invalid_records", ...).
	refused *prometheus.CounterVec
}

func newGuardMetrics(reg prometheus.Registerer, s *Server) guardMetrics {
	const ns, sub = "eddy", "kafka"
	g := guardMetrics{
		acceptErrors: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "accept_errors_total",
			Help: "Failed accepts (e.g. out of file descriptors) retried after a backoff."}),
		frameTimeouts: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "frame_timeouts_total",
			Help: "Connections closed because a request frame did not arrive in full within the frame timeout."}),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "refused_requests_total",
			Help: "Requests or batches refused by a hardening check, per reason."}, []string{"reason"}),
	}
	if reg != nil {
		g.acceptErrors = register(reg, s, g.acceptErrors)
		g.frameTimeouts = register(reg, s, g.frameTimeouts)
		g.refused = register(reg, s, g.refused)
	}
	return g
}
