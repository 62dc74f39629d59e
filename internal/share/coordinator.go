// Package share implements Kafka share groups (KIP-932) for Eddy: queues
// whose records are acquired, acknowledged and redelivered one by one,
// with delivery counts, acquisition locks, dead-letter topics (KIP-1191)
// and Eddy's retry backoff.
//
// A Coordinator owns every share group: membership and server-side
// assignment (ShareGroupHeartbeat), share sessions (ShareFetch epochs),
// and one Partition state machine per (group, topic, partition). Every
// state change that a client may rely on (records acquired, acknowledged,
// released) is written through Store and durable before the call returns:
// after a crash no acknowledged record is delivered again, and records
// that were acquired come back Available with their delivery counted.
//
// # Concurrency
//
// A Coordinator is safe for concurrent use. The coordinator mutex guards
// the group map; each group's mutex guards its members and sessions; each
// share-partition has its own mutex for its state, and a second one that
// orders its writes to the Store (lock order: coordinator → group →
// partition; one saver goroutine writes snapshots, taking only
// partition locks).
// One background goroutine expires members and locks and writes
// dead-letter records; Close stops it.
//
// # Usage
//
//	c, err := share.New(share.Config{Broker: b, Store: share.NewMetaStore(m)})
//	defer c.Close()
//	hb, err := c.Heartbeat(ctx, share.HeartbeatRequest{Group: "g", MemberID: id, Topics: []string{"orders"}})
//	res, err := c.Fetch(ctx, share.FetchRequest{Group: "g", MemberID: id, Partitions: tps, MaxRecords: 500})
//	err = c.Ack(ctx, "g", id, tp, []share.AckBatch{{First: 0, Last: 9, Types: []share.AckType{share.AckAccept}}})
package share

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// Errors returned by the Coordinator; the front ends map them to Kafka
// codes and HTTP statuses.
var (
	ErrGroupNotFound    = errors.New("share group not found")
	ErrUnknownMember    = errors.New("unknown share group member")
	ErrFencedEpoch      = errors.New("member epoch is fenced")
	ErrInvalidRequest   = errors.New("invalid share group request")
	ErrSessionNotFound  = errors.New("share session not found")
	ErrInvalidSession   = errors.New("invalid share session epoch")
	ErrUnknownPartition = errors.New("unknown topic or partition")
	ErrGroupNotEmpty    = errors.New("share group has members")
	ErrClosed           = errors.New("share coordinator closed")
)

// Config configures a Coordinator.
type Config struct {
	// Broker holds the topics; required.
	Broker *broker.Broker
	// Store keeps state durably; required.
	Store Store
	// Defaults are the broker-level group config defaults; zero means
	// DefaultGroupConfig.
	Defaults *GroupConfig
	// MaxRecordLocks is group.share.partition.max.record.locks: in-flight
	// records per share-partition. Default 2000.
	MaxRecordLocks int
	// DLQPrefix is errors.deadletterqueue.topic.name.prefix; default "dlq.".
	DLQPrefix string
	// SweepInterval is how often locks, members and dead-letter writes
	// are checked. Default 100 ms.
	SweepInterval time.Duration
	// Logger receives logs; nil discards them.
	Logger *slog.Logger
	// Registerer receives per-group metrics; nil disables them.
	Registerer prometheus.Registerer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Coordinator runs every share group of one broker.
type Coordinator struct {
	cfg      Config
	defaults GroupConfig
	b        *broker.Broker
	store    Store
	log      *slog.Logger
	now      func() time.Time

	mu     sync.Mutex
	groups map[string]*group
	// conns counts the open share sessions of each connection, so
	// ConnClosed does nothing for connections that never opened one.
	// connMu guards it; it is taken last (under group locks).
	connMu sync.Mutex
	conns  map[uint64]int

	// wake is signalled when records become available (releases, acks)
	// so parked fetches retry.
	wakeMu sync.Mutex
	wakeCh chan struct{}

	stop chan struct{}
	wg   sync.WaitGroup
	rnd  *lockedRand
	// saveCh feeds the saver goroutine, which writes every snapshot
	// queued while it was writing in one transaction (group commit);
	// saverDone is closed when it exits.
	saveCh    chan saveReq
	saverDone chan struct{}
	// collector is registered with Config.Registerer until Close, so a
	// registry reused by a restarted node does not see it twice.
	collector *collector
}

type lockedRand struct {
	mu sync.Mutex
	r  *rand.Rand
}

func (l *lockedRand) Float64() float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.r.Float64()
}

// tp is a topic-partition.
type tp struct {
	topic string
	part  int32
}

// TP names a topic-partition in requests.
type TP struct {
	Topic     string
	Partition int32
}

type group struct {
	name string

	mu        sync.Mutex
	overrides map[string]string
	cfg       GroupConfig
	epoch     int32
	members   map[string]*member
	sessions  map[string]*session
	// assignment is the target assignment at epoch assignedAt.
	assignment map[string]map[string][]int32
	assignedAt int32

	// parts is guarded by mu; each part has its own lock for its state.
	parts map[tp]*sharePart
}

type member struct {
	id         string
	epoch      int32
	prevEpoch  int32
	rack       string
	topics     []string
	lastSeen   time.Time
	clientID   string
	clientHost string
}

type session struct {
	epoch int32
	parts map[TP]struct{}
	// conn is the connection that opened the session (epoch 0): when it
	// closes, the session ends and the member's records in its
	// partitions are released (Kafka's ConnectionDisconnectListener).
	conn uint64
}

type sharePart struct {
	key Key

	mu sync.Mutex
	p  *Partition

	// dlqBusy is held by the dead-letter writer of this partition.
	dlqBusy atomic.Bool
	// dlqRetryAt (unix nanos) holds back the next dead-letter attempt
	// after failures, doubling from 100 ms to 10 s; dlqFails counts them.
	// Both are owned by the dlqBusy holder.
	dlqRetryAt atomic.Int64
	dlqFails   int

	// bytesPerOffset and bytesPerBatch are what the partition's last
	// read of new records saw: they size the next read.
	bytesPerOffset, bytesPerBatch atomic.Int64
}

// New starts a Coordinator, loading the stored groups.
func New(cfg Config) (*Coordinator, error) {
	if cfg.Broker == nil || cfg.Store == nil {
		return nil, errors.New("share coordinator: Broker and Store are required")
	}
	if cfg.MaxRecordLocks <= 0 {
		cfg.MaxRecordLocks = 2000
	}
	if cfg.DLQPrefix == "" {
		cfg.DLQPrefix = "dlq."
	}
	if cfg.SweepInterval <= 0 {
		cfg.SweepInterval = 100 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Coordinator{
		cfg: cfg, b: cfg.Broker, store: cfg.Store, log: cfg.Logger, now: cfg.Now,
		groups: map[string]*group{}, conns: map[uint64]int{}, wakeCh: make(chan struct{}), stop: make(chan struct{}),
		saveCh: make(chan saveReq, 256), saverDone: make(chan struct{}),
		rnd: &lockedRand{r: rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 0x5eed))},
	}
	c.defaults = DefaultGroupConfig()
	if cfg.Defaults != nil {
		c.defaults = *cfg.Defaults
	}
	now := c.now()
	err := c.store.Load(func(name string, rec GroupRecord) error {
		g := c.newGroup(name)
		g.overrides = rec.Configs
		if eff, err := ApplyConfigs(c.defaults, rec.Configs, ""); err == nil {
			g.cfg = eff
		} else {
			c.log.Warn("share group has invalid stored configs; using defaults", "group", name, "err", err)
		}
		c.groups[name] = g
		return nil
	}, func(k Key, s Snapshot) error {
		g := c.groups[k.Group]
		if g == nil {
			g = c.newGroup(k.Group)
			c.groups[k.Group] = g
		}
		sp := &sharePart{key: k, p: NewPartition()}
		sp.p.Restore(s, now, c.limits(g.cfg))
		g.parts[tp{k.Topic, k.Partition}] = sp
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.wg.Add(1)
	go c.saver()
	// Make the restore durable: released records carry their counted
	// delivery even if the coordinator crashes again before a change.
	var all []*sharePart
	for _, g := range c.groups {
		for _, sp := range g.parts {
			all = append(all, sp)
		}
	}
	if err := c.persist(all...); err != nil {
		c.Close()
		return nil, err
	}
	if cfg.Registerer != nil {
		c.collector = &collector{c: c}
		if err := cfg.Registerer.Register(c.collector); err != nil {
			return nil, fmt.Errorf("register share metrics: %w", err)
		}
	}
	c.wg.Add(1)
	go c.loop()
	return c, nil
}

func (c *Coordinator) newGroup(name string) *group {
	return &group{
		name: name, cfg: c.defaults, members: map[string]*member{}, sessions: map[string]*session{},
		parts: map[tp]*sharePart{},
	}
}

// Close stops the background goroutine and unregisters the metrics.
// State is already durable.
func (c *Coordinator) Close() error {
	select {
	case <-c.stop:
		return nil
	default:
		close(c.stop)
	}
	c.wg.Wait()
	if c.collector != nil {
		c.cfg.Registerer.Unregister(c.collector)
	}
	return nil
}

func (c *Coordinator) limits(gc GroupConfig) Limits {
	return Limits{
		LockDuration: gc.LockDuration, DeliveryLimit: gc.DeliveryLimit, MaxLocks: c.cfg.MaxRecordLocks,
		BackoffFirst: gc.BackoffFirst, BackoffMax: gc.BackoffMax, DLQ: gc.DLQTopic != "",
		Jitter: c.rnd.Float64,
	}
}

// wake wakes parked fetches: records may be available.
func (c *Coordinator) wake() {
	c.wakeMu.Lock()
	close(c.wakeCh)
	c.wakeCh = make(chan struct{})
	c.wakeMu.Unlock()
}

func (c *Coordinator) wakeC() <-chan struct{} {
	c.wakeMu.Lock()
	defer c.wakeMu.Unlock()
	return c.wakeCh
}

func (c *Coordinator) group(name string) *group {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.groups[name]
}

// part returns the share-partition, creating it (uninitialized) if needed.
func (g *group) part(topic string, p int32) *sharePart {
	g.mu.Lock()
	defer g.mu.Unlock()
	k := tp{topic, p}
	sp := g.parts[k]
	if sp == nil {
		sp = &sharePart{key: Key{Group: g.name, Topic: topic, Partition: p}, p: NewPartition()}
		g.parts[k] = sp
	}
	return sp
}

func (g *group) config() GroupConfig {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.cfg
}

type saveReq struct {
	parts []*sharePart
	done  chan error
}

// persist makes the current state of parts durable before it returns.
// Concurrent callers share transactions and fsyncs: the saver writes
// everything queued while it was busy at once, taking each partition's
// snapshot when it writes, so a snapshot always covers every change made
// before the call.
func (c *Coordinator) persist(parts ...*sharePart) error {
	return c.persistAsync(parts...)()
}

// persistAsync queues the current state of parts for the saver and
// returns a function that waits until it is durable, so the caller can
// work (read the records it acquired) while the write is under way.
func (c *Coordinator) persistAsync(parts ...*sharePart) func() error {
	if len(parts) == 0 {
		return func() error { return nil }
	}
	req := saveReq{parts: parts, done: make(chan error, 1)}
	select {
	case c.saveCh <- req:
	case <-c.saverDone:
		return func() error { return ErrClosed }
	}
	return func() error {
		select {
		case err := <-req.done:
			return err
		case <-c.saverDone:
			select {
			case err := <-req.done:
				return err
			default:
				return ErrClosed
			}
		}
	}
}

// saver is the one goroutine writing share-partition snapshots.
func (c *Coordinator) saver() {
	defer c.wg.Done()
	defer close(c.saverDone)
	for {
		var q []saveReq
		select {
		case <-c.stop:
			for {
				select {
				case r := <-c.saveCh:
					r.done <- ErrClosed
				default:
					return
				}
			}
		case r := <-c.saveCh:
			q = append(q, r)
		}
	drain:
		for {
			select {
			case r := <-c.saveCh:
				q = append(q, r)
			default:
				break drain
			}
		}
		snaps := map[Key]Snapshot{}
		for _, r := range q {
			for _, sp := range r.parts {
				if _, ok := snaps[sp.key]; ok {
					continue
				}
				sp.mu.Lock()
				snaps[sp.key] = sp.p.Snapshot()
				sp.mu.Unlock()
			}
		}
		err := c.store.SavePartitions(snaps)
		for _, r := range q {
			r.done <- err
		}
	}
}

// HeartbeatRequest is a ShareGroupHeartbeat.
type HeartbeatRequest struct {
	Group, MemberID string
	// MemberEpoch is 0 to join, -1 to leave, else the member's epoch.
	MemberEpoch int32
	Rack        string
	// Topics is the subscription; nil means unchanged.
	Topics             []string
	ClientID, ClientIP string
}

// HeartbeatResponse answers a heartbeat.
type HeartbeatResponse struct {
	MemberEpoch       int32
	HeartbeatInterval time.Duration
	// Assignment is the member's partitions by topic, nil when unchanged.
	Assignment map[string][]int32
}

// Heartbeat joins, keeps alive or removes a member and returns its
// assignment when it changed.
func (c *Coordinator) Heartbeat(_ context.Context, r HeartbeatRequest) (HeartbeatResponse, error) {
	if r.Group == "" || r.MemberID == "" {
		return HeartbeatResponse{}, fmt.Errorf("%w: group id and member id are required", ErrInvalidRequest)
	}
	now := c.now()
	c.mu.Lock()
	g := c.groups[r.Group]
	if g == nil {
		if r.MemberEpoch != 0 {
			c.mu.Unlock()
			return HeartbeatResponse{}, fmt.Errorf("%w: %s", ErrGroupNotFound, r.Group)
		}
		if r.Topics == nil {
			c.mu.Unlock()
			return HeartbeatResponse{}, fmt.Errorf("%w: joining needs SubscribedTopicNames", ErrInvalidRequest)
		}
		if err := c.store.SaveGroup(r.Group, GroupRecord{}); err != nil {
			c.mu.Unlock()
			return HeartbeatResponse{}, err
		}
		g = c.newGroup(r.Group)
		c.groups[r.Group] = g
	}
	c.mu.Unlock()

	g.mu.Lock()
	defer g.mu.Unlock()
	m := g.members[r.MemberID]
	switch {
	case r.MemberEpoch == -1:
		if m != nil {
			c.removeMemberLocked(g, m, now)
		}
		return HeartbeatResponse{MemberEpoch: -1}, nil
	case r.MemberEpoch == 0:
		if r.Topics == nil && m == nil {
			return HeartbeatResponse{}, fmt.Errorf("%w: joining needs SubscribedTopicNames", ErrInvalidRequest)
		}
		if m == nil {
			m = &member{id: r.MemberID}
			g.members[r.MemberID] = m
			g.epoch++
		}
	case m == nil:
		return HeartbeatResponse{}, fmt.Errorf("%w: %s", ErrUnknownMember, r.MemberID)
	case r.MemberEpoch != m.epoch && r.MemberEpoch != m.prevEpoch:
		return HeartbeatResponse{}, fmt.Errorf("%w: member %s sent epoch %d, current %d", ErrFencedEpoch, r.MemberID, r.MemberEpoch, m.epoch)
	}
	m.lastSeen = now
	m.clientID, m.clientHost = r.ClientID, r.ClientIP
	if r.Rack != "" {
		m.rack = r.Rack
	}
	if r.Topics != nil {
		ts := append([]string(nil), r.Topics...)
		sort.Strings(ts)
		if !equalStrings(ts, m.topics) {
			m.topics = ts
			g.epoch++
		}
	}
	if g.assignedAt != g.epoch || g.assignment == nil {
		g.assignment = c.assign(g)
		g.assignedAt = g.epoch
	}
	resp := HeartbeatResponse{HeartbeatInterval: g.cfg.HeartbeatInterval}
	if m.epoch != g.epoch || r.MemberEpoch == 0 || r.Topics != nil {
		resp.Assignment = g.assignment[m.id]
		if resp.Assignment == nil {
			resp.Assignment = map[string][]int32{}
		}
		if m.epoch != g.epoch {
			m.prevEpoch, m.epoch = m.epoch, g.epoch
		}
	}
	resp.MemberEpoch = m.epoch
	return resp, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// assign computes the target assignment: per topic, partitions are
// spread over its subscribers; with more subscribers than partitions,
// each partition is shared by several members (share groups allow it).
func (c *Coordinator) assign(g *group) map[string]map[string][]int32 {
	subs := map[string][]string{}
	for _, m := range g.members {
		for _, t := range m.topics {
			subs[t] = append(subs[t], m.id)
		}
	}
	out := map[string]map[string][]int32{}
	add := func(mid, t string, p int32) {
		if out[mid] == nil {
			out[mid] = map[string][]int32{}
		}
		out[mid][t] = append(out[mid][t], p)
	}
	for t, ms := range subs {
		info, err := c.b.Topic(t)
		if err != nil || info.Partitions == 0 {
			continue
		}
		sort.Strings(ms)
		n := int(info.Partitions)
		if len(ms) <= n {
			for p := range n {
				add(ms[p%len(ms)], t, int32(p))
			}
		} else {
			for i, mid := range ms {
				add(mid, t, int32(i%n))
			}
		}
	}
	return out
}

// removeMemberLocked removes m and releases its records.
func (c *Coordinator) removeMemberLocked(g *group, m *member, now time.Time) {
	delete(g.members, m.id)
	if s := g.sessions[m.id]; s != nil {
		delete(g.sessions, m.id)
		c.connSessions(s.conn, -1)
	}
	g.epoch++
	lim := c.limits(g.cfg)
	var changed []*sharePart
	for _, sp := range g.parts {
		sp.mu.Lock()
		if n := sp.p.ReleaseMember(now, m.id, lim); n > 0 {
			changed = append(changed, sp)
		}
		sp.mu.Unlock()
	}
	// Durable before the leave is answered (the saver never takes the
	// group lock).
	if err := c.persist(changed...); err != nil {
		c.log.Error("persist share state after member left", "group", g.name, "err", err)
	}
	if len(changed) > 0 {
		c.wake()
	}
}

// Session opens, continues or closes the share session of (group,
// member) as ShareFetch's ShareSessionEpoch says, adding and forgetting
// partitions, and returns the session's partitions. Epoch 0 opens a new
// session on connection conn (replacing any), -1 closes it (returning its
// partitions one last time: the caller applies the request's
// acknowledgements, then ReleaseSession), any other must be the session's
// next epoch.
func (c *Coordinator) Session(group, memberID string, epoch int32, conn uint64, add, forget []TP) ([]TP, error) {
	g := c.group(group)
	if g == nil {
		return nil, fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members[memberID] == nil {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMember, memberID)
	}
	s := g.sessions[memberID]
	switch {
	case epoch == 0:
		if s != nil {
			c.connSessions(s.conn, -1)
		}
		s = &session{parts: map[TP]struct{}{}, conn: conn}
		g.sessions[memberID] = s
		c.connSessions(conn, 1)
	case s == nil:
		return nil, fmt.Errorf("%w: member %s", ErrSessionNotFound, memberID)
	case epoch == -1:
		delete(g.sessions, memberID)
		c.connSessions(s.conn, -1)
	case epoch != s.epoch+1:
		return nil, fmt.Errorf("%w: got %d, want %d", ErrInvalidSession, epoch, s.epoch+1)
	default:
		s.epoch = epoch
	}
	for _, t := range add {
		s.parts[t] = struct{}{}
	}
	for _, t := range forget {
		delete(s.parts, t)
	}
	out := make([]TP, 0, len(s.parts))
	for t := range s.parts {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Topic != out[j].Topic {
			return out[i].Topic < out[j].Topic
		}
		return out[i].Partition < out[j].Partition
	})
	return out, nil
}

func (c *Coordinator) connSessions(conn uint64, d int) {
	c.connMu.Lock()
	defer c.connMu.Unlock()
	if n := c.conns[conn] + d; n > 0 {
		c.conns[conn] = n
	} else {
		delete(c.conns, conn)
	}
}

// ReleaseSession releases the records member holds in parts, as when its
// share session closes (epoch -1, after that request's
// acknowledgements): they are available again with their delivery
// counted, or finished when it was the last permitted one. The change is
// durable when it returns.
func (c *Coordinator) ReleaseSession(group, memberID string, parts []TP) error {
	g := c.group(group)
	if g == nil || len(parts) == 0 {
		return nil
	}
	lim := c.limits(g.config())
	now := c.now()
	var changed []*sharePart
	for _, t := range parts {
		sp := g.part(t.Topic, t.Partition)
		sp.mu.Lock()
		if sp.p.ReleaseMember(now, memberID, lim) > 0 {
			changed = append(changed, sp)
		}
		sp.mu.Unlock()
	}
	if len(changed) == 0 {
		return nil
	}
	err := c.persist(changed...)
	c.wake()
	if err != nil {
		return fmt.Errorf("persist share state after session close: %w", err)
	}
	return nil
}

// ConnClosed ends the share sessions opened on connection conn and
// releases their members' records in the sessions' partitions, as Kafka
// does when a share session's connection closes. Sessions a member has
// since reopened on another connection are left alone.
func (c *Coordinator) ConnClosed(conn uint64) {
	c.connMu.Lock()
	n := c.conns[conn]
	delete(c.conns, conn)
	c.connMu.Unlock()
	if n == 0 {
		return
	}
	type ended struct {
		member string
		parts  []TP
	}
	for _, g := range c.allGroups() {
		var todo []ended
		g.mu.Lock()
		for id, s := range g.sessions {
			if s.conn != conn {
				continue
			}
			delete(g.sessions, id)
			e := ended{member: id}
			for t := range s.parts {
				e.parts = append(e.parts, t)
			}
			todo = append(todo, e)
		}
		g.mu.Unlock()
		for _, e := range todo {
			if err := c.ReleaseSession(g.name, e.member, e.parts); err != nil && !errors.Is(err, ErrClosed) {
				c.log.Error("release records of a closed connection's share session", "group", g.name, "member", e.member, "err", err)
			}
		}
	}
}

// CheckMember returns nil when memberID is in group.
func (c *Coordinator) CheckMember(group, memberID string) error {
	g := c.group(group)
	if g == nil {
		return fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.members[memberID] == nil {
		return fmt.Errorf("%w: %s", ErrUnknownMember, memberID)
	}
	return nil
}

// LockDuration returns the group's acquisition lock duration.
func (c *Coordinator) LockDuration(group string) time.Duration {
	if g := c.group(group); g != nil {
		return g.config().LockDuration
	}
	return c.defaults.LockDuration
}

// loop expires members and locks and writes dead-letter records.
func (c *Coordinator) loop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.SweepInterval)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.sweep()
		}
	}
}

func (c *Coordinator) allGroups() []*group {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*group, 0, len(c.groups))
	for _, g := range c.groups {
		out = append(out, g)
	}
	return out
}

// sweep runs one round of background work.
func (c *Coordinator) sweep() {
	now := c.now()
	woke := false
	for _, g := range c.allGroups() {
		g.mu.Lock()
		for _, m := range g.members {
			if now.Sub(m.lastSeen) > g.cfg.SessionTimeout {
				c.log.Info("share group member session timed out", "group", g.name, "member", m.id)
				c.removeMemberLocked(g, m, now)
			}
		}
		lim := c.limits(g.cfg)
		parts := make([]*sharePart, 0, len(g.parts))
		for _, sp := range g.parts {
			parts = append(parts, sp)
		}
		dlq := g.cfg.DLQTopic
		g.mu.Unlock()
		for _, sp := range parts {
			sp.mu.Lock()
			n := sp.p.Expire(now, lim)
			pending := dlq != "" && len(sp.p.PendingDLQ(1)) > 0
			sp.mu.Unlock()
			if n > 0 {
				woke = true
				if err := c.persist(sp); err != nil {
					c.log.Error("persist share state after lock expiry", "group", g.name, "err", err)
				}
			}
			if pending && now.UnixNano() >= sp.dlqRetryAt.Load() && sp.dlqBusy.CompareAndSwap(false, true) {
				c.wg.Add(1)
				go func() {
					defer c.wg.Done()
					defer sp.dlqBusy.Store(false)
					c.deadLetter(g, sp)
				}()
			}
		}
	}
	if woke {
		c.wake()
	}
}
