package broker

import (
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// Traffic is a topic's records appended and read by fetches since the
// process started: the eddy_topic_records_in_total and
// eddy_topic_records_out_total counters.
type Traffic struct {
	RecordsIn, RecordsOut int64
}

// TopicTraffic returns every topic's traffic counters, read from the
// counters the append and fetch paths already keep (nothing is added to
// those paths). Views have none. Safe for concurrent use.
func (b *Broker) TopicTraffic() map[string]Traffic {
	b.mu.RLock()
	type pair struct{ in, out prometheus.Counter }
	counters := make(map[string]pair, len(b.mu.topics))
	for name, t := range b.mu.topics {
		// Every partition of a topic shares the topic's counters.
		if len(t.parts) > 0 && t.parts[0].recordsIn != nil {
			counters[name] = pair{t.parts[0].recordsIn, t.parts[0].recordsOut}
		}
	}
	b.mu.RUnlock()
	out := make(map[string]Traffic, len(counters))
	for name, c := range counters {
		out[name] = Traffic{RecordsIn: counterValue(c.in), RecordsOut: counterValue(c.out)}
	}
	return out
}

// counterValue reads a counter's current value.
func counterValue(c prometheus.Counter) int64 {
	if c == nil {
		return 0
	}
	var m dto.Metric
	if err := c.Write(&m); err != nil || m.Counter == nil {
		return 0
	}
	return int64(m.Counter.GetValue())
}
