package group

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// Listing is one group in ListGroups.
type Listing struct {
	Group        string
	ProtocolType string
	State        State
}

// List returns every group (ListGroups), filtered by state names when
// states is non-empty and by protocol type when types is non-empty. Kafka's
// group types are "classic" and "consumer" (KIP-848); every Eddy group is
// classic.
func (c *Coordinator) List(ctx context.Context, states, types []string) ([]Listing, error) {
	var out []Listing
	for _, g := range c.snapshotGroups() {
		var l Listing
		var ok bool
		err := g.run(ctx, func() {
			if g.state == Dead {
				return
			}
			l, ok = Listing{Group: g.name, ProtocolType: g.protocolType, State: g.state}, true
		})
		if err == errGroupGone {
			continue
		}
		if err != nil {
			return nil, err
		}
		if !ok || !matchFilter(states, l.State.String()) || !matchFilter(types, "classic") {
			continue
		}
		out = append(out, l)
	}
	return out, nil
}

func matchFilter(filter []string, v string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if equalFold(f, v) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// MemberDescription describes one member in DescribeGroups.
type MemberDescription struct {
	MemberID   string
	InstanceID string
	ClientID   string
	ClientHost string
	Metadata   []byte // the selected protocol's metadata (Stable only)
	Assignment []byte // Stable only
}

// Description is one group in DescribeGroups. Found is false for a group
// that does not exist (Kafka describes it as Dead).
type Description struct {
	Group        string
	Found        bool
	State        State
	ProtocolType string
	Protocol     string // set when Stable, as Kafka
	Generation   int32
	Leader       string
	Members      []MemberDescription
}

// Describe handles DescribeGroups.
func (c *Coordinator) Describe(ctx context.Context, groups []string) ([]Description, error) {
	out := make([]Description, len(groups))
	for i, name := range groups {
		d := Description{Group: name, State: Dead}
		err := c.withGroup(ctx, name, false, func(g *group) {
			if g == nil || g.state == Dead {
				return
			}
			d.Found = true
			d.State, d.ProtocolType, d.Generation, d.Leader = g.state, g.protocolType, g.generation, g.leader
			if g.state == Stable {
				d.Protocol = g.protocol
			}
			for _, id := range g.sortedMemberIDs() {
				m := g.members[id]
				md := MemberDescription{MemberID: m.id, InstanceID: m.instanceID, ClientID: m.clientID, ClientHost: m.host}
				if g.state == Stable {
					md.Metadata = m.metadataFor(g.protocol)
					md.Assignment = m.assignment
				}
				d.Members = append(d.Members, md)
			}
		})
		if err != nil {
			return nil, err
		}
		out[i] = d
	}
	return out, nil
}

// subscribedTopics returns the topics members of a "consumer" group
// subscribe to, read from their protocol metadata.
func (g *group) subscribedTopics() map[string]bool {
	out := map[string]bool{}
	for _, m := range g.members {
		md := m.metadataFor(g.protocol)
		if md == nil && len(m.protocols) > 0 {
			md = m.protocols[0].Metadata
		}
		var meta kmsg.ConsumerMemberMetadata
		if err := meta.ReadFrom(md); err != nil {
			continue
		}
		for _, t := range meta.Topics {
			out[t] = true
		}
	}
	return out
}

// PartitionLag is one partition's committed offset, high watermark and lag
// (high watermark minus committed offset, never negative; for a view, minus
// the first offset after the committed one that may still match: see
// UnreadFroms).
type PartitionLag struct {
	Topic         string
	Partition     int32
	Committed     int64
	HighWatermark int64
	Lag           int64
}

// Lag returns the lag of every partition the group has committed offsets
// for. An unknown group has no lag.
func (c *Coordinator) Lag(ctx context.Context, groupID string) ([]PartitionLag, error) {
	cs, err := c.Fetch(ctx, groupID, nil)
	if err != nil {
		return nil, err
	}
	out := make([]PartitionLag, 0, len(cs))
	for _, cm := range cs {
		n, ok := c.cfg.Topics.Partitions(cm.Topic)
		if !ok || cm.Partition >= n {
			continue // topic deleted since the commit
		}
		hw, err := c.cfg.Topics.HighWatermark(cm.Topic, cm.Partition)
		if err != nil {
			return nil, fmt.Errorf("lag of group %s at %s/%d: %w", groupID, cm.Topic, cm.Partition, err)
		}
		from := cm.Offset
		if u, ok := c.cfg.Topics.(UnreadFroms); ok && from < hw {
			from = u.UnreadFrom(cm.Topic, cm.Partition, from)
		}
		lag := hw - from
		if lag < 0 {
			lag = 0
		}
		out = append(out, PartitionLag{Topic: cm.Topic, Partition: cm.Partition, Committed: cm.Offset, HighWatermark: hw, Lag: lag})
	}
	return out, nil
}
