package broker

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/promreg"
)

type metrics struct {
	bytesIn, recordsIn, bytesOut, recordsOut *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "eddy", Subsystem: "topic", Name: name, Help: help}, []string{"topic"})
	}
	m := &metrics{
		bytesIn:    vec("bytes_in_total", "Record batch bytes appended, per topic."),
		recordsIn:  vec("records_in_total", "Records appended, per topic."),
		bytesOut:   vec("bytes_out_total", "Record batch bytes read by fetches, per topic."),
		recordsOut: vec("records_out_total", "Records in the batches read by fetches, per topic."),
	}
	// A broker reopened on the same registry (a restart in one process)
	// keeps counting into the series already registered.
	if err := promreg.All(reg, &m.bytesIn, &m.recordsIn, &m.bytesOut, &m.recordsOut); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *metrics) forgetTopic(topic string) {
	for _, v := range []*prometheus.CounterVec{m.bytesIn, m.recordsIn, m.bytesOut, m.recordsOut} {
		v.DeleteLabelValues(topic)
	}
}

func (m *metrics) bind(p *partition) {
	p.bytesIn = m.bytesIn.WithLabelValues(p.topic)
	p.recordsIn = m.recordsIn.WithLabelValues(p.topic)
	p.bytesOut = m.bytesOut.WithLabelValues(p.topic)
	p.recordsOut = m.recordsOut.WithLabelValues(p.topic)
}
