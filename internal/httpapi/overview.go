package httpapi

// GET /v1/overview: the console overview's data in one cheap answer.
// /v1/status lists every topic and every group's lag, and /metrics has
// five series per partition, so at thousands of topics reading them takes
// seconds; this route answers with totals and the top N topics and
// groups only, reading the counters the broker already keeps.

import (
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// Overview is the body of GET /v1/overview.
type Overview struct {
	Version       string  `json:"version"`
	UptimeSeconds float64 `json:"uptimeSeconds"`
	Ready         bool    `json:"ready"`
	// Totals over the topics (views excluded).
	TopicCount     int   `json:"topicCount"`
	PartitionCount int   `json:"partitionCount"`
	BytesStored    int64 `json:"bytesStored"`
	// GroupCount counts consumer groups, ShareGroupCount share groups.
	GroupCount      int `json:"groupCount"`
	ShareGroupCount int `json:"shareGroupCount"`
	// RecordsIn and RecordsOut are the records appended and read by
	// fetches since the process started, over every topic; a client
	// draws rates from two answers.
	RecordsIn  int64 `json:"recordsIn"`
	RecordsOut int64 `json:"recordsOut"`
	// ProduceRequests and ProduceSeconds are the count and summed
	// latency of the Kafka Produce requests answered since the process
	// started (eddy_kafka_request_duration_seconds{api="Produce"}).
	ProduceRequests uint64  `json:"produceRequests"`
	ProduceSeconds  float64 `json:"produceSeconds"`
	// TopTopics are the top= topics by produce rate (records/s over the
	// interval since an earlier overview request, at least a second
	// before), then by records; TopLag the top= consumer groups by lag.
	// Both are absent with top=0.
	TopTopics []OverviewTopic `json:"topTopics,omitempty"`
	TopLag    []GroupSummary  `json:"topLag,omitempty"`
}

// OverviewTopic is one topic of Overview.TopTopics.
type OverviewTopic struct {
	Name    string `json:"name"`
	Records int64  `json:"records"`
	Bytes   int64  `json:"bytes"`
	// RecordsPerSecond is the produce rate; 0 until two overview requests
	// a second or more apart have been answered.
	RecordsPerSecond float64 `json:"recordsPerSecond"`
}

// trafficSample is the per-topic records-in counters at one time, kept
// between overview requests to turn counters into rates.
type trafficSample struct {
	at time.Time
	in map[string]int64
}

// overviewRates keeps the sample the next request's rates are measured
// against.
type overviewRates struct {
	mu   sync.Mutex
	prev trafficSample
}

// since returns the sample to measure cur against, and keeps cur for
// later requests once it is at least a second newer than the kept one.
func (o *overviewRates) since(cur trafficSample) trafficSample {
	o.mu.Lock()
	defer o.mu.Unlock()
	prev := o.prev
	if prev.in == nil || cur.at.Sub(prev.at) >= time.Second {
		o.prev = cur
	}
	return prev
}

func (h *adminRoutes) overview(w http.ResponseWriter, r *http.Request) error {
	top, err := queryInt(r, "top", 10, 0)
	if err != nil {
		return err
	}
	if top > 100 {
		return BadRequest("top", "%d is over 100", top)
	}
	s := h.s
	ov := Overview{Version: s.cfg.Version, Ready: s.Ready()}
	if !s.cfg.StartedAt.IsZero() {
		ov.UptimeSeconds = time.Since(s.cfg.StartedAt).Seconds()
	}
	stats := h.b.TopicStats()
	ov.TopicCount = len(stats)
	for _, t := range stats {
		ov.PartitionCount += t.Partitions
		ov.BytesStored += t.Bytes
		ov.RecordsIn += t.RecordsIn
		ov.RecordsOut += t.RecordsOut
	}
	// Rates need the counters of an earlier request: kept only by
	// requests that rank topics.
	var cur, prev trafficSample
	if top > 0 {
		cur = trafficSample{at: time.Now(), in: make(map[string]int64, len(stats))}
		for _, t := range stats {
			cur.in[t.Name] = t.RecordsIn
		}
		prev = h.rates.since(cur)
	}
	if h.o.RequestLatency != nil {
		ov.ProduceRequests, ov.ProduceSeconds = h.o.RequestLatency(0)
	}
	if sc := s.queues.Load(); sc != nil {
		ov.ShareGroupCount = len(sc.List())
	}
	if g := h.g; g != nil {
		list, err := g.List(r.Context(), nil, nil)
		if err != nil {
			return err
		}
		ov.GroupCount = len(list)
		if top > 0 {
			ov.TopLag = []GroupSummary{}
			for _, l := range list {
				if !Allowed(r, opDescribe, rtGroup, l.Group) {
					continue
				}
				lags, err := g.Lag(r.Context(), l.Group)
				if err != nil {
					continue // deleted meanwhile
				}
				gs := GroupSummary{Group: l.Group, Type: "classic", State: l.State.String()}
				for _, pl := range lags {
					gs.Lag += pl.Lag
				}
				ov.TopLag = append(ov.TopLag, gs)
			}
			sort.Slice(ov.TopLag, func(i, j int) bool {
				a, b := ov.TopLag[i], ov.TopLag[j]
				if a.Lag != b.Lag {
					return a.Lag > b.Lag
				}
				return a.Group < b.Group
			})
			if len(ov.TopLag) > int(top) {
				ov.TopLag = ov.TopLag[:top]
			}
		}
	}
	if top > 0 {
		dt := cur.at.Sub(prev.at).Seconds()
		rate := func(t broker.TopicStat) float64 {
			if prev.in == nil || dt < 0.5 { // shorter intervals are noise
				return 0
			}
			return max(0, float64(t.RecordsIn-prev.in[t.Name])/dt)
		}
		// Only the top N are kept and sorted: a bounded insertion into a
		// short slice, not a sort of every topic.
		less := func(a, b OverviewTopic) bool {
			if a.RecordsPerSecond != b.RecordsPerSecond {
				return a.RecordsPerSecond > b.RecordsPerSecond
			}
			if a.Records != b.Records {
				return a.Records > b.Records
			}
			return a.Name < b.Name
		}
		ov.TopTopics = make([]OverviewTopic, 0, top+1)
		for _, t := range stats {
			ot := OverviewTopic{Name: t.Name, Records: t.Records, Bytes: t.Bytes, RecordsPerSecond: rate(t)}
			if len(ov.TopTopics) == int(top) && !less(ot, ov.TopTopics[top-1]) {
				continue
			}
			if !Allowed(r, opDescribe, rtTopic, t.Name) {
				continue
			}
			i := sort.Search(len(ov.TopTopics), func(i int) bool { return less(ot, ov.TopTopics[i]) })
			ov.TopTopics = append(ov.TopTopics, OverviewTopic{})
			copy(ov.TopTopics[i+1:], ov.TopTopics[i:])
			ov.TopTopics[i] = ot
			if len(ov.TopTopics) > int(top) {
				ov.TopTopics = ov.TopTopics[:top]
			}
		}
	}
	writeCompactJSON(w, http.StatusOK, ov)
	return nil
}
