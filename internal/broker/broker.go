// Package broker owns Eddy's topics and partitions: it maps each partition
// onto a commitlog.Log in <data>/<topic>-<partition>/, keeps per-topic
// configs in the meta store, and offers the produce, fetch and list-offsets
// core that the protocol front ends (internal/kafka, internal/httpapi)
// translate their requests into. Nothing here knows about the Kafka wire
// protocol or HTTP.
//
// Concurrency: a Broker is safe for concurrent use. The topic table is
// guarded by one RWMutex; each partition has its own mutex that is held only
// around the checks and commitlog.Write of an append, never while waiting
// for an fsync, so producers to the same and different partitions share
// group commits. Lock order: Broker.mu → partition.mu; nothing calls back
// into the broker while holding a partition lock.
//
// Usage:
//
//	cfg := broker.DefaultConfig()
//	cfg.DataDir, cfg.Meta = dir, metaStore
//	b, err := broker.Open(cfg)
//	defer b.Close()
//	w, err := b.Write("orders", 0, batches, broker.WriteOptions{}) // check → Write → record
//	err = w.Wait()                         // durable per the topic's eddy.fsync
//	res, err := b.Fetch("orders", 0, 0, 1<<20)
package broker

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/vfs"
	"github.com/eddy-streaming/eddy/internal/views"
)

// Meta buckets used by the broker.
const (
	topicsBucket  = "topics"
	clusterBucket = "cluster"
)

// Config configures a Broker. Start from DefaultConfig.
type Config struct {
	// DataDir holds one directory per partition.
	DataDir string
	// FS is the filesystem; nil means vfs.OS().
	FS vfs.FS
	// Meta stores topic configs and the cluster id. Required.
	Meta *meta.Store
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives the broker's and the logs' metrics; nil disables
	// them.
	Registerer prometheus.Registerer
	// AutoCreateTopics creates unknown topics on Metadata requests that
	// allow it (EnsureTopic). DefaultConfig sets it true, as Kafka.
	AutoCreateTopics bool
	// DefaultPartitions is the partition count of auto-created topics and
	// of CreateTopic calls passing -1. Zero means 1.
	DefaultPartitions int32
	// TopicDefaults are the configs of topics that do not override them.
	TopicDefaults TopicConfig
	// LogOptions is the base of every partition's commitlog options; FS,
	// Sync, segment and retention fields are overwritten per topic. Zero
	// means commitlog.DefaultOptions().
	LogOptions *commitlog.Options
	// RetentionCheckInterval is how often retention runs. Zero means 1 minute.
	RetentionCheckInterval time.Duration
	// Now is the clock (LogAppendTime); nil means time.Now.
	Now func() time.Time
	// Hooks is the append hook chain, run in order by every Write (see
	// AppendHook): the idempotent producers first, then the event store.
	// Nil entries are skipped. Fixed for the broker's life.
	Hooks []AppendHook
	// Views stores view definitions (see views.go); nil means
	// views.NewMetaStore(Meta).
	Views views.Store
	// DecompressionRatio bounds what a produced compressed batch may
	// decompress to, as a multiple of its topic's max.message.bytes
	// (validate.go). Zero means 64.
	DecompressionRatio int
	// MaxOpenFiles bounds the segment files held open across every
	// partition (commitlog.FileCache: least recently used ones are closed
	// and reopened on demand). Zero keeps every segment file open.
	MaxOpenFiles int
	// CommitJournalBytes sizes the commit journal in DataDir
	// (commitlog.CommitterOptions.JournalBytes); zero (DefaultConfig's)
	// disables it, eddy serve's default is 128 MiB (internal/config). A
	// journal left by an earlier run is replayed either way.
	CommitJournalBytes int64
}

// DefaultConfig returns a Config with Kafka's defaults: auto-create on, one
// partition, DefaultTopicConfig.
func DefaultConfig() Config {
	return Config{AutoCreateTopics: true, DefaultPartitions: 1, TopicDefaults: DefaultTopicConfig()}
}

// Broker is the set of topics of one data directory.
type Broker struct {
	cfg       Config
	fs        vfs.FS
	log       *slog.Logger
	logOpts   commitlog.Options
	committer *commitlog.Committer
	metrics   *metrics
	now       func() time.Time
	clusterID string
	openSem   chan struct{} // bounds the partition logs opening at once

	mu struct {
		sync.RWMutex
		topics map[string]*topic
		byID   map[[16]byte]*topic
		// keys maps each topic's collisionKey to its name, so a new name
		// is checked against every topic without walking them.
		keys map[string]string
		// creating holds names whose logs are being opened by CreateTopic;
		// the channel closes when that ends.
		creating map[string]chan struct{}
		closed   bool
	}

	hooks []AppendHook // Config.Hooks without nils; never changes
	vw    viewState

	stop chan struct{}
	wg   sync.WaitGroup
}

// topicRecord is the meta encoding of a topic (bucket "topics", key = name).
type topicRecord struct {
	V          int               `json:"v"`
	ID         string            `json:"id"`
	Partitions int32             `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

type topic struct {
	name      string
	id        [16]byte
	overrides map[string]string
	cfg       TopicConfig
	parts     []*partition
}

// Open opens every topic recorded in cfg.Meta, recovering its partition
// logs, and starts the retention goroutine.
func Open(cfg Config) (*Broker, error) {
	if cfg.Meta == nil {
		return nil, errors.New("broker: Config.Meta is required")
	}
	if cfg.DataDir == "" {
		return nil, errors.New("broker: Config.DataDir is required")
	}
	if cfg.FS == nil {
		cfg.FS = vfs.OS()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.DefaultPartitions <= 0 {
		cfg.DefaultPartitions = 1
	}
	if cfg.TopicDefaults == (TopicConfig{}) {
		cfg.TopicDefaults = DefaultTopicConfig()
	}
	if cfg.RetentionCheckInterval <= 0 {
		cfg.RetentionCheckInterval = time.Minute
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	b := &Broker{cfg: cfg, fs: cfg.FS, log: cfg.Logger, now: cfg.Now, stop: make(chan struct{}),
		openSem: make(chan struct{}, logOpenParallelism)}
	for _, h := range cfg.Hooks {
		if h != nil {
			b.hooks = append(b.hooks, h)
		}
	}
	if cfg.LogOptions != nil {
		b.logOpts = *cfg.LogOptions
	} else {
		b.logOpts = commitlog.DefaultOptions()
	}
	b.logOpts.FS = cfg.FS
	b.logOpts.Logger = cfg.Logger
	b.logOpts.Registerer = cfg.Registerer
	if b.logOpts.Now == nil {
		b.logOpts.Now = cfg.Now
	}
	if b.logOpts.Committer == nil {
		b.committer = newCommitter(b.logOpts, cfg.DataDir, cfg.CommitJournalBytes)
		b.logOpts.Committer = b.committer
		if _, err := b.committer.OpenJournal(); err != nil {
			b.committer.Close()
			return nil, fmt.Errorf("broker: %w", err)
		}
	}
	if cfg.MaxOpenFiles > 0 && b.logOpts.Files == nil {
		files, err := commitlog.NewFileCache(commitlog.FileCacheOptions{MaxOpen: cfg.MaxOpenFiles, Registerer: cfg.Registerer})
		if err != nil {
			return nil, fmt.Errorf("broker: %w", err)
		}
		b.logOpts.Files = files
	}
	// Logs recovered after a crash leave their tails to finishRecovery:
	// one commit round for all of them.
	b.logOpts.DeferRecoverySync = true
	// The shared committer registers the fsync metrics once.
	b.logOpts.Registerer = nil
	var err error
	if b.metrics, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	b.mu.topics = make(map[string]*topic)
	b.mu.byID = make(map[[16]byte]*topic)
	b.mu.keys = make(map[string]string)
	b.mu.creating = make(map[string]chan struct{})
	if err := b.fs.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if err := b.loadClusterID(); err != nil {
		return nil, err
	}
	if err := b.openViews(); err != nil {
		return nil, err
	}
	var recs []struct {
		name string
		rec  topicRecord
	}
	err = cfg.Meta.ForEach(topicsBucket, "", func(k string, v []byte) error {
		var r topicRecord
		if err := json.Unmarshal(v, &r); err != nil {
			return fmt.Errorf("decode topic %s: %w", k, err)
		}
		recs = append(recs, struct {
			name string
			rec  topicRecord
		}{k, r})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load topics: %w", err)
	}
	// Topics open in parallel (openPartition bounds how many logs open at
	// once): each log's recovery fsyncs its directory, and one after the
	// other those fsyncs made a restart with thousands of partitions take
	// seconds.
	opened := make([]*topic, len(recs))
	err = forEachParallel(len(recs), len(recs), func(i int) error {
		t, err := b.openTopic(recs[i].name, recs[i].rec, false)
		opened[i] = t
		return err
	})
	for _, t := range opened {
		if t != nil {
			b.mu.topics[t.name] = t
			b.mu.byID[t.id] = t
			b.mu.keys[collisionKey(t.name)] = t.name
		}
	}
	if err == nil {
		err = b.finishRecovery()
	}
	if err != nil {
		b.closeTopics()
		return nil, err
	}
	b.wg.Add(1)
	go b.retentionLoop()
	return b, nil
}

func (b *Broker) loadClusterID() error {
	v, err := b.cfg.Meta.Get(clusterBucket, "id")
	if err != nil {
		return fmt.Errorf("load cluster id: %w", err)
	}
	if v != nil {
		b.clusterID = string(v)
		return nil
	}
	var raw [16]byte
	_, _ = rand.Read(raw[:])
	id := base64.RawURLEncoding.EncodeToString(raw[:])
	if err := b.cfg.Meta.Put(clusterBucket, "id", []byte(id)); err != nil {
		return fmt.Errorf("store cluster id: %w", err)
	}
	b.clusterID = id
	return nil
}

// ClusterID is this data directory's cluster id, generated on first open
// and kept in meta.
func (b *Broker) ClusterID() string { return b.clusterID }

// Close stops retention and closes every partition log. It does not close
// Config.Meta.
func (b *Broker) Close() error {
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return nil
	}
	b.mu.closed = true
	b.mu.Unlock()
	close(b.stop)
	b.wg.Wait()
	err := b.closeTopics()
	if b.committer != nil {
		if cerr := closeCommitter(b.committer); err == nil {
			err = cerr
		}
	}
	return err
}

func (b *Broker) closeTopics() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var parts []*partition
	for _, t := range b.mu.topics {
		parts = append(parts, t.parts...)
	}
	// In parallel: closing a log fsyncs it and writes its clean marker.
	return forEachParallel(len(parts), logOpenParallelism, func(i int) error { return parts[i].close() })
}

func (b *Broker) partitionDir(topic string, p int32) string {
	return filepath.Join(b.cfg.DataDir, topic+"-"+strconv.Itoa(int(p)))
}

// openTopic opens (fresh: after removing stale directories) the logs of a
// topic described by rec.
func (b *Broker) openTopic(name string, rec topicRecord, fresh bool) (*topic, error) {
	t := &topic{name: name, overrides: rec.Configs}
	if t.overrides == nil {
		t.overrides = map[string]string{}
	}
	if raw, err := hex.DecodeString(rec.ID); err == nil && len(raw) == 16 {
		copy(t.id[:], raw)
	}
	t.cfg = effective(b.cfg.TopicDefaults, t.overrides)
	t.parts = make([]*partition, rec.Partitions)
	err := forEachParallel(int(rec.Partitions), int(rec.Partitions), func(i int) error {
		p, err := b.openPartition(t, int32(i), fresh)
		t.parts[i] = p
		return err
	})
	if err != nil {
		for _, p := range t.parts {
			if p != nil {
				_ = p.close()
			}
		}
		return nil, err
	}
	return t, nil
}

func (b *Broker) openPartition(t *topic, i int32, fresh bool) (*partition, error) {
	return b.openPartitionLog(t, i, fresh, logOptions(b.logOpts, t.cfg))
}

// openPartitionLog opens partition i of t with opts; fresh first removes a
// directory of the same name.
func (b *Broker) openPartitionLog(t *topic, i int32, fresh bool, opts commitlog.Options) (*partition, error) {
	dir := b.partitionDir(t.name, i)
	if fresh {
		// A directory left behind by a delete that crashed before removing
		// it must not leak old records into a new topic of the same name.
		if err := b.fs.RemoveAll(dir); err != nil {
			return nil, fmt.Errorf("remove stale %s: %w", dir, err)
		}
	}
	b.openSem <- struct{}{}
	l, err := commitlog.Open(dir, opts)
	<-b.openSem
	if err != nil {
		return nil, fmt.Errorf("open partition %s-%d: %w", t.name, i, err)
	}
	p := newPartition(t, i, l)
	b.metrics.bind(p)
	return p, nil
}

func newTopicID() [16]byte {
	var id [16]byte
	for id == ([16]byte{}) {
		_, _ = rand.Read(id[:])
	}
	return id
}

func (t *topic) record() topicRecord {
	return topicRecord{V: 1, ID: hex.EncodeToString(t.id[:]), Partitions: int32(len(t.parts)), Configs: t.overrides}
}

func (b *Broker) saveTopic(t *topic) error {
	v, err := json.Marshal(t.record())
	if err != nil {
		return fmt.Errorf("encode topic %s: %w", t.name, err)
	}
	if err := b.cfg.Meta.Put(topicsBucket, t.name, v); err != nil {
		return fmt.Errorf("store topic %s: %w", t.name, err)
	}
	return nil
}

// TopicInfo describes a topic.
type TopicInfo struct {
	Name       string
	ID         [16]byte
	Partitions int32
	// Config is the effective config; Overrides only the topic's own.
	Config    TopicConfig
	Overrides map[string]string
}

func (t *topic) info() TopicInfo {
	ov := make(map[string]string, len(t.overrides))
	for k, v := range t.overrides {
		ov[k] = v
	}
	return TopicInfo{Name: t.name, ID: t.id, Partitions: int32(len(t.parts)), Config: t.cfg, Overrides: ov}
}

// Topics lists every topic sorted by name.
func (b *Broker) Topics() []TopicInfo {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]TopicInfo, 0, len(b.mu.topics))
	for _, t := range b.mu.topics {
		out = append(out, t.info())
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Topic describes one topic; ErrUnknownTopic if absent.
func (b *Broker) Topic(name string) (TopicInfo, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.mu.topics[name]
	if !ok {
		if v := b.view(name); v != nil {
			return b.viewInfoLocked(v), nil
		}
		return TopicInfo{}, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return t.info(), nil
}

// TopicByID returns the name of the topic with the given id.
func (b *Broker) TopicByID(id [16]byte) (string, bool) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.mu.byID[id]
	if !ok {
		return b.viewByID(id)
	}
	return t.name, true
}

// AutoCreateEnabled reports Config.AutoCreateTopics.
func (b *Broker) AutoCreateEnabled() bool { return b.cfg.AutoCreateTopics }

// TopicDefaults returns the broker-wide topic defaults.
func (b *Broker) TopicDefaults() TopicConfig { return b.cfg.TopicDefaults }

// DefaultPartitions returns the partition count of auto-created topics.
func (b *Broker) DefaultPartitions() int32 { return b.cfg.DefaultPartitions }

// DataDir returns the data directory.
func (b *Broker) DataDir() string { return b.cfg.DataDir }

// EnsureTopic returns the topic, creating it with the default partition
// count when it is absent and auto-create is on. It returns ErrInvalidTopic
// for bad names and ErrUnknownTopic when absent with auto-create off.
func (b *Broker) EnsureTopic(name string) (TopicInfo, error) {
	if info, err := b.Topic(name); err == nil {
		return info, nil
	}
	if err := ValidateClientTopicName(name); err != nil {
		return TopicInfo{}, err
	}
	if !b.cfg.AutoCreateTopics {
		return TopicInfo{}, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	info, err := b.CreateTopic(name, -1, nil, false)
	if errors.Is(err, ErrTopicExists) {
		// Created concurrently, maybe still opening: wait for it.
		b.mu.RLock()
		ch := b.mu.creating[name]
		b.mu.RUnlock()
		if ch != nil {
			<-ch
		}
		return b.Topic(name)
	}
	if err == nil {
		b.log.Info("auto-created topic", "topic", name, "partitions", info.Partitions)
	}
	return info, err
}

// ValidateTopicName checks a name as Kafka does: 1-249 characters from
// [a-zA-Z0-9._-], and not "." or "..".
func ValidateTopicName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("%w: empty", ErrInvalidTopic)
	case name == "." || name == "..":
		return fmt.Errorf("%w: %q is not allowed", ErrInvalidTopic, name)
	case len(name) > 249:
		return fmt.Errorf("%w: %d characters, the maximum is 249", ErrInvalidTopic, len(name))
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return fmt.Errorf("%w: %q contains %q; legal characters are [a-zA-Z0-9._-]", ErrInvalidTopic, name, c)
		}
	}
	return nil
}

func collisionKey(name string) string { return strings.ReplaceAll(name, ".", "_") }

// CreateTopic creates a topic with partitions partitions (-1: the default
// count) and config overrides. With validateOnly it checks everything and
// creates nothing. It is CreateTopics of one topic.
func (b *Broker) CreateTopic(name string, partitions int32, configs map[string]string, validateOnly bool) (TopicInfo, error) {
	r := b.CreateTopics([]TopicSpec{{Name: name, Partitions: partitions, Configs: configs}}, validateOnly)[0]
	return r.Info, r.Err
}

// reserve checks that name is free (not taken, not being created, not
// colliding) and, unless checkOnly, marks it as being created.
func (b *Broker) reserve(name string, checkOnly bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closed {
		return ErrClosed
	}
	if _, ok := b.mu.topics[name]; ok {
		return fmt.Errorf("%w: %s", ErrTopicExists, name)
	}
	if b.view(name) != nil {
		return fmt.Errorf("%w: %s (a view)", ErrTopicExists, name)
	}
	if _, ok := b.mu.creating[name]; ok {
		return fmt.Errorf("%w: %s (being created)", ErrTopicExists, name)
	}
	ck := collisionKey(name)
	if other, ok := b.mu.keys[ck]; ok {
		return fmt.Errorf("%w: %q collides with existing topic %q ('.' and '_' are alike in metric names)", ErrInvalidTopic, name, other)
	}
	for other := range b.mu.creating {
		if collisionKey(other) == ck {
			return fmt.Errorf("%w: %q collides with topic %q being created", ErrInvalidTopic, name, other)
		}
	}
	if !checkOnly {
		b.mu.creating[name] = make(chan struct{})
	}
	return nil
}

// DeleteTopic removes a topic and its data. Fetches parked on its
// partitions are woken.
func (b *Broker) DeleteTopic(name string) error {
	if b.view(name) != nil {
		return b.deleteView(name)
	}
	if vs := b.viewsOf(name); len(vs) > 0 {
		return fmt.Errorf("%w: %s is read by views %v; delete them first", ErrViewSource, name, vs)
	}
	b.mu.Lock()
	if b.mu.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	t, ok := b.mu.topics[name]
	if !ok {
		b.mu.Unlock()
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	// Forget the topic in meta first: a crash after this point leaves only
	// directories, which CreateTopic removes before reusing the name.
	if err := b.cfg.Meta.Delete(topicsBucket, name); err != nil {
		b.mu.Unlock()
		return fmt.Errorf("delete topic %s: %w", name, err)
	}
	delete(b.mu.topics, name)
	delete(b.mu.byID, t.id)
	delete(b.mu.keys, collisionKey(name))
	b.mu.Unlock()
	b.metrics.forgetTopic(name)
	var errs []error
	for _, p := range t.parts {
		if err := p.delete(); err != nil {
			errs = append(errs, err)
		}
	}
	// After the deletes: no write to the old partitions can record
	// state for the name any more.
	b.forgetTopic(name)
	return errors.Join(errs...)
}

// CreatePartitions grows a topic to total partitions.
func (b *Broker) CreatePartitions(name string, total int32, validateOnly bool) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closed {
		return ErrClosed
	}
	t, ok := b.mu.topics[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	cur := int32(len(t.parts))
	if total <= cur {
		return fmt.Errorf("%w: topic %s has %d partitions, the new count %d must be larger", ErrInvalidPartitions, name, cur, total)
	}
	if total > 1<<20 {
		return fmt.Errorf("%w: %d", ErrInvalidPartitions, total)
	}
	if validateOnly {
		return nil
	}
	parts := append([]*partition(nil), t.parts...)
	for i := cur; i < total; i++ {
		p, err := b.openPartition(t, i, true)
		if err != nil {
			for _, p := range parts[cur:] {
				_ = p.delete()
			}
			return err
		}
		parts = append(parts, p)
	}
	old := t.parts
	t.parts = parts
	if err := b.saveTopic(t); err != nil {
		t.parts = old
		for _, p := range parts[cur:] {
			_ = p.delete()
		}
		return err
	}
	return nil
}

// ConfigOp is one change in AlterTopicConfigs.
type ConfigOp struct {
	Name string
	// Op is OpSet, OpDelete, OpAppend or OpSubtract (Kafka's
	// IncrementalAlterConfigs numbering).
	Op    int8
	Value string
}

// Config operations, numbered as Kafka's IncrementalAlterConfigs.
const (
	OpSet      int8 = 0
	OpDelete   int8 = 1
	OpAppend   int8 = 2
	OpSubtract int8 = 3
)

// SetTopicConfigs replaces all of a topic's overrides (AlterConfigs).
func (b *Broker) SetTopicConfigs(name string, configs map[string]string, validateOnly bool) error {
	if v := b.view(name); v != nil {
		return b.setViewConfigs(v, configs, validateOnly)
	}
	if err := validateConfigs(configs); err != nil {
		return err
	}
	return b.changeConfigs(name, validateOnly, func(map[string]string) (map[string]string, error) {
		out := make(map[string]string, len(configs))
		for k, v := range configs {
			out[k] = v
		}
		return out, nil
	})
}

// AlterTopicConfigs applies incremental changes (IncrementalAlterConfigs).
func (b *Broker) AlterTopicConfigs(name string, ops []ConfigOp, validateOnly bool) error {
	if v := b.view(name); v != nil {
		return b.alterView(v, ops, validateOnly)
	}
	return b.changeConfigs(name, validateOnly, func(cur map[string]string) (map[string]string, error) {
		out := make(map[string]string, len(cur))
		for k, v := range cur {
			out[k] = v
		}
		for _, op := range ops {
			if _, ok := configDefs[op.Name]; !ok {
				return nil, fmt.Errorf("%w: unknown topic config %q", ErrInvalidConfig, op.Name)
			}
			switch op.Op {
			case OpSet:
				out[op.Name] = op.Value
			case OpDelete:
				delete(out, op.Name)
			case OpAppend, OpSubtract:
				if !IsListConfig(op.Name) {
					return nil, fmt.Errorf("%w: %s is not a list config; APPEND and SUBTRACT need one", ErrInvalidConfig, op.Name)
				}
				out[op.Name] = listOp(listValue(cur, op.Name), op)
			default:
				return nil, fmt.Errorf("%w: unknown operation %d", ErrInvalidConfig, op.Op)
			}
		}
		return out, validateConfigs(out)
	})
}

func listValue(cur map[string]string, name string) string {
	if v, ok := cur[name]; ok {
		return v
	}
	return configDefs[name].fixedDef
}

func listOp(cur string, op ConfigOp) string {
	var items []string
	for _, s := range strings.Split(cur, ",") {
		if s = strings.TrimSpace(s); s != "" {
			items = append(items, s)
		}
	}
	for _, v := range strings.Split(op.Value, ",") {
		v = strings.TrimSpace(v)
		idx := -1
		for i, s := range items {
			if s == v {
				idx = i
			}
		}
		if op.Op == OpAppend && idx < 0 && v != "" {
			items = append(items, v)
		}
		if op.Op == OpSubtract && idx >= 0 {
			items = append(items[:idx], items[idx+1:]...)
		}
	}
	return strings.Join(items, ",")
}

func (b *Broker) changeConfigs(name string, validateOnly bool, fn func(cur map[string]string) (map[string]string, error)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.mu.closed {
		return ErrClosed
	}
	t, ok := b.mu.topics[name]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	next, err := fn(t.overrides)
	if err != nil {
		return err
	}
	if validateOnly {
		return nil
	}
	old, oldCfg := t.overrides, t.cfg
	t.overrides, t.cfg = next, effective(b.cfg.TopicDefaults, next)
	if err := b.saveTopic(t); err != nil {
		t.overrides, t.cfg = old, oldCfg
		return err
	}
	opts := logOptions(b.logOpts, t.cfg)
	var errs []error
	for _, p := range t.parts {
		p.setConfig(t.cfg)
		if err := p.log.Reconfigure(opts); err != nil {
			errs = append(errs, fmt.Errorf("reconfigure %s-%d: %w", t.name, p.id, err))
		}
	}
	return errors.Join(errs...)
}

// DescribeTopicConfigs lists a topic's configs (all known names, sorted).
func (b *Broker) DescribeTopicConfigs(name string) ([]ConfigEntry, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.mu.topics[name]
	if !ok {
		if v := b.view(name); v != nil {
			return describeView(v), nil
		}
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return DescribeConfigEntries(b.cfg.TopicDefaults, t.overrides), nil
}

func (b *Broker) partition(topicName string, p int32) (*partition, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	if b.mu.closed {
		return nil, ErrClosed
	}
	t, ok := b.mu.topics[topicName]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topicName)
	}
	if p < 0 || int(p) >= len(t.parts) {
		return nil, fmt.Errorf("%w: %s-%d", ErrUnknownPartition, topicName, p)
	}
	return t.parts[p], nil
}

// PartitionStats describes one partition's log.
type PartitionStats struct {
	Topic                                       string
	Partition                                   int32
	Dir                                         string
	Size                                        int64
	Segments                                    int
	LogStartOffset, HighWatermark, LogEndOffset int64
}

// Partitions returns the stats of every partition, by topic then partition.
func (b *Broker) Partitions() []PartitionStats {
	parts := b.allPartitions()
	out := make([]PartitionStats, 0, len(parts))
	for _, p := range parts {
		out = append(out, PartitionStats{Topic: p.topic, Partition: p.id, Dir: p.log.Dir(), Size: p.log.Size(), Segments: p.log.SegmentCount(),
			LogStartOffset: p.log.LogStartOffset(), HighWatermark: p.log.HighWatermark(), LogEndOffset: p.log.LogEndOffset()})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out
}
