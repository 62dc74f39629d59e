package httpapi

// Admin routes (docs/http-api.md, "Topics, messages and groups"): a paged
// topic list, a topic's partitions, a message browser by partition, offset
// or time with an optional CEL filter, consumer groups with per-partition
// lag, and topic create/delete. The web console (internal/console) is
// built on them; they are ordinary API routes any client may call.

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/views"
)

// ErrWritesDisabled is returned by the admin write routes (topic create and
// delete) when the server runs without --console-write (403 forbidden).
var ErrWritesDisabled = errors.New("writes through the HTTP admin routes are off; restart eddy serve with --console-write (or EDDY_CONSOLE_WRITE=true) to allow them")

// AdminOptions configures RegisterAdmin.
type AdminOptions struct {
	// AllowWrites enables the write routes (POST /v1/topics, DELETE
	// /v1/topics/{topic}, offset resets other than dry runs); without it
	// they answer 403 forbidden.
	AllowWrites bool
	// Schemas, when set, decodes browsed values in the schema registry's
	// wire format (magic byte 0, schema id) with their registered schema.
	Schemas *registry.Registry `json:"-" yaml:"-"`
	// RequestLatency, when set, gives GET /v1/overview the count and
	// summed seconds of the Kafka requests with an API key (0: Produce).
	RequestLatency func(key int16) (count uint64, sumSeconds float64) `json:"-" yaml:"-"`
}

// RegisterAdmin adds the admin routes over b and g (g may be nil: the
// group routes then answer 503):
//
//	GET    /v1/overview?top=
//	GET    /v1/share-groups/{group}
//	GET    /v1/topics?prefix=&after=&limit=
//	GET    /v1/topics/{topic}
//	GET    /v1/topics/{topic}/messages?partition=&offset=&time=&order=&limit=&filter=
//	GET    /v1/groups
//	GET    /v1/groups/{group}
//	POST   /v1/groups/{group}/offsets/reset  {"to": "earliest", "topic": "orders", "dryRun": true}
//	POST   /v1/topics/{topic}/redrive       {"partition": 0, "offsets": [17], "dryRun": false}
//	POST   /v1/topics            {"name": "orders", "partitions": 3, "configs": {...}}
//	DELETE /v1/topics/{topic}
//	POST   /v1/topics/{topic}/messages    {"key": "k", "headers": [...], "value": {...}}
//	PATCH  /v1/topics/{topic}/configs     {"set": {...}, "delete": [...]}
//	DELETE /v1/groups/{group}?type=classic|share
func (s *Server) RegisterAdmin(b *broker.Broker, g *group.Coordinator, o AdminOptions) {
	h := &adminRoutes{s: s, b: b, g: g, o: o}
	s.schemas.Store(o.Schemas)
	s.Handle("GET /v1/overview", h.overview)
	s.Handle("GET /v1/share-groups", h.listShareGroups)
	s.Handle("GET /v1/share-groups/{group}", h.shareGroup)
	s.Handle("GET /v1/topics", h.listTopics)
	s.Handle("GET /v1/topics/{topic}", h.topic)
	s.Handle("GET /v1/topics/{topic}/messages", h.messages)
	s.Handle("GET /v1/groups", h.listGroups)
	s.Handle("GET /v1/groups/{group}", h.groupDetail)
	s.Handle("POST /v1/groups/{group}/offsets/reset", h.resetOffsets)
	s.Handle("POST /v1/topics/{topic}/redrive", h.redrive)
	s.Handle("POST /v1/topics", h.createTopic)
	s.Handle("DELETE /v1/topics/{topic}", h.deleteTopic)
	s.registerAdminWrites(h)
}

type adminRoutes struct {
	s *Server
	b *broker.Broker
	g *group.Coordinator
	o AdminOptions
	// rates turns the overview's traffic counters into rates.
	rates overviewRates
}

// TopicSummary is one topic of GET /v1/topics.
type TopicSummary struct {
	Name       string `json:"name"`
	Partitions int32  `json:"partitions"`
	Bytes      int64  `json:"bytes"`
	// Records is high watermark minus log start offset, summed over the
	// partitions; for a view, its source's (a view stores nothing).
	Records int64 `json:"records"`
	// RetentionMs and RetentionBytes are the effective retention (-1: none).
	RetentionMs    int64 `json:"retentionMs"`
	RetentionBytes int64 `json:"retentionBytes"`
	// Streams is true for event-store topics (eddy.streams=true).
	Streams bool `json:"streams"`
	// ViewOf is the source topic when this is a view.
	ViewOf string `json:"viewOf,omitempty"`
	Filter string `json:"filter,omitempty"`
}

// TopicPage is the body of GET /v1/topics.
type TopicPage struct {
	Topics []TopicSummary `json:"topics"`
	// Total counts the topics (and views) matching prefix.
	Total int `json:"total"`
	// Next is the after= of the next page; absent on the last page.
	Next string `json:"next,omitempty"`
}

func summaryOf(info broker.TopicInfo) TopicSummary {
	return TopicSummary{
		Name: info.Name, Partitions: info.Partitions,
		RetentionMs: info.Config.RetentionMs, RetentionBytes: info.Config.RetentionBytes,
		Streams: info.Overrides["eddy.streams"] == "true",
		ViewOf:  info.ViewSource(), Filter: info.Overrides[views.FilterConfig],
	}
}

func (h *adminRoutes) listTopics(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	prefix, after := q.Get("prefix"), q.Get("after")
	limit, err := queryInt(r, "limit", 100, 1)
	if err != nil {
		return err
	}
	if limit > 1000 {
		return BadRequest("limit", "%d is over 1000", limit)
	}
	all := append(h.b.Topics(), h.b.Views()...)
	sort.Slice(all, func(i, j int) bool { return all[i].Name < all[j].Name })
	page := TopicPage{Topics: []TopicSummary{}}
	for _, info := range all {
		if !strings.HasPrefix(info.Name, prefix) || !Allowed(r, opDescribe, rtTopic, info.Name) {
			continue
		}
		page.Total++
		if info.Name <= after && after != "" {
			continue
		}
		if int64(len(page.Topics)) == limit {
			page.Next = page.Topics[len(page.Topics)-1].Name
			continue
		}
		page.Topics = append(page.Topics, summaryOf(info))
	}
	// Sizes and records of the page's topics only, not every partition.
	for i := range page.Topics {
		if st, ok := h.b.TopicStat(page.Topics[i].Name); ok {
			page.Topics[i].Bytes, page.Topics[i].Records = st.Bytes, st.Records
		}
	}
	// A view stores nothing; its offsets are its source's, so its records
	// are the source's offset range (the filter passes fewer).
	for i := range page.Topics {
		t := &page.Topics[i]
		if t.ViewOf == "" {
			continue
		}
		for p := int32(0); p < t.Partitions; p++ {
			if start, hw, _, err := h.b.Offsets(t.Name, p); err == nil {
				t.Records += hw - start
			}
		}
	}
	writeCompactJSON(w, http.StatusOK, page)
	return nil
}

// PartitionDetail is one partition of GET /v1/topics/{topic}.
type PartitionDetail struct {
	Partition      int32 `json:"partition"`
	LogStartOffset int64 `json:"logStartOffset"`
	HighWatermark  int64 `json:"highWatermark"`
	LogEndOffset   int64 `json:"logEndOffset"`
	Bytes          int64 `json:"bytes"`
	Segments       int   `json:"segments"`
}

// TopicDetail is the body of GET /v1/topics/{topic}.
type TopicDetail struct {
	TopicSummary
	// Configs are the topic's own config overrides.
	Configs        map[string]string `json:"configs"`
	PartitionsList []PartitionDetail `json:"partitionList"`
}

func (h *adminRoutes) topic(w http.ResponseWriter, r *http.Request) error {
	info, err := h.b.Topic(r.PathValue("topic"))
	if err != nil {
		return err
	}
	d := TopicDetail{TopicSummary: summaryOf(info), Configs: info.Overrides, PartitionsList: []PartitionDetail{}}
	if d.Configs == nil {
		d.Configs = map[string]string{}
	}
	stats := map[int32]broker.PartitionStats{}
	for _, p := range h.b.Partitions() {
		if p.Topic == info.Name {
			stats[p.Partition] = p
		}
	}
	for p := int32(0); p < info.Partitions; p++ {
		pd := PartitionDetail{Partition: p}
		if st, ok := stats[p]; ok {
			pd.LogStartOffset, pd.HighWatermark, pd.LogEndOffset = st.LogStartOffset, st.HighWatermark, st.LogEndOffset
			pd.Bytes, pd.Segments = st.Size, st.Segments
		} else if start, hw, end, err := h.b.Offsets(info.Name, p); err == nil { // a view
			pd.LogStartOffset, pd.HighWatermark, pd.LogEndOffset = start, hw, end
		}
		d.Bytes += pd.Bytes
		d.Records += pd.HighWatermark - pd.LogStartOffset
		d.PartitionsList = append(d.PartitionsList, pd)
	}
	writeCompactJSON(w, http.StatusOK, d)
	return nil
}

// Header is one record header in a browse answer. Value is UTF-8 text, or
// base64 when Base64 is true; null for a null value.
type Header struct {
	Key    string  `json:"key"`
	Value  *string `json:"value"`
	Base64 bool    `json:"base64,omitempty"`
}

// Message is one record in GET /v1/topics/{topic}/messages.
type Message struct {
	Partition int32 `json:"partition"`
	Offset    int64 `json:"offset"`
	// Timestamp is milliseconds since the epoch.
	Timestamp int64 `json:"timestamp"`
	// Key is the key as text; null for a null key. KeyBase64 is set
	// instead when the key is not UTF-8.
	Key       *string  `json:"key"`
	KeyBase64 string   `json:"keyBase64,omitempty"`
	Headers   []Header `json:"headers"`
	// Exactly one of ValueJSON (a JSON value), ValueText (UTF-8 that is
	// not JSON) and ValueBase64 (other bytes) is set, none for a null
	// value (a tombstone).
	ValueJSON   json.RawMessage `json:"valueJson,omitempty"`
	ValueText   *string         `json:"valueText,omitempty"`
	ValueBase64 string          `json:"valueBase64,omitempty"`
	// Size is the value's length in bytes.
	Size int `json:"size"`
	// ValueSchema names the registered schema a wire-format value was
	// decoded with (ValueJSON is then the decoded value); ValueSchemaError
	// says why a value with the wire-format header was not decoded.
	ValueSchema      *ValueSchema `json:"valueSchema,omitempty"`
	ValueSchemaError string       `json:"valueSchemaError,omitempty"`
}

// ValueSchema is the schema a browsed value was decoded with.
type ValueSchema struct {
	ID   int    `json:"id"`
	Type string `json:"type"`
	// Subject and Version are one subject version registering the schema.
	Subject string `json:"subject,omitempty"`
	Version int    `json:"version,omitempty"`
}

// MessagePage is the body of GET /v1/topics/{topic}/messages.
type MessagePage struct {
	Messages []Message `json:"messages"`
	// Next is the offset= of the next page of the same partition and
	// order; absent when the partition holds no more in that direction or
	// the browse spans several partitions.
	Next *int64 `json:"next,omitempty"`
	// Scanned counts the records read (more than returned with a filter).
	Scanned int64 `json:"scanned"`
	// Truncated is true when the scan budget ran out before limit records
	// matched the filter.
	Truncated bool `json:"truncated,omitempty"`
}

// maxScan bounds the records one browse request reads per partition, so a
// filter that matches nothing cannot make a request read a whole log.
const maxScan = 100_000

func messageOf(p int32, rec *record.Record, reg *registry.Registry) Message {
	m := Message{Partition: p, Offset: rec.Offset, Timestamp: rec.Timestamp, Headers: []Header{}, Size: len(rec.Value)}
	if rec.Key != nil {
		if utf8.Valid(rec.Key) {
			k := string(rec.Key)
			m.Key = &k
		} else {
			m.KeyBase64 = base64.StdEncoding.EncodeToString(rec.Key)
		}
	}
	for _, hd := range rec.Headers {
		h := Header{Key: string(hd.Key)}
		if hd.Value != nil {
			v := string(hd.Value)
			if !utf8.Valid(hd.Value) {
				v, h.Base64 = base64.StdEncoding.EncodeToString(hd.Value), true
			}
			h.Value = &v
		}
		m.Headers = append(m.Headers, h)
	}
	if reg != nil && len(rec.Value) >= 5 && rec.Value[0] == 0 && decodeValue(&m, rec.Value, reg) {
		return m
	}
	switch {
	case rec.Value == nil:
	case json.Valid(rec.Value):
		m.ValueJSON = append(json.RawMessage(nil), rec.Value...)
	case utf8.Valid(rec.Value):
		v := string(rec.Value)
		m.ValueText = &v
	default:
		m.ValueBase64 = base64.StdEncoding.EncodeToString(rec.Value)
	}
	return m
}

// browse is one partition's part of a browse request.
type browse struct {
	b         *broker.Broker
	topic     string
	part      int32
	prog      *filter.Program
	reg       *registry.Registry
	limit     int
	scanned   int64
	truncated bool
}

func (br *browse) match(rec *record.Record) bool {
	if br.prog == nil {
		return true
	}
	return br.prog.Match(&filter.Record{Key: rec.Key, Value: rec.Value, Headers: rec.Headers, Timestamp: rec.Timestamp, Partition: br.part, Offset: rec.Offset})
}

// scan reads [from, to) in order, calling fn for each record; fn returns
// false to stop.
func (br *browse) scan(from, to int64, fn func(rec *record.Record) bool) error {
	stop := errors.New("stop")
	for off := from; off < to; {
		res, err := br.b.Fetch(br.topic, br.part, off, 1<<20)
		if err != nil {
			return err
		}
		if len(res.Batches) == 0 {
			return nil
		}
		next := off
		err = record.ForEachInBatches(res.Batches, func(bh *record.BatchHeader, rec *record.Record) error {
			if bh.IsControl() || rec.Offset < off {
				return nil
			}
			if rec.Offset >= to {
				return stop
			}
			next = rec.Offset + 1
			br.scanned++
			if !fn(rec) {
				return stop
			}
			return nil
		})
		if errors.Is(err, stop) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("decode %s-%d at %d: %w", br.topic, br.part, off, err)
		}
		if next == off { // only control records or a batch before off
			last := off
			for pos := 0; pos+record.BatchHeaderSize <= len(res.Batches); {
				h, err := record.ParseBatchHeader(res.Batches[pos:])
				if err != nil || h.Size() <= 0 {
					break
				}
				last = h.LastOffset() + 1
				pos += h.Size()
			}
			if last <= off {
				return nil
			}
			next = last
		}
		off = next
	}
	return nil
}

// oldest returns up to limit matching records from offset from onwards,
// and the offset after the last one read.
func (br *browse) oldest(from, hw int64) ([]Message, int64, error) {
	var out []Message
	end := from
	err := br.scan(from, hw, func(rec *record.Record) bool {
		end = rec.Offset + 1
		if br.match(rec) {
			out = append(out, messageOf(br.part, rec, br.reg))
		}
		if br.scanned >= maxScan && len(out) < br.limit {
			br.truncated = true
			return false
		}
		return len(out) < br.limit
	})
	return out, end, err
}

// newest returns up to limit matching records below offset before, newest
// first, reading backwards in windows, and the lowest offset read.
func (br *browse) newest(before, start int64) ([]Message, int64, error) {
	var out []Message
	window := int64(br.limit)
	if br.prog != nil {
		window = 1000
	}
	lowest := before
	for lowest > start && len(out) < br.limit {
		if br.scanned >= maxScan {
			br.truncated = true
			break
		}
		from := max(start, lowest-window)
		var got []Message
		err := br.scan(from, lowest, func(rec *record.Record) bool {
			if br.match(rec) {
				got = append(got, messageOf(br.part, rec, br.reg))
			}
			return true
		})
		if err != nil {
			return nil, lowest, err
		}
		i := len(got) - 1
		for ; i >= 0 && len(out) < br.limit; i-- {
			out = append(out, got[i])
		}
		if i >= 0 { // the page filled inside this window
			lowest = out[len(out)-1].Offset
		} else {
			lowest = from
		}
		window *= 2
	}
	return out, lowest, nil
}

func (h *adminRoutes) messages(w http.ResponseWriter, r *http.Request) error {
	topic := r.PathValue("topic")
	info, err := h.b.Topic(topic)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 50, 1)
	if err != nil {
		return err
	}
	if limit > 1000 {
		return BadRequest("limit", "%d is over 1000", limit)
	}
	order := q.Get("order")
	switch order {
	case "":
		order = "newest"
	case "newest", "oldest":
	default:
		return BadRequest("order", "%q: want newest or oldest", order)
	}
	parts := make([]int32, 0, info.Partitions)
	if ps := q.Get("partition"); ps != "" {
		p, err := strconv.ParseInt(ps, 10, 32)
		if err != nil || p < 0 || int32(p) >= info.Partitions {
			return BadRequest("partition", "%q: want a partition of %s, 0 to %d", ps, topic, info.Partitions-1)
		}
		parts = append(parts, int32(p))
	} else {
		for p := int32(0); p < info.Partitions; p++ {
			parts = append(parts, p)
		}
	}
	var offset, ts int64 = -1, -1
	if q.Has("offset") {
		if len(parts) != 1 {
			return BadRequest("offset", "needs partition=")
		}
		if offset, err = queryInt(r, "offset", 0, 0); err != nil {
			return err
		}
	}
	if q.Has("time") {
		if ts, err = queryInt(r, "time", 0, 0); err != nil {
			return err
		}
	}
	var prog *filter.Program
	if expr := q.Get("filter"); expr != "" {
		if prog, err = filter.Compile(expr); err != nil {
			return BadRequest("filter", "%v", err)
		}
	}
	page := MessagePage{Messages: []Message{}}
	for _, p := range parts {
		start, hw, _, err := h.b.Offsets(topic, p)
		if err != nil {
			return err
		}
		pos := offset
		if ts >= 0 {
			o, _, err := h.b.ListOffset(topic, p, ts)
			if err != nil {
				return err
			}
			if o < 0 {
				o = hw
			}
			pos = o
		}
		br := &browse{b: h.b, topic: topic, part: p, prog: prog, reg: h.o.Schemas, limit: int(limit)}
		var msgs []Message
		var next int64
		if order == "oldest" {
			if pos < 0 {
				pos = start
			}
			msgs, next, err = br.oldest(max(pos, start), hw)
			if next >= hw {
				next = -1
			}
		} else {
			if pos < 0 {
				pos = hw
			}
			msgs, next, err = br.newest(min(pos, hw), start)
			if next <= start {
				next = -1
			}
		}
		if err != nil {
			return err
		}
		page.Messages = append(page.Messages, msgs...)
		page.Scanned += br.scanned
		page.Truncated = page.Truncated || br.truncated
		if len(parts) == 1 && next >= 0 {
			page.Next = &next
		}
	}
	if len(parts) > 1 {
		sort.SliceStable(page.Messages, func(i, j int) bool {
			a, b := page.Messages[i], page.Messages[j]
			if order == "oldest" {
				return a.Timestamp < b.Timestamp
			}
			return a.Timestamp > b.Timestamp
		})
		if len(page.Messages) > int(limit) {
			page.Messages = page.Messages[:limit]
		}
	}
	writeCompactJSON(w, http.StatusOK, page)
	return nil
}

// GroupSummary is one group of GET /v1/groups.
type GroupSummary struct {
	Group   string `json:"group"`
	Type    string `json:"type"`
	State   string `json:"state"`
	Members int    `json:"members"`
	Lag     int64  `json:"lag"`
}

func (h *adminRoutes) coordinator() (*group.Coordinator, error) {
	if h.g == nil {
		return nil, fmt.Errorf("%w: the group coordinator is not running", ErrNotReady)
	}
	return h.g, nil
}

func (h *adminRoutes) listGroups(w http.ResponseWriter, r *http.Request) error {
	g, err := h.coordinator()
	if err != nil {
		return err
	}
	list, err := g.List(r.Context(), nil, nil)
	if err != nil {
		return fmt.Errorf("list groups: %w", err)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Group < list[j].Group })
	if !AllowedCluster(r, opDescribe) {
		// Only the groups the caller may DESCRIBE, as ListGroups.
		kept := list[:0]
		for _, l := range list {
			if Allowed(r, opDescribe, rtGroup, l.Group) {
				kept = append(kept, l)
			}
		}
		list = kept
	}
	names := make([]string, len(list))
	for i, l := range list {
		names[i] = l.Group
	}
	descs, err := g.Describe(r.Context(), names)
	if err != nil {
		return fmt.Errorf("describe groups: %w", err)
	}
	out := make([]GroupSummary, 0, len(list))
	for i, l := range list {
		gs := GroupSummary{Group: l.Group, Type: "classic", State: l.State.String(), Members: len(descs[i].Members)}
		lags, err := g.Lag(r.Context(), l.Group)
		if err != nil {
			return fmt.Errorf("lag of group %s: %w", l.Group, err)
		}
		for _, pl := range lags {
			gs.Lag += pl.Lag
		}
		out = append(out, gs)
	}
	writeCompactJSON(w, http.StatusOK, out)
	return nil
}

// GroupMember is one member in GET /v1/groups/{group}.
type GroupMember struct {
	MemberID   string `json:"memberId"`
	InstanceID string `json:"instanceId,omitempty"`
	ClientID   string `json:"clientId"`
	ClientHost string `json:"clientHost"`
	// Assignment maps topic to partitions (consumer groups in Stable
	// state only).
	Assignment map[string][]int32 `json:"assignment,omitempty"`
}

// GroupOffset is one committed partition in GET /v1/groups/{group}.
type GroupOffset struct {
	Topic         string `json:"topic"`
	Partition     int32  `json:"partition"`
	Committed     int64  `json:"committed"`
	HighWatermark int64  `json:"highWatermark"`
	Lag           int64  `json:"lag"`
	// Member is the member assigned the partition, if any.
	Member string `json:"member,omitempty"`
}

// GroupDetail is the body of GET /v1/groups/{group}.
type GroupDetail struct {
	Group        string        `json:"group"`
	State        string        `json:"state"`
	ProtocolType string        `json:"protocolType"`
	Protocol     string        `json:"protocol"`
	Generation   int32         `json:"generation"`
	Leader       string        `json:"leader,omitempty"`
	Members      []GroupMember `json:"members"`
	Offsets      []GroupOffset `json:"offsets"`
	Lag          int64         `json:"lag"`
}

func (h *adminRoutes) groupDetail(w http.ResponseWriter, r *http.Request) error {
	g, err := h.coordinator()
	if err != nil {
		return err
	}
	name := r.PathValue("group")
	descs, err := g.Describe(r.Context(), []string{name})
	if err != nil {
		return fmt.Errorf("describe group %s: %w", name, err)
	}
	lags, err := g.Lag(r.Context(), name)
	if err != nil {
		return fmt.Errorf("lag of group %s: %w", name, err)
	}
	d := descs[0]
	if !d.Found && len(lags) == 0 {
		return fmt.Errorf("%w: consumer group %q", ErrNotFound, name)
	}
	out := GroupDetail{Group: name, State: d.State.String(), ProtocolType: d.ProtocolType, Protocol: d.Protocol,
		Generation: d.Generation, Leader: d.Leader, Members: []GroupMember{}, Offsets: []GroupOffset{}}
	owner := map[string]string{}
	for _, m := range d.Members {
		gm := GroupMember{MemberID: m.MemberID, InstanceID: m.InstanceID, ClientID: m.ClientID, ClientHost: m.ClientHost}
		if d.ProtocolType == "consumer" && len(m.Assignment) > 0 {
			var a kmsg.ConsumerMemberAssignment
			if err := a.ReadFrom(m.Assignment); err == nil {
				gm.Assignment = map[string][]int32{}
				for _, t := range a.Topics {
					gm.Assignment[t.Topic] = t.Partitions
					for _, p := range t.Partitions {
						owner[t.Topic+"\x00"+strconv.Itoa(int(p))] = m.MemberID
					}
				}
			}
		}
		out.Members = append(out.Members, gm)
	}
	sort.Slice(lags, func(i, j int) bool {
		if lags[i].Topic != lags[j].Topic {
			return lags[i].Topic < lags[j].Topic
		}
		return lags[i].Partition < lags[j].Partition
	})
	for _, l := range lags {
		out.Offsets = append(out.Offsets, GroupOffset{Topic: l.Topic, Partition: l.Partition, Committed: l.Committed,
			HighWatermark: l.HighWatermark, Lag: l.Lag, Member: owner[l.Topic+"\x00"+strconv.Itoa(int(l.Partition))]})
		out.Lag += l.Lag
	}
	writeCompactJSON(w, http.StatusOK, out)
	return nil
}

// CreateTopicRequest is the body of POST /v1/topics.
type CreateTopicRequest struct {
	Name string `json:"name"`
	// Partitions defaults to the server's default-partitions.
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs"`
}

func (h *adminRoutes) createTopic(w http.ResponseWriter, r *http.Request) error {
	if !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	var req CreateTopicRequest
	if err := decodeBody(r, w, &req, `{"name": "orders", "partitions": 3, "configs": {"retention.ms": "-1"}}`); err != nil {
		return err
	}
	if req.Name == "" {
		return BadRequest("name", "required: the topic's name")
	}
	if !AllowedCluster(r, opCreate) && !Allowed(r, opCreate, rtTopic, req.Name) {
		return Forbidden(opCreate, rtTopic, req.Name) // CREATE on the cluster or the topic
	}
	if req.Partitions == 0 {
		req.Partitions = h.b.DefaultPartitions()
	}
	info, err := h.b.CreateTopic(req.Name, req.Partitions, req.Configs, false)
	if err != nil {
		return err
	}
	writeCompactJSON(w, http.StatusCreated, summaryOf(info))
	return nil
}

func (h *adminRoutes) deleteTopic(w http.ResponseWriter, r *http.Request) error {
	if !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	name := r.PathValue("topic")
	info, err := h.b.Topic(name)
	if err != nil {
		return err
	}
	if info.ViewSource() != "" {
		return fmt.Errorf("%w: %s is a view; delete it with DELETE /v1/views/%s", ErrConflict, name, name)
	}
	if err := h.b.DeleteTopic(name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// OffsetResetRequest is the body of POST /v1/groups/{group}/offsets/reset.
type OffsetResetRequest struct {
	// Topic limits the reset to one topic (every partition of it);
	// empty resets every partition the group has committed.
	Topic string `json:"topic"`
	// Partitions limits a reset of Topic to these partitions (a client
	// resetting many partitions sends them in slices to show progress).
	Partitions []int32 `json:"partitions,omitempty"`
	// To is earliest, latest, time (Time) or offset (Offset, clamped to
	// each partition's log start and high watermark).
	To     string `json:"to"`
	Time   int64  `json:"time"`
	Offset int64  `json:"offset"`
	// DryRun computes the new offsets without committing them; it is
	// allowed without --console-write.
	DryRun bool `json:"dryRun"`
}

// OffsetResetPartition is one partition of an offset reset answer.
type OffsetResetPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// Current is the committed offset before the reset, -1 for none.
	Current   int64 `json:"current"`
	Target    int64 `json:"target"`
	LagBefore int64 `json:"lagBefore"`
	LagAfter  int64 `json:"lagAfter"`
}

// OffsetResetResult is the answer of an offset reset.
type OffsetResetResult struct {
	Group      string                 `json:"group"`
	DryRun     bool                   `json:"dryRun"`
	Partitions []OffsetResetPartition `json:"partitions"`
}

func (h *adminRoutes) resetOffsets(w http.ResponseWriter, r *http.Request) error {
	g, err := h.coordinator()
	if err != nil {
		return err
	}
	name := r.PathValue("group")
	var req OffsetResetRequest
	if err := decodeBody(r, w, &req, `{"to": "earliest"|"latest"|"time"|"offset", "topic": "orders", "partitions": [0, 1], "time": 1764115200000, "offset": 0, "dryRun": true}`); err != nil {
		return err
	}
	switch req.To {
	case "earliest", "latest", "time", "offset":
	default:
		return BadRequest("to", "%q: want earliest, latest, time or offset", req.To)
	}
	if !req.DryRun && !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	descs, err := g.Describe(r.Context(), []string{name})
	if err != nil {
		return fmt.Errorf("describe group %s: %w", name, err)
	}
	if n := len(descs[0].Members); n > 0 {
		return fmt.Errorf("%w: group %s has %d active member(s); stop its consumers first (offsets of an active group cannot be reset)", ErrConflict, name, n)
	}
	lags, err := g.Lag(r.Context(), name)
	if err != nil {
		return fmt.Errorf("lag of group %s: %w", name, err)
	}
	current := map[string]int64{}
	for _, l := range lags {
		current[l.Topic+"\x00"+strconv.Itoa(int(l.Partition))] = l.Committed
	}
	type tp struct {
		topic string
		part  int32
	}
	var parts []tp
	if req.Topic != "" && !Allowed(r, opRead, rtTopic, req.Topic) {
		return Forbidden(opRead, rtTopic, req.Topic)
	}
	if req.Topic != "" {
		info, err := h.b.Topic(req.Topic)
		if err != nil {
			return err
		}
		if len(req.Partitions) > 0 {
			for _, p := range req.Partitions {
				if p < 0 || p >= info.Partitions {
					return BadRequest("partitions", "%d: %s has partitions 0 to %d", p, req.Topic, info.Partitions-1)
				}
				parts = append(parts, tp{req.Topic, p})
			}
		} else {
			for p := int32(0); p < info.Partitions; p++ {
				parts = append(parts, tp{req.Topic, p})
			}
		}
	} else {
		if len(req.Partitions) > 0 {
			return BadRequest("partitions", "needs topic")
		}
		for _, l := range lags {
			if Allowed(r, opRead, rtTopic, l.Topic) { // as OffsetCommit: READ on the topic
				parts = append(parts, tp{l.Topic, l.Partition})
			}
		}
	}
	if len(parts) == 0 {
		return BadRequest("topic", "group %s has no committed offsets; name the topic to reset", name)
	}
	res := OffsetResetResult{Group: name, DryRun: req.DryRun, Partitions: []OffsetResetPartition{}}
	var commit []group.CommitOffset
	for _, p := range parts {
		start, hw, _, err := h.b.Offsets(p.topic, p.part)
		if err != nil {
			return err
		}
		var target int64
		switch req.To {
		case "earliest":
			target = start
		case "latest":
			target = hw
		case "time":
			o, _, err := h.b.ListOffset(p.topic, p.part, req.Time)
			if err != nil {
				return err
			}
			target = o
			if o < 0 {
				target = hw
			}
		case "offset":
			target = min(max(req.Offset, start), hw)
		}
		cur, ok := current[p.topic+"\x00"+strconv.Itoa(int(p.part))]
		if !ok {
			cur = -1
		}
		rp := OffsetResetPartition{Topic: p.topic, Partition: p.part, Current: cur, Target: target, LagAfter: hw - target}
		if cur >= 0 {
			rp.LagBefore = max(hw-cur, 0)
		}
		res.Partitions = append(res.Partitions, rp)
		commit = append(commit, group.CommitOffset{Topic: p.topic, Partition: p.part, Offset: target, LeaderEpoch: -1})
	}
	if !req.DryRun {
		errs, err := g.Commit(r.Context(), group.CommitRequest{Group: name, Generation: -1, Offsets: commit})
		if err != nil {
			return fmt.Errorf("commit reset offsets of group %s: %w", name, err)
		}
		for i, e := range errs {
			if e != nil {
				return fmt.Errorf("%w: commit %s-%d for group %s: %v", ErrConflict, commit[i].Topic, commit[i].Partition, name, e)
			}
		}
	}
	writeCompactJSON(w, http.StatusOK, res)
	return nil
}
