package node

// The data sources of /v1/status and the per-partition log gauges,
// computed at request or scrape time.

import (
	"context"
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/httpapi"
)

// topicStatus summarises every topic for /v1/status.
func (n *Node) topicStatus(context.Context) ([]httpapi.TopicStatus, error) {
	n.live.Lock()
	b := n.live.broker
	n.live.Unlock()
	if b == nil {
		return nil, nil
	}
	byName := map[string]*httpapi.TopicStatus{}
	var out []httpapi.TopicStatus
	for _, t := range b.Topics() {
		out = append(out, httpapi.TopicStatus{Name: t.Name})
	}
	for i := range out {
		byName[out[i].Name] = &out[i]
	}
	for _, p := range b.Partitions() {
		t := byName[p.Topic]
		if t == nil { // created between the two calls
			continue
		}
		t.Partitions++
		t.Bytes += p.Size
		t.Records += p.HighWatermark - p.LogStartOffset
	}
	return out, nil
}

// groupStatus summarises every consumer group for /v1/status.
func (n *Node) groupStatus(ctx context.Context) ([]httpapi.GroupStatus, error) {
	n.live.Lock()
	g := n.live.groups
	n.live.Unlock()
	if g == nil {
		return nil, nil
	}
	list, err := g.List(ctx, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("list groups: %w", err)
	}
	names := make([]string, len(list))
	for i, l := range list {
		names[i] = l.Group
	}
	descs, err := g.Describe(ctx, names)
	if err != nil {
		return nil, fmt.Errorf("describe groups: %w", err)
	}
	out := make([]httpapi.GroupStatus, 0, len(list))
	for i, l := range list {
		gs := httpapi.GroupStatus{Group: l.Group, State: l.State.String()}
		if i < len(descs) {
			gs.Members = len(descs[i].Members)
		}
		lags, err := g.Lag(ctx, l.Group)
		if err != nil {
			return nil, fmt.Errorf("lag of group %s: %w", l.Group, err)
		}
		for _, pl := range lags {
			gs.Lag += pl.Lag
		}
		out = append(out, gs)
	}
	return out, nil
}

// logCollector exposes each partition log's size, segment count and
// offsets, read from the broker at scrape time so nothing is kept up to
// date on the append path.
type logCollector struct {
	b                                 *broker.Broker
	size, segments, start, hw, endOff *prometheus.Desc
}

func registerLogCollector(reg prometheus.Registerer, b *broker.Broker) (*logCollector, error) {
	labels := []string{"topic", "partition"}
	c := &logCollector{
		b:        b,
		size:     prometheus.NewDesc("eddy_log_size_bytes", "Bytes of stored record batches per partition, across its segments.", labels, nil),
		segments: prometheus.NewDesc("eddy_log_segments", "Segment files per partition.", labels, nil),
		start:    prometheus.NewDesc("eddy_log_start_offset", "First offset still stored per partition (moves with retention).", labels, nil),
		hw:       prometheus.NewDesc("eddy_log_high_watermark", "Offset after the last durable record per partition (what consumers can read up to).", labels, nil),
		endOff:   prometheus.NewDesc("eddy_log_end_offset", "Offset after the last written record per partition, durable or not.", labels, nil),
	}
	if err := reg.Register(c); err != nil {
		return nil, fmt.Errorf("register log metrics: %w", err)
	}
	return c, nil
}

func (c *logCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.size, c.segments, c.start, c.hw, c.endOff} {
		ch <- d
	}
}

func (c *logCollector) Collect(ch chan<- prometheus.Metric) {
	for _, p := range c.b.Partitions() {
		part := strconv.Itoa(int(p.Partition))
		ch <- prometheus.MustNewConstMetric(c.size, prometheus.GaugeValue, float64(p.Size), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(c.segments, prometheus.GaugeValue, float64(p.Segments), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(c.start, prometheus.GaugeValue, float64(p.LogStartOffset), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(c.hw, prometheus.GaugeValue, float64(p.HighWatermark), p.Topic, part)
		ch <- prometheus.MustNewConstMetric(c.endOff, prometheus.GaugeValue, float64(p.LogEndOffset), p.Topic, part)
	}
}
