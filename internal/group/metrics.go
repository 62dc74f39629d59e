package group

import (
	"context"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the coordinator's Prometheus metrics. A nil *metrics (no
// Registerer) records nothing.
type metrics struct {
	reg        prometheus.Registerer
	rebalances prometheus.Counter
	commitsCtr prometheus.Counter
	collector  *lagCollector
}

func newMetrics(c *Coordinator, reg prometheus.Registerer) *metrics {
	if reg == nil {
		return nil
	}
	m := &metrics{
		reg: reg,
		rebalances: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_group_rebalances_total", Help: "Completed join phases (generation bumps) across all groups.",
		}),
		commitsCtr: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_group_offset_commits_total", Help: "Partition offsets committed durably.",
		}),
		collector: &lagCollector{c: c,
			lag: prometheus.NewDesc("eddy_group_lag", "High watermark minus committed offset per group and partition (on a view, minus the first offset after the committed one that may still match).",
				[]string{"group", "topic", "partition"}, nil),
			members: prometheus.NewDesc("eddy_group_members", "Members per group.", []string{"group", "state"}, nil),
		},
	}
	for _, col := range []prometheus.Collector{m.rebalances, m.commitsCtr, m.collector} {
		if err := reg.Register(col); err != nil {
			c.log.Warn("register group metric", "err", err)
		}
	}
	return m
}

func (m *metrics) unregister() {
	m.reg.Unregister(m.rebalances)
	m.reg.Unregister(m.commitsCtr)
	m.reg.Unregister(m.collector)
}

func (m *metrics) rebalance() {
	if m != nil {
		m.rebalances.Inc()
	}
}

func (m *metrics) commits(n int) {
	if m != nil {
		m.commitsCtr.Add(float64(n))
	}
}

// lagCollector computes lag and membership at scrape time.
type lagCollector struct {
	c       *Coordinator
	lag     *prometheus.Desc
	members *prometheus.Desc
}

func (l *lagCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- l.lag
	ch <- l.members
}

func (l *lagCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, g := range l.c.snapshotGroups() {
		var n int
		var st State
		if err := g.run(ctx, func() { n, st = len(g.members), g.state }); err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(l.members, prometheus.GaugeValue, float64(n), g.name, st.String())
		lags, err := l.c.Lag(ctx, g.name)
		if err != nil {
			continue
		}
		for _, pl := range lags {
			ch <- prometheus.MustNewConstMetric(l.lag, prometheus.GaugeValue, float64(pl.Lag), g.name, pl.Topic, strconv.Itoa(int(pl.Partition)))
		}
	}
}
