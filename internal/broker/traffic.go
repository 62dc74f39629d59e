package broker

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// TopicStat is one topic's size and traffic, as TopicStats reports it.
type TopicStat struct {
	Name       string
	Partitions int
	// Bytes is the size of its partitions' stored batches; Records the sum
	// over partitions of high watermark minus log start offset.
	Bytes, Records int64
	// RecordsIn and RecordsOut are the records appended and read by
	// fetches since the process started (the eddy_topic_records_in_total
	// and eddy_topic_records_out_total counters).
	RecordsIn, RecordsOut int64
}

// TopicStats returns every topic's size and traffic counters in one pass,
// in no particular order, without sorting or naming directories, so a
// caller that wants totals or the top few of thousands of topics pays
// little (the overview polls it). Views hold nothing and are not listed.
// Safe for concurrent use.
func (b *Broker) TopicStats() []TopicStat {
	// t.parts is replaced (never changed in place) under the write lock
	// when partitions are added, so the slices taken here stay valid.
	type named struct {
		name  string
		parts []*partition
	}
	b.mu.RLock()
	topics := make([]named, 0, len(b.mu.topics))
	for _, t := range b.mu.topics {
		topics = append(topics, named{t.name, t.parts})
	}
	b.mu.RUnlock()
	out := make([]TopicStat, len(topics))
	var m dto.Metric
	for i, t := range topics {
		out[i] = statOf(&m, t.name, t.parts)
	}
	return out
}

// counterValue reads a counter's current value into m (reused between
// calls).
func counterValue(m *dto.Metric, c prometheus.Counter) int64 {
	if c == nil {
		return 0
	}
	m.Reset()
	if err := c.Write(m); err != nil || m.Counter == nil {
		return 0
	}
	return int64(m.Counter.GetValue())
}

// TopicStat returns one topic's size and traffic counters, false when
// there is no such topic (views hold nothing). A page of a topic list
// reads its few entries with it instead of every partition's stats.
// Safe for concurrent use.
func (b *Broker) TopicStat(name string) (TopicStat, bool) {
	b.mu.RLock()
	t, ok := b.mu.topics[name]
	var parts []*partition
	if ok {
		parts = t.parts
	}
	b.mu.RUnlock()
	if !ok {
		return TopicStat{}, false
	}
	var m dto.Metric
	return statOf(&m, name, parts), true
}

// statOf sums a topic's partitions; parts is the topic's partition
// slice taken under b.mu (replaced, never changed in place).
func statOf(m *dto.Metric, name string, parts []*partition) TopicStat {
	s := TopicStat{Name: name, Partitions: len(parts)}
	for _, p := range parts {
		s.Bytes += p.log.Size()
		s.Records += p.log.HighWatermark() - p.log.LogStartOffset()
	}
	// Every partition of a topic shares the topic's counters.
	if len(parts) > 0 {
		s.RecordsIn = counterValue(m, parts[0].recordsIn)
		s.RecordsOut = counterValue(m, parts[0].recordsOut)
	}
	return s
}
