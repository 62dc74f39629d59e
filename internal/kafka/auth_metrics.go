package kafka

import "github.com/prometheus/client_golang/prometheus"

// authMetrics count authentication outcomes on the Kafka listeners.
type authMetrics struct {
	sasl        *prometheus.CounterVec
	tlsFailures prometheus.Counter
}

func newAuthMetrics(reg prometheus.Registerer, s *Server) *authMetrics {
	const ns, sub = "eddy", "kafka"
	m := &authMetrics{
		sasl: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sasl_authentications_total",
			Help: "SASL authentications on the Kafka listeners, per mechanism and result (success, failure)."}, []string{"mechanism", "result"}),
		tlsFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "tls_handshake_failures_total",
			Help: "TLS handshakes that failed on the Kafka listeners (plaintext clients on a TLS port, untrusted or expired client certificates)."}),
	}
	if reg != nil {
		m.sasl = register(reg, s, m.sasl)
		m.tlsFailures = register(reg, s, m.tlsFailures)
	}
	return m
}

func (m *authMetrics) result(mech string, ok bool) {
	r := "failure"
	if ok {
		r = "success"
	}
	m.sasl.WithLabelValues(mech, r).Inc()
}
