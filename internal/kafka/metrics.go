package kafka

import (
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/promreg"
)

type metrics struct {
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	errors      *prometheus.CounterVec
	conns       prometheus.Gauge
	connsTotal  prometheus.Counter
	acceptWaits prometheus.Counter
	badFrames   prometheus.Counter
	bytesIn     prometheus.Counter
	bytesOut    prometheus.Counter
	// guard counts what the resource limits refused (guard_metrics.go).
	guard guardMetrics
	// perAPI caches each API key's request counter and latency observer
	// so a request costs no label lookup (WithLabelValues hashes the
	// label and takes the vector's lock). Filled on first use, so APIs
	// never called still have no series.
	perAPI [apiTableSize]atomic.Pointer[apiMetrics]
}

// apiMetrics are one API's cached series.
type apiMetrics struct {
	requests prometheus.Counter
	latency  prometheus.Observer
}

func newMetrics(reg prometheus.Registerer, s *Server) *metrics {
	const ns, sub = "eddy", "kafka"
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "requests_total",
			Help: "Kafka requests handled, per API."}, []string{"api"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub, Name: "request_duration_seconds",
			Help:    "Time from reading a request to writing its response, per API (includes fsync and long-poll waits).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"api"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "errors_total",
			Help: "Kafka error codes returned (per partition or per request), per API and code."}, []string{"api", "code"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "connections",
			Help: "Open Kafka client connections."}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "connections_total",
			Help: "Kafka client connections accepted."}),
		acceptWaits: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "accept_waits_total",
			Help: "Times the accept loop stopped at max connections until a connection closed (new connections wait in the listen backlog meanwhile)."}),
		badFrames: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "bad_requests_total",
			Help: "Requests that closed their connection: oversized or malformed frames, unknown APIs, unsupported versions."}),
		bytesIn: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "received_bytes_total",
			Help: "Bytes of Kafka requests read."}),
		bytesOut: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub, Name: "sent_bytes_total",
			Help: "Bytes of Kafka responses written."}),
	}
	budget := prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub, Name: "produce_budget_in_use_bytes",
		Help: "Produce request bytes holding the global produce budget (waiting on fsync or on their response)."},
		func() float64 {
			if s.budget == nil {
				return 0
			}
			return float64(s.budget.InUse())
		})
	m.guard = newGuardMetrics(reg, s)
	if reg != nil {
		// A server recreated on the same registry (a restart in one
		// process) keeps counting into the series already registered.
		m.requests = register(reg, s, m.requests)
		m.latency = register(reg, s, m.latency)
		m.errors = register(reg, s, m.errors)
		m.conns = register(reg, s, m.conns)
		m.connsTotal = register(reg, s, m.connsTotal)
		m.acceptWaits = register(reg, s, m.acceptWaits)
		m.badFrames = register(reg, s, m.badFrames)
		m.bytesIn = register(reg, s, m.bytesIn)
		m.bytesOut = register(reg, s, m.bytesOut)
		// The budget gauge reads this server: replace a stale one.
		if err := reg.Register(budget); err != nil {
			var are prometheus.AlreadyRegisteredError
			if errors.As(err, &are) {
				reg.Unregister(are.ExistingCollector)
				_ = reg.Register(budget)
			}
		}
	}
	return m
}

// register registers c, or returns the identical collector already
// registered (a server recreated on the same registry keeps counting into
// the same series).
func register[T prometheus.Collector](reg prometheus.Registerer, s *Server, c T) T {
	c, err := promreg.Register(reg, c)
	if err != nil {
		s.log.Warn("kafka metrics registration", "err", err)
	}
	return c
}

// observe counts one answered request of api and its latency since start.
func (m *metrics) observe(api *apiEntry, start time.Time) {
	d := time.Since(start).Seconds()
	if api.key < 0 || int(api.key) >= apiTableSize {
		m.requests.WithLabelValues(api.name).Inc()
		m.latency.WithLabelValues(api.name).Observe(d)
		return
	}
	am := m.perAPI[api.key].Load()
	if am == nil {
		// Two first requests may race here; both get the same series
		// from the vectors, so either stored value is right.
		am = &apiMetrics{requests: m.requests.WithLabelValues(api.name), latency: m.latency.WithLabelValues(api.name)}
		m.perAPI[api.key].Store(am)
	}
	am.requests.Inc()
	am.latency.Observe(d)
}

func (m *metrics) countErr(api string, code int16) {
	if code != 0 {
		m.errors.WithLabelValues(api, strconv.Itoa(int(code))).Inc()
	}
}

// countErr records a non-zero error code returned by an API.
func (s *Server) countErr(req *Request, code int16) {
	if code != 0 {
		s.metrics.countErr(apiName(req.Key), code)
	}
}

func apiName(key int16) string {
	if a := lookupAPI(key); a != nil {
		return a.name
	}
	return strconv.Itoa(int(key))
}
