// Package group is Eddy's consumer-group coordinator: the classic Kafka group
// protocol (JoinGroup, SyncGroup, Heartbeat, LeaveGroup) with generations,
// KIP-394 member ids, session and rebalance timeouts, protocol selection,
// leader election and KIP-345 static membership, plus committed offsets kept
// durably in internal/meta, their expiry, and lag against high watermarks.
//
// # Concurrency
//
// A Coordinator is safe for concurrent use. Each group is a state machine
// owned by one goroutine (its loop); every request and every timer runs as a
// function on that loop, so groups never share a lock. The coordinator's own
// mutex guards only the name → group map. Offset commits are validated on
// the loop, written to meta (fsynced) by the calling goroutine, and applied
// on the loop; a per-group commit mutex keeps the durable order equal to the
// in-memory order. Writes of all groups share fsyncs through a group-commit
// writer that adds no delay to a lone write. Requests that wait (JoinGroup until the rebalance
// completes, SyncGroup until the leader's assignment arrives) park a reply
// channel in the member and return when the loop answers or ctx ends.
//
// # Usage
//
//	c, err := group.New(group.Config{Meta: store, Topics: brokerAdapter})
//	defer c.Close()
//	res, err := c.Join(ctx, group.JoinRequest{Group: "g", ...})
package group

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/prometheus/client_golang/prometheus"
)

// Topics is what the coordinator needs to know about topics: whether a
// partition exists (commits to unknown partitions are refused, as Kafka's
// API layer does) and its high watermark (for lag).
type Topics interface {
	// Partitions returns the partition count of topic and whether it exists.
	Partitions(topic string) (int32, bool)
	// HighWatermark returns the offset after the last stored record.
	HighWatermark(topic string, partition int32) (int64, error)
}

// UnreadFroms may also be implemented by a Topics whose topics include
// views (filtered topics), whose offsets are their source's: lag is then
// measured from UnreadFrom, not from the committed offset, so the source
// records after a group's last match that the view will never deliver do
// not count as lag.
type UnreadFroms interface {
	// UnreadFrom returns the first offset at or after committed that may
	// hold a record a consumer of topic has still to read.
	UnreadFrom(topic string, partition int32, committed int64) int64
}

// TopicIDs may also be implemented by a Topics. A topic's id changes when
// it is deleted and created again; offsets committed for an earlier
// incarnation are then ignored by OffsetFetch and removed by the retention
// sweep, as Kafka deletes the offsets of deleted topics.
type TopicIDs interface {
	// TopicID returns the current id of topic and whether it exists.
	TopicID(topic string) ([16]byte, bool)
}

// Config configures a Coordinator. Zero values take the defaults of
// DefaultConfig.
type Config struct {
	// Meta is the durable store for offsets and group records. Required.
	Meta *meta.Store
	// Topics answers partition existence and high watermarks. Required.
	Topics Topics
	// Logger receives group lifecycle logs. Default: discard.
	Logger *slog.Logger
	// Registerer receives the coordinator's metrics. Default: none.
	Registerer prometheus.Registerer
	// OffsetsRetention is Kafka's offsets.retention.minutes: offsets of a
	// group that has been empty this long are deleted. Default 7 days.
	OffsetsRetention time.Duration
	// RetentionCheckInterval is how often expired offsets are swept
	// (offsets.retention.check.interval.ms). Default 10 minutes.
	RetentionCheckInterval time.Duration
	// MinSessionTimeout and MaxSessionTimeout bound JoinGroup session
	// timeouts (group.min/max.session.timeout.ms). Defaults 6 s and 30 min.
	MinSessionTimeout, MaxSessionTimeout time.Duration
	// InitialRebalanceDelay delays the first rebalance of an empty group so
	// that members starting together land in one generation
	// (group.initial.rebalance.delay.ms). Default 3 s; negative disables.
	InitialRebalanceDelay time.Duration
	// MaxMetadataSize is offset.metadata.max.bytes. Default 4096.
	MaxMetadataSize int
	// MaxGroupSize is group.max.size. Default unlimited (0).
	MaxGroupSize int
	// Now returns the current time; for tests of expiry. Default time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults, as Kafka's.
func DefaultConfig() Config {
	return Config{
		OffsetsRetention:       7 * 24 * time.Hour,
		RetentionCheckInterval: 10 * time.Minute,
		MinSessionTimeout:      6 * time.Second,
		MaxSessionTimeout:      30 * time.Minute,
		InitialRebalanceDelay:  3 * time.Second,
		MaxMetadataSize:        4096,
	}
}

// Validate reports every problem in c.
func (c *Config) Validate() error {
	var errs []error
	if c.Meta == nil {
		errs = append(errs, errors.New("group config: Meta is required"))
	}
	if c.Topics == nil {
		errs = append(errs, errors.New("group config: Topics is required"))
	}
	if c.MinSessionTimeout > c.MaxSessionTimeout {
		errs = append(errs, fmt.Errorf("group config: min session timeout %v above max %v", c.MinSessionTimeout, c.MaxSessionTimeout))
	}
	return errors.Join(errs...)
}

func (c *Config) fill() {
	d := DefaultConfig()
	if c.OffsetsRetention <= 0 {
		c.OffsetsRetention = d.OffsetsRetention
	}
	if c.RetentionCheckInterval <= 0 {
		c.RetentionCheckInterval = d.RetentionCheckInterval
	}
	if c.MinSessionTimeout <= 0 {
		c.MinSessionTimeout = d.MinSessionTimeout
	}
	if c.MaxSessionTimeout <= 0 {
		c.MaxSessionTimeout = d.MaxSessionTimeout
	}
	if c.InitialRebalanceDelay == 0 {
		c.InitialRebalanceDelay = d.InitialRebalanceDelay
	}
	if c.InitialRebalanceDelay < 0 {
		c.InitialRebalanceDelay = 0
	}
	if c.MaxMetadataSize <= 0 {
		c.MaxMetadataSize = d.MaxMetadataSize
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Coordinator coordinates every consumer group of this server.
type Coordinator struct {
	cfg     Config
	log     *slog.Logger
	metrics *metrics
	w       *writer // durable writes of every group

	mu struct {
		sync.Mutex
		groups map[string]*group
		closed bool
	}
	quit chan struct{}
	wg   sync.WaitGroup
}

// New loads committed offsets and group records from cfg.Meta and starts
// the coordinator.
func New(cfg Config) (*Coordinator, error) {
	cfg.fill()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Coordinator{cfg: cfg, log: cfg.Logger, quit: make(chan struct{}), w: &writer{store: cfg.Meta}}
	c.mu.groups = make(map[string]*group)
	c.metrics = newMetrics(c, cfg.Registerer)
	if err := c.load(); err != nil {
		c.Close()
		return nil, err
	}
	c.wg.Add(1)
	go c.retentionLoop()
	return c, nil
}

// Close stops every group loop and timer. Parked requests fail with
// ErrCoordinatorNotAvailable. Close is idempotent.
func (c *Coordinator) Close() error {
	c.mu.Lock()
	if c.mu.closed {
		c.mu.Unlock()
		return nil
	}
	c.mu.closed = true
	gs := make([]*group, 0, len(c.mu.groups))
	for _, g := range c.mu.groups {
		gs = append(gs, g)
	}
	c.mu.Unlock()
	close(c.quit)
	for _, g := range gs {
		g.stop()
	}
	c.wg.Wait()
	if c.metrics != nil {
		c.metrics.unregister()
	}
	return nil
}

// lookup returns the named group, creating it when create is set.
func (c *Coordinator) lookup(name string, create bool) (*group, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mu.closed {
		return nil, ErrCoordinatorNotAvailable
	}
	g := c.mu.groups[name]
	if g == nil && create {
		g = newGroup(c, name)
		c.mu.groups[name] = g
		g.start()
	}
	return g, nil
}

// forget removes g from the map; called on g's loop when g dies.
func (c *Coordinator) forget(g *group) {
	c.mu.Lock()
	if c.mu.groups[g.name] == g {
		delete(c.mu.groups, g.name)
	}
	c.mu.Unlock()
}

func (c *Coordinator) snapshotGroups() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	gs := make([]*group, 0, len(c.mu.groups))
	for _, g := range c.mu.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].name < gs[j].name })
	return gs
}

// errGroupGone is returned by group.run when the group died before fn ran;
// callers look the group up again.
var errGroupGone = errors.New("group gone")

// withGroup runs fn on the loop of the named group, retrying when the group
// dies (is deleted) underneath the call. With create false and no such
// group, fn runs with g == nil on the calling goroutine.
func (c *Coordinator) withGroup(ctx context.Context, name string, create bool, fn func(g *group)) error {
	for {
		g, err := c.lookup(name, create)
		if err != nil {
			return err
		}
		if g == nil {
			fn(nil)
			return nil
		}
		err = g.run(ctx, func() { fn(g) })
		if errors.Is(err, errGroupGone) {
			if c.isClosed() {
				return ErrCoordinatorNotAvailable
			}
			continue
		}
		return err
	}
}

func (c *Coordinator) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.closed
}

// topicIDs returns a lookup of current topic ids, caching per call site;
// nil when Topics does not implement TopicIDs.
func (c *Coordinator) topicIDs() func(topic string) ([16]byte, bool) {
	ids, ok := c.cfg.Topics.(TopicIDs)
	if !ok {
		return nil
	}
	type ent struct {
		id [16]byte
		ok bool
	}
	cache := map[string]ent{}
	return func(topic string) ([16]byte, bool) {
		e, hit := cache[topic]
		if !hit {
			e.id, e.ok = ids.TopicID(topic)
			cache[topic] = e
		}
		return e.id, e.ok
	}
}

// staleOffset reports whether o was committed for an earlier incarnation
// of topic (deleted since, or deleted and created again).
func staleOffset(lookup func(string) ([16]byte, bool), topic string, o committed) bool {
	if lookup == nil || o.topicID == ([16]byte{}) {
		return false
	}
	id, ok := lookup(topic)
	return !ok || id != o.topicID
}

func newMemberID(prefix string) string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	if prefix == "" {
		prefix = "member"
	}
	return prefix + "-" + hex.EncodeToString(b[:])
}
