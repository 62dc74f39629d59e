package share

import (
	"fmt"
	"maps"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// GroupState is a share group's state as ListGroups and describe show it.
func (g *group) stateLocked() string {
	if len(g.members) == 0 {
		return "Empty"
	}
	return "Stable"
}

// GroupSummary is one row of List.
type GroupSummary struct {
	Group, State string
	Members      int
}

// List returns every share group sorted by name.
func (c *Coordinator) List() []GroupSummary {
	var out []GroupSummary
	for _, g := range c.allGroups() {
		g.mu.Lock()
		out = append(out, GroupSummary{Group: g.name, State: g.stateLocked(), Members: len(g.members)})
		g.mu.Unlock()
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Group < out[j].Group })
	return out
}

// Exists reports whether group is a share group.
func (c *Coordinator) Exists(group string) bool { return c.group(group) != nil }

// MemberInfo describes a member.
type MemberInfo struct {
	MemberID, ClientID, ClientHost, Rack string
	Epoch                                int32
	Topics                               []string
	Assignment                           map[string][]int32
}

// PartitionInfo describes a share-partition.
type PartitionInfo struct {
	Topic     string
	Partition int32
	// StartOffset is -1 while uninitialized.
	StartOffset, EndOffset, Lag int64
	// OldestAvailable is the age (now minus the record's timestamp) of
	// the oldest record waiting to be delivered: the first available
	// offset of the in-flight window (backing off or not), else the first
	// offset past it; zero when none waits.
	OldestAvailable time.Duration
	Counts
	Stats
}

// GroupInfo describes a share group.
type GroupInfo struct {
	Group, State string
	Epoch        int32
	Members      []MemberInfo
	Partitions   []PartitionInfo
	Config       GroupConfig
	// OldestAvailable is the age of the oldest available record whose
	// partition has one (the lag's age), zero when none.
	OldestAvailable time.Duration
}

// Describe returns group's members, assignment and partition states.
func (c *Coordinator) Describe(group string) (GroupInfo, error) {
	g := c.group(group)
	if g == nil {
		return GroupInfo{}, fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	g.mu.Lock()
	info := GroupInfo{Group: g.name, State: g.stateLocked(), Epoch: g.epoch, Config: g.cfg}
	for _, m := range g.members {
		info.Members = append(info.Members, MemberInfo{
			MemberID: m.id, ClientID: m.clientID, ClientHost: m.clientHost, Rack: m.rack, Epoch: m.epoch,
			Topics: m.topics, Assignment: maps.Clone(g.assignment[m.id]),
		})
	}
	parts := make([]*sharePart, 0, len(g.parts))
	for _, sp := range g.parts {
		parts = append(parts, sp)
	}
	g.mu.Unlock()
	sort.Slice(info.Members, func(i, j int) bool { return info.Members[i].MemberID < info.Members[j].MemberID })
	now := c.now()
	for _, sp := range parts {
		_, hw, _, err := c.b.Offsets(sp.key.Topic, sp.key.Partition)
		sp.mu.Lock()
		pi := PartitionInfo{Topic: sp.key.Topic, Partition: sp.key.Partition, StartOffset: sp.p.Start(), EndOffset: sp.p.End(), Counts: sp.p.Counts(), Stats: sp.p.Stats()}
		waiting := int64(-1)
		if err == nil {
			pi.Lag = sp.p.Lag(hw)
			waiting = sp.p.FirstWaiting(hw)
		}
		sp.mu.Unlock()
		if waiting >= 0 {
			if ts, ok := c.recordTime(sp.key.Topic, sp.key.Partition, waiting); ok {
				pi.OldestAvailable = max(now.Sub(ts), 0)
				info.OldestAvailable = max(info.OldestAvailable, pi.OldestAvailable)
			}
		}
		info.Partitions = append(info.Partitions, pi)
	}
	sort.Slice(info.Partitions, func(i, j int) bool {
		a, b := info.Partitions[i], info.Partitions[j]
		if a.Topic != b.Topic {
			return a.Topic < b.Topic
		}
		return a.Partition < b.Partition
	})
	return info, nil
}

// recordTime returns the timestamp of the record at off.
func (c *Coordinator) recordTime(topic string, part int32, off int64) (time.Time, bool) {
	res, err := c.b.Fetch(topic, part, off, 1)
	if err != nil {
		return time.Time{}, false
	}
	recs, _ := decodeRecords(res.Batches)
	for _, r := range recs {
		if r.Offset >= off {
			return r.Timestamp, true
		}
	}
	return time.Time{}, false
}

// Delete removes an empty share group and its state.
func (c *Coordinator) Delete(group string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	if g == nil {
		return fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	g.mu.Lock()
	n := len(g.members)
	g.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("%w: %s has %d", ErrGroupNotEmpty, group, n)
	}
	if err := c.store.DeleteGroup(group); err != nil {
		return err
	}
	delete(c.groups, group)
	return nil
}

// Offset is a share-partition's start offset (DescribeShareGroupOffsets).
type Offset struct {
	Topic     string
	Partition int32
	// StartOffset is -1 when the partition has no state.
	StartOffset, Lag int64
}

// Offsets returns the start offsets of the group's share-partitions,
// filtered to topics when it is non-nil.
func (c *Coordinator) Offsets(group string, topics map[string][]int32) ([]Offset, error) {
	info, err := c.Describe(group)
	if err != nil {
		return nil, err
	}
	var out []Offset
	if topics == nil {
		for _, p := range info.Partitions {
			out = append(out, Offset{p.Topic, p.Partition, p.StartOffset, p.Lag})
		}
		return out, nil
	}
	have := map[TP]PartitionInfo{}
	for _, p := range info.Partitions {
		have[TP{p.Topic, p.Partition}] = p
	}
	for _, t := range sortedKeys(topics) {
		for _, p := range topics[t] {
			o := Offset{Topic: t, Partition: p, StartOffset: -1, Lag: -1}
			if pi, ok := have[TP{t, p}]; ok {
				o.StartOffset, o.Lag = pi.StartOffset, pi.Lag
			}
			out = append(out, o)
		}
	}
	return out, nil
}

// AlterOffset sets a share-partition's start offset, forgetting its
// in-flight records; the group must be empty (as Kafka requires).
func (c *Coordinator) AlterOffset(group string, t TP, offset int64) error {
	c.mu.Lock()
	g := c.groups[group]
	if g == nil {
		if err := c.store.SaveGroup(group, GroupRecord{}); err != nil {
			c.mu.Unlock()
			return err
		}
		g = c.newGroup(group)
		c.groups[group] = g
	}
	c.mu.Unlock()
	if _, err := c.b.Topic(t.Topic); err != nil {
		return fmt.Errorf("%w: %s", ErrUnknownPartition, t.Topic)
	}
	start, _, end, err := c.b.Offsets(t.Topic, t.Partition)
	if err != nil {
		return fmt.Errorf("%w: %s-%d", ErrUnknownPartition, t.Topic, t.Partition)
	}
	if offset < 0 || offset > end {
		return fmt.Errorf("%w: offset %d is outside the log [%d, %d]", ErrInvalidRequest, offset, start, end)
	}
	g.mu.Lock()
	n := len(g.members)
	g.mu.Unlock()
	if n > 0 {
		return fmt.Errorf("%w: %s has %d", ErrGroupNotEmpty, group, n)
	}
	sp := g.part(t.Topic, t.Partition)
	sp.mu.Lock()
	sp.p.Reset(max(offset, start))
	sp.mu.Unlock()
	return c.persist(sp)
}

// DeleteOffsets forgets the state of the group's partitions of topic; the
// group must be empty.
func (c *Coordinator) DeleteOffsets(group, topic string) error {
	g := c.group(group)
	if g == nil {
		return fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.members) > 0 {
		return fmt.Errorf("%w: %s has %d", ErrGroupNotEmpty, group, len(g.members))
	}
	for k, sp := range g.parts {
		if k.topic != topic {
			continue
		}
		if err := c.store.DeletePartition(sp.key); err != nil {
			return err
		}
		delete(g.parts, k)
	}
	return nil
}

// GroupConfigs returns group's effective configs (defaults when the
// group does not exist yet) and its overrides.
func (c *Coordinator) GroupConfigs(group string) []ConfigEntry {
	var ov map[string]string
	if g := c.group(group); g != nil {
		g.mu.Lock()
		ov = maps.Clone(g.overrides)
		g.mu.Unlock()
	}
	return DescribeConfigs(c.defaults, ov)
}

// ConfigOp is one IncrementalAlterConfigs operation.
type ConfigOp struct {
	Name  string
	Value string
	// Delete resets the config to its default.
	Delete bool
}

// AlterConfigs applies ops to group's configs (creating the group's
// record if needed) after validating all of them.
func (c *Coordinator) AlterConfigs(group string, ops []ConfigOp, validateOnly bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	g := c.groups[group]
	var cur map[string]string
	if g != nil {
		g.mu.Lock()
		cur = maps.Clone(g.overrides)
		g.mu.Unlock()
	}
	if cur == nil {
		cur = map[string]string{}
	}
	for _, op := range ops {
		if !IsGroupConfig(op.Name) {
			return &ConfigError{op.Name, op.Value, "unknown share group config"}
		}
		if op.Delete {
			delete(cur, op.Name)
		} else {
			cur[op.Name] = op.Value
		}
	}
	eff, err := ApplyConfigs(c.defaults, cur, c.cfg.DLQPrefix)
	if err != nil || validateOnly {
		return err
	}
	if err := c.store.SaveGroup(group, GroupRecord{Configs: cur}); err != nil {
		return err
	}
	if g == nil {
		g = c.newGroup(group)
		c.groups[group] = g
	}
	g.mu.Lock()
	g.overrides, g.cfg = cur, eff
	g.mu.Unlock()
	return nil
}

// collector exports per-group metrics at scrape time.
type collector struct{ c *Coordinator }

var (
	descInFlight     = prometheus.NewDesc("eddy_share_group_inflight_records", "Records of the share group between its start offsets and the ends of its in-flight windows that are not finished.", []string{"group"}, nil)
	descAcquired     = prometheus.NewDesc("eddy_share_group_acquired_records", "Records currently acquired by members.", []string{"group"}, nil)
	descArchiving    = prometheus.NewDesc("eddy_share_group_dead_letter_pending_records", "Records waiting for their dead-letter write.", []string{"group"}, nil)
	descRedelivered  = prometheus.NewDesc("eddy_share_group_redelivered_records_total", "Records made available again after a delivery (released, lock timeout, member left).", []string{"group"}, nil)
	descArchived     = prometheus.NewDesc("eddy_share_group_archived_records_total", "Records finished without being processed (rejected or delivery limit).", []string{"group"}, nil)
	descDeadLettered = prometheus.NewDesc("eddy_share_group_dead_lettered_records_total", "Records written to the dead-letter topic.", []string{"group"}, nil)
	descAcked        = prometheus.NewDesc("eddy_share_group_acknowledged_records_total", "Records acknowledged (accepted).", []string{"group"}, nil)
	descLag          = prometheus.NewDesc("eddy_share_group_lag", "Records not yet finished from the start offsets up to the high watermarks.", []string{"group"}, nil)
	descOldest       = prometheus.NewDesc("eddy_share_group_oldest_available_age_seconds", "Age (now minus its timestamp) of the oldest record waiting to be delivered, over the group's partitions; 0 when none waits.", []string{"group"}, nil)
)

func (cl *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descInFlight, descAcquired, descArchiving, descRedelivered, descArchived, descDeadLettered, descAcked, descLag, descOldest} {
		ch <- d
	}
}

func (cl *collector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range cl.c.Status() {
		g := s.Group
		ch <- prometheus.MustNewConstMetric(descInFlight, prometheus.GaugeValue, float64(s.InFlight), g)
		ch <- prometheus.MustNewConstMetric(descAcquired, prometheus.GaugeValue, float64(s.Acquired), g)
		ch <- prometheus.MustNewConstMetric(descArchiving, prometheus.GaugeValue, float64(s.DeadLetterPending), g)
		ch <- prometheus.MustNewConstMetric(descRedelivered, prometheus.CounterValue, float64(s.Redelivered), g)
		ch <- prometheus.MustNewConstMetric(descArchived, prometheus.CounterValue, float64(s.Archived), g)
		ch <- prometheus.MustNewConstMetric(descDeadLettered, prometheus.CounterValue, float64(s.DeadLettered), g)
		ch <- prometheus.MustNewConstMetric(descAcked, prometheus.CounterValue, float64(s.Acknowledged), g)
		ch <- prometheus.MustNewConstMetric(descLag, prometheus.GaugeValue, float64(s.Lag), g)
		ch <- prometheus.MustNewConstMetric(descOldest, prometheus.GaugeValue, s.OldestAvailableAge, g)
	}
}

// Status is a share group's summary for /v1/status and metrics.
type Status struct {
	Group             string `json:"group"`
	State             string `json:"state"`
	Members           int    `json:"members"`
	InFlight          int64  `json:"in_flight"`
	Acquired          int64  `json:"acquired"`
	DeadLetterPending int64  `json:"dead_letter_pending"`
	Lag               int64  `json:"lag"`
	Redelivered       int64  `json:"redelivered"`
	Acknowledged      int64  `json:"acknowledged"`
	Archived          int64  `json:"archived"`
	DeadLettered      int64  `json:"dead_lettered"`
	// OldestAvailableAge is GroupInfo.OldestAvailable in seconds.
	OldestAvailableAge float64 `json:"oldest_available_age_seconds"`
}

// Status summarizes every share group.
func (c *Coordinator) Status() []Status {
	var out []Status
	for _, gs := range c.List() {
		info, err := c.Describe(gs.Group)
		if err != nil {
			continue
		}
		s := Status{Group: gs.Group, State: info.State, Members: len(info.Members), OldestAvailableAge: info.OldestAvailable.Seconds()}
		for _, p := range info.Partitions {
			s.InFlight += int64(p.Available + p.Acquired + p.Archiving)
			s.Acquired += int64(p.Acquired)
			s.DeadLetterPending += int64(p.Archiving)
			if p.Lag > 0 {
				s.Lag += p.Lag
			}
			s.Redelivered += p.Redelivered
			s.Acknowledged += p.Acknowledged
			s.Archived += p.Archived
			s.DeadLettered += p.DeadLettered
		}
		out = append(out, s)
	}
	return out
}
