package httpapi

import (
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the HTTP listener's own series.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	ready    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "eddy_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "eddy_http_request_duration_seconds",
			Help:    "Time to answer an HTTP request, by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route"}),
		inflight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eddy_http_requests_in_flight",
			Help: "HTTP requests being served now.",
		}),
		ready: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eddy_ready",
			Help: "1 when the server is ready (logs recovered, listeners open), else 0.",
		}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.inflight, m.ready} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// instrument wraps h to count and time it under route.
func (m *metrics) instrument(route string, h http.Handler) http.Handler {
	hist := m.duration.WithLabelValues(route)
	// The 200 counter, the common case, is looked up once, on first use
	// (created earlier it would show in /metrics before any request).
	var ok atomic.Pointer[prometheus.Counter]
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inflight.Inc()
		rec := &statusRecorder{ResponseWriter: w}
		defer func() {
			m.inflight.Dec()
			hist.Observe(time.Since(start).Seconds())
			code := rec.status
			if code == 0 {
				code = http.StatusOK
			}
			if code == http.StatusOK {
				c := ok.Load()
				if c == nil {
					cc := m.requests.WithLabelValues(route, "200")
					c = &cc
					ok.Store(c)
				}
				(*c).Inc()
				return
			}
			m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
		}()
		h.ServeHTTP(rec, r)
	})
}

// statusRecorder remembers the status code written through it. Unwrap lets
// http.ResponseController reach Flush and deadlines of the real writer,
// which streaming routes need.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap returns the wrapped writer for http.ResponseController.
func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
