package broker

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/promreg"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/views"
)

// Views are read-only topics defined by a source topic and a CEL filter
// (package views). They share the topic namespace: Topic, TopicByID,
// Offsets, ListOffset and waiters resolve a view to its source's
// partitions; FetchInto filters the source's batches; Write refuses them;
// CreateTopic with the eddy.view.source config, AlterTopicConfigs on
// eddy.view.filter, DescribeTopicConfigs and DeleteTopic define, change,
// show and remove them. Definitions live in Config.Views.

// ErrViewSource is returned by DeleteTopic for a topic that views read.
var ErrViewSource = errors.New("topic is the source of views")

// Scan limits of one view fetch that finds nothing to return: it reads at
// most this much of the source before answering with an empty batch that
// moves the consumer past what was scanned.
const (
	viewScanChunk    = 1 << 20
	viewScanMaxBytes = 64 << 20
	viewScanMaxTime  = 50 * time.Millisecond
	viewErrLogEvery  = 10 * time.Second
)

type view struct {
	def  views.Def
	prog *filter.Program

	lastErrLog atomic.Int64 // unix nanos of the last logged evaluation error
	errsSeen   atomic.Uint64
}

// viewState is the broker's view table: an immutable map replaced on each
// change (readers take no lock), changes serialized by Broker.mu.
type viewState struct {
	store   views.Store
	table   atomic.Pointer[map[string]*view]
	metrics *viewMetrics

	// skips remembers stretches scanned without a match, by where the
	// scan started: a fetch from the same offset (a client that does not
	// follow filler batches, or a parked fetch re-read on each write)
	// resumes the scan where the last one ended instead of re-reading.
	// Source logs are append-only, so an entry stays true; a changed
	// filter is a new *view, so it never hits an old entry.
	skipMu sync.Mutex
	skips  map[skipKey]skipEnd
}

type skipKey struct {
	v    *view
	part int32
	from int64
}

type skipEnd struct{ end, ts int64 }

// maxSkips bounds the skip cache; it is emptied when full.
const maxSkips = 8192

func (s *viewState) skip(k skipKey) (skipEnd, bool) {
	s.skipMu.Lock()
	defer s.skipMu.Unlock()
	e, ok := s.skips[k]
	return e, ok
}

func (s *viewState) setSkip(k skipKey, e skipEnd) {
	s.skipMu.Lock()
	defer s.skipMu.Unlock()
	if s.skips == nil || len(s.skips) >= maxSkips {
		s.skips = make(map[skipKey]skipEnd)
	}
	s.skips[k] = e
}

type viewMetrics struct {
	scanned, matched, errs, bytes *prometheus.CounterVec
}

func newViewMetrics(reg prometheus.Registerer) (*viewMetrics, error) {
	vec := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "eddy", Subsystem: "view", Name: name, Help: help}, []string{"view"})
	}
	m := &viewMetrics{
		scanned: vec("records_scanned_total", "Source records a view's filter evaluated."),
		matched: vec("records_matched_total", "Source records a view's filter matched."),
		errs:    vec("filter_errors_total", "Evaluations of a view's filter that failed (the record did not match)."),
		bytes:   vec("bytes_scanned_total", "Stored source batch bytes a view's fetches scanned."),
	}
	if err := promreg.All(reg, &m.scanned, &m.matched, &m.errs, &m.bytes); err != nil {
		return nil, err
	}
	return m, nil
}

// openViews loads the definitions of Config.Views. A definition whose
// filter no longer compiles is kept (so it can be altered or deleted) and
// matches nothing; the problem is logged.
func (b *Broker) openViews() error {
	b.vw.store = b.cfg.Views
	if b.vw.store == nil {
		b.vw.store = views.NewMetaStore(b.cfg.Meta)
	}
	m, err := newViewMetrics(b.cfg.Registerer)
	if err != nil {
		return err
	}
	b.vw.metrics = m
	table := map[string]*view{}
	defs, err := b.vw.store.List()
	if err != nil {
		return err
	}
	for _, d := range defs {
		prog, err := filter.Compile(d.Filter)
		if err != nil {
			b.log.Error("view filter does not compile; the view matches nothing until its filter is changed", "view", d.Name, "err", err)
			prog, _ = filter.Compile("false")
		}
		table[d.Name] = &view{def: d, prog: prog}
	}
	b.vw.table.Store(&table)
	return nil
}

// view returns the view named name, or nil.
func (b *Broker) view(name string) *view {
	t := b.vw.table.Load()
	if t == nil {
		return nil
	}
	return (*t)[name]
}

// readPartition is partition for read-only uses (offsets, waiters): a view
// reads its source's partitions. Anything that changes a partition uses
// partition, which does not know views.
func (b *Broker) readPartition(topic string, part int32) (*partition, error) {
	if v := b.view(topic); v != nil {
		topic = v.def.Source
	}
	return b.partition(topic, part)
}

// viewInfoLocked describes v as a topic: its source's partition count and
// config, with the view's two configs as its overrides. b.mu is held.
func (b *Broker) viewInfoLocked(v *view) TopicInfo {
	info := TopicInfo{Name: v.def.Name, ID: v.def.ID, Config: b.cfg.TopicDefaults,
		Overrides: map[string]string{views.SourceConfig: v.def.Source, views.FilterConfig: v.def.Filter}}
	if src, ok := b.mu.topics[v.def.Source]; ok {
		info.Partitions = int32(len(src.parts))
		info.Config = src.cfg
	}
	return info
}

// ViewSource returns the source topic of a view's TopicInfo, or "" for a
// topic.
func (i TopicInfo) ViewSource() string { return i.Overrides[views.SourceConfig] }

// Views lists every view as a topic, sorted by name.
func (b *Broker) Views() []TopicInfo {
	t := b.vw.table.Load()
	if t == nil {
		return nil
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]TopicInfo, 0, len(*t))
	for _, v := range *t {
		out = append(out, b.viewInfoLocked(v))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// viewByID returns the name of the view with topic id id.
func (b *Broker) viewByID(id [16]byte) (string, bool) {
	t := b.vw.table.Load()
	if t == nil {
		return "", false
	}
	for _, v := range *t {
		if v.def.ID == id {
			return v.def.Name, true
		}
	}
	return "", false
}

// CreateView defines view name over source with filter expr; partitions
// must be -1 or the source's count. Errors: ErrInvalidTopic (bad or taken
// name), ErrTopicExists, ErrInvalidConfig (no such source, a view as
// source, a filter that does not compile), ErrInvalidPartitions.
func (b *Broker) CreateView(name, source, expr string, partitions int32, validateOnly bool) (TopicInfo, error) {
	if err := ValidateTopicName(name); err != nil {
		return TopicInfo{}, err
	}
	prog, err := compileViewFilter(expr)
	if err != nil {
		return TopicInfo{}, err
	}
	var id [16]byte
	_, _ = rand.Read(id[:])
	v := &view{def: views.Def{Name: name, Source: source, Filter: expr, ID: id}, prog: prog}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closed {
		return TopicInfo{}, ErrClosed
	}
	if b.view(name) != nil {
		return TopicInfo{}, fmt.Errorf("%w: %s (a view)", ErrTopicExists, name)
	}
	if b.view(source) != nil {
		return TopicInfo{}, fmt.Errorf("%w: %s=%s is a view; a view's source must be a topic", ErrInvalidConfig, views.SourceConfig, source)
	}
	src, ok := b.mu.topics[source]
	if !ok {
		return TopicInfo{}, fmt.Errorf("%w: %s=%s: no such topic", ErrInvalidConfig, views.SourceConfig, source)
	}
	if partitions != -1 && partitions != int32(len(src.parts)) {
		return TopicInfo{}, fmt.Errorf("%w: a view has its source's partitions (%s has %d), asked for %d", ErrInvalidPartitions, source, len(src.parts), partitions)
	}
	if _, ok := b.mu.topics[name]; ok {
		return TopicInfo{}, fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	if _, ok := b.mu.creating[name]; ok {
		return TopicInfo{}, fmt.Errorf("%w: %s (being created)", ErrTopicExists, name)
	}
	ck := collisionKey(name)
	for other := range b.mu.topics {
		if collisionKey(other) == ck {
			return TopicInfo{}, fmt.Errorf("%w: %q collides with existing topic %q ('.' and '_' are alike in metric names)", ErrInvalidTopic, name, other)
		}
	}
	if validateOnly {
		return b.viewInfoLocked(v), nil
	}
	if err := b.vw.store.Put(v.def); err != nil {
		return TopicInfo{}, err
	}
	b.setViewLocked(name, v)
	b.log.Info("created view", "view", name, "source", source, "filter", expr)
	return b.viewInfoLocked(v), nil
}

func compileViewFilter(expr string) (*filter.Program, error) {
	if expr == "" {
		return nil, fmt.Errorf("%w: %s is required (a CEL expression returning bool)", ErrInvalidConfig, views.FilterConfig)
	}
	prog, err := filter.Compile(expr)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalidConfig, views.FilterConfig, err)
	}
	return prog, nil
}

// setViewLocked replaces the table with one where name maps to v (nil:
// removed). b.mu is held.
func (b *Broker) setViewLocked(name string, v *view) {
	old := b.vw.table.Load()
	next := make(map[string]*view, len(*old)+1)
	for k, x := range *old {
		next[k] = x
	}
	if v == nil {
		delete(next, name)
	} else {
		next[name] = v
	}
	b.vw.table.Store(&next)
}

// alterView applies config changes to a view: only eddy.view.filter may be
// set; consumers see the new filter from their next fetch.
func (b *Broker) alterView(v *view, ops []ConfigOp, validateOnly bool) error {
	expr := v.def.Filter
	for _, op := range ops {
		switch {
		case op.Name == views.FilterConfig && op.Op == OpSet:
			expr = op.Value
		case op.Name == views.SourceConfig && op.Op == OpSet && op.Value == v.def.Source:
		case op.Name == views.FilterConfig || op.Name == views.SourceConfig:
			return fmt.Errorf("%w: %s of a view can only be set (a view's source cannot change; delete and re-create the view)", ErrInvalidConfig, op.Name)
		default:
			return fmt.Errorf("%w: %s is a view of %s; only %s can be changed", ErrInvalidConfig, v.def.Name, v.def.Source, views.FilterConfig)
		}
	}
	prog, err := compileViewFilter(expr)
	if err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	cur := b.view(v.def.Name)
	if cur == nil {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, v.def.Name)
	}
	def := cur.def
	def.Filter = expr
	if err := b.vw.store.Put(def); err != nil {
		return err
	}
	b.setViewLocked(def.Name, &view{def: def, prog: prog})
	b.log.Info("changed view filter", "view", def.Name, "filter", expr)
	return nil
}

// setViewConfigs replaces a view's configs (AlterConfigs): the filter is
// set; the source, if given, must stay the same.
func (b *Broker) setViewConfigs(v *view, configs map[string]string, validateOnly bool) error {
	for k, val := range configs {
		switch {
		case k == views.SourceConfig && val == v.def.Source, k == views.FilterConfig:
		case k == views.SourceConfig:
			return fmt.Errorf("%w: a view's source cannot change (delete and re-create the view)", ErrInvalidConfig)
		default:
			return fmt.Errorf("%w: %s is a view of %s; only %s can be changed", ErrInvalidConfig, v.def.Name, v.def.Source, views.FilterConfig)
		}
	}
	return b.alterView(v, []ConfigOp{{Name: views.FilterConfig, Op: OpSet, Value: configs[views.FilterConfig]}}, validateOnly)
}

// deleteView removes a view (never its source).
func (b *Broker) deleteView(name string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.view(name) == nil {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	if err := b.vw.store.Delete(name); err != nil {
		return err
	}
	b.setViewLocked(name, nil)
	b.log.Info("deleted view", "view", name)
	return nil
}

// viewsOf names the views reading source.
func (b *Broker) viewsOf(source string) []string {
	var out []string
	if t := b.vw.table.Load(); t != nil {
		for _, v := range *t {
			if v.def.Source == source {
				out = append(out, v.def.Name)
			}
		}
	}
	sort.Strings(out)
	return out
}

// describeView lists a view's configs.
func describeView(v *view) []ConfigEntry {
	return []ConfigEntry{
		{Name: views.FilterConfig, Value: v.def.Filter, Kind: KindString, Doc: "CEL expression selecting the source's records this view shows."},
		{Name: views.SourceConfig, Value: v.def.Source, Kind: KindString, Doc: "The topic this view reads (fixed at creation)."},
	}
}

// viewWriteError is Write's refusal of a view.
func viewWriteError(v *view) error {
	return fmt.Errorf("%w: %s is a read-only view of %s; produce to %s", ErrInvalidTopic, v.def.Name, v.def.Source, v.def.Source)
}

type viewScratch struct {
	f   views.Filter
	buf []byte
}

var viewScratchPool = sync.Pool{New: func() any { return &viewScratch{buf: make([]byte, 0, viewScanChunk+64<<10)} }}

// fetchView reads a view's partition: the source's batches from offset,
// filtered, up to maxBytes (at least one batch, KIP-74). When the scan
// budget runs out with nothing matched it returns an empty batch covering
// what it scanned, and a trailing empty batch covers non-matching records
// scanned after the last match, so consumers never re-scan them.
func (b *Broker) fetchView(dst []byte, v *view, part int32, offset int64, maxBytes int) (FetchResult, error) {
	p, err := b.partition(v.def.Source, part)
	if err != nil {
		return FetchResult{}, err
	}
	sc := viewScratchPool.Get().(*viewScratch)
	defer viewScratchPool.Put(sc)
	sc.f.Prog, sc.f.Partition, sc.f.Min, sc.f.KeepCodec = v.prog, part, offset, views.CheapCodecs
	var st views.Stats
	errsBefore := v.prog.Errors()

	out := dst[:0]
	cur := offset     // next source offset to scan
	covered := offset // next offset not covered by out
	lastTS := int64(-1)
	if e, ok := b.vw.skip(skipKey{v, part, offset}); ok {
		cur, lastTS = e.end, e.ts
	}
	start := time.Now()
	var res FetchResult
	for first := true; ; first = false {
		r, err := p.fetch(sc.buf[:0], cur, viewScanChunk)
		if cap(r.Batches) > cap(sc.buf) && cap(r.Batches) <= 4*viewScanChunk {
			sc.buf = r.Batches[:0]
		}
		res.HighWatermark, res.LogStartOffset, res.LogEndOffset = r.HighWatermark, r.LogStartOffset, r.LogEndOffset
		if err != nil {
			if first {
				return res, err
			}
			break
		}
		if len(r.Batches) == 0 {
			break
		}
		full := false
		for pos := 0; pos+record.BatchHeaderSize <= len(r.Batches); {
			h, err := record.ParseBatchHeader(r.Batches[pos:])
			if err != nil || h.Size() <= 0 || pos+h.Size() > len(r.Batches) {
				break
			}
			batch := r.Batches[pos : pos+h.Size()]
			pos += h.Size()
			if h.LastOffset() < cur {
				continue
			}
			mark := len(out)
			if need := 2*len(batch) + 4<<10; cap(out)-len(out) < need {
				out = growViewOut(out, need, maxBytes, st.Records, r.HighWatermark-cur)
			}
			out, err = sc.f.AppendBatch(out, batch, &h, &st)
			if err != nil {
				out = out[:mark]
				b.log.Error("view: source batch does not decode", "view", v.def.Name, "partition", part, "offset", h.BaseOffset, "err", err)
			}
			if len(out) > maxBytes && mark > 0 {
				out = out[:mark] // the next fetch starts with this batch
				full = true
				break
			}
			cur = h.LastOffset() + 1
			lastTS = h.MaxTimestamp
			if len(out) > mark {
				covered = cur
			}
			if len(out) >= maxBytes {
				full = true
				break
			}
		}
		if full || st.Bytes >= viewScanMaxBytes || time.Since(start) >= viewScanMaxTime || cur >= r.HighWatermark {
			break
		}
	}
	if cur > covered {
		last := cur - 1
		if last-covered > 1<<31-1 {
			last = covered + 1<<31 - 1
		}
		mark := len(out)
		out = record.AppendEmptyBatch(out, covered, last, lastTS)
		res.Filler = len(out) - mark
		b.vw.setSkip(skipKey{v, part, covered}, skipEnd{end: last + 1, ts: lastTS})
	}
	res.Batches = out
	m := b.vw.metrics
	m.scanned.WithLabelValues(v.def.Name).Add(float64(st.Records))
	m.matched.WithLabelValues(v.def.Name).Add(float64(st.Matched))
	m.bytes.WithLabelValues(v.def.Name).Add(float64(st.Bytes))
	if n := v.prog.Errors() - errsBefore; n > 0 {
		m.errs.WithLabelValues(v.def.Name).Add(float64(n))
		now := time.Now().UnixNano()
		if last := v.lastErrLog.Load(); now-last >= int64(viewErrLogEvery) && v.lastErrLog.CompareAndSwap(last, now) {
			b.log.Warn("view filter evaluation failed; those records do not match", "view", v.def.Name, "partition", part,
				"failures", n, "err", v.prog.LastError())
		}
	}
	return res, nil
}

// UnreadFrom returns the first offset at or after from that may hold a
// record a consumer of topic still reads. For a view it moves past the
// source records that do not match: those a view fetch scanned without a
// match (the skip cache), and what one more bounded scan finds (within a
// view fetch's limits; it stops at the first match, and remembers a
// stretch without one). So the lag of a group that committed after its
// last matching record is 0, not the count of the source's records after
// it. For other topics, and on any error, it returns from.
func (b *Broker) UnreadFrom(topic string, part int32, from int64) int64 {
	v := b.view(topic)
	if v == nil {
		return from
	}
	res, err := b.fetchView(nil, v, part, from, 1)
	if err != nil || res.Filler == 0 || res.Filler != len(res.Batches) {
		return from // a match (or nothing scanned) at or after from
	}
	h, err := record.ParseBatchHeader(res.Batches)
	if err != nil {
		return from
	}
	return h.LastOffset() + 1
}

// growViewOut makes room for need more bytes in a view fetch's output,
// whose limit is maxBytes, after seen source records, with about left
// more to scan. It grows at once to what the output will likely reach —
// its size per record so far times the records left, within maxBytes —
// rather than by doubling, which copied a large response several times
// over and cleared as much again (a third of a large view fetch's CPU).
// An estimate too small is corrected by doubling, one too large costs
// unused capacity, up to maxBytes.
func growViewOut(out []byte, need, maxBytes int, seen, left int64) []byte {
	want := max(len(out)+need, 2*cap(out))
	if seen > 0 && left > 0 {
		est := float64(len(out)) * (1 + float64(left)/float64(seen))
		est *= 1.125 // margin: one more grow costs more than 12 % unused
		want = max(want, int(min(est, float64(maxBytes)+float64(need))))
	}
	return slices.Grow(out, want-len(out))
}

// IsView reports whether topic names a view.
func (b *Broker) IsView(topic string) bool { return b.view(topic) != nil }
