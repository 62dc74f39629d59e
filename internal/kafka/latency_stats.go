package kafka

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// RequestLatency returns how many requests with API key key (0 is
// Produce) were answered and their summed latency in seconds since the
// process started: the count and sum of that API's
// eddy_kafka_request_duration_seconds series, read without gathering
// every metric. Zero while the API has not been called. Safe for
// concurrent use.
func (s *Server) RequestLatency(key int16) (count uint64, sumSeconds float64) {
	if s == nil || s.metrics == nil || key < 0 || int(key) >= apiTableSize {
		return 0, 0
	}
	am := s.metrics.perAPI[key].Load()
	if am == nil {
		return 0, 0
	}
	m, ok := am.latency.(prometheus.Metric)
	if !ok {
		return 0, 0
	}
	var d dto.Metric
	if err := m.Write(&d); err != nil || d.Histogram == nil {
		return 0, 0
	}
	return d.Histogram.GetSampleCount(), d.Histogram.GetSampleSum()
}
