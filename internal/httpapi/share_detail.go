package httpapi

// GET /v1/share-groups: the share groups with their counters (the
// console's groups page). GET /v1/share-groups/{group}: one share group's
// members, their assignments and each share-partition's state (the
// console's share group page; `eddy share-group describe` shows the same
// through Kafka's DescribeShareGroups and DescribeShareGroupOffsets).

import (
	"fmt"
	"net/http"

	"github.com/eddy-streaming/eddy/internal/share"
)

// listShareGroups answers every share group's summary sorted by group id,
// as /v1/status lists them; without DESCRIBE on the cluster only the
// groups the caller may DESCRIBE (as GET /v1/groups and Kafka's
// ListGroups). Empty while share groups are not running.
func (h *adminRoutes) listShareGroups(w http.ResponseWriter, r *http.Request) error {
	out := []share.Status{}
	if sc := h.s.queues.Load(); sc != nil {
		all := sc.Status()
		cluster := AllowedCluster(r, opDescribe)
		for _, s := range all {
			if cluster || Allowed(r, opDescribe, rtGroup, s.Group) {
				out = append(out, s)
			}
		}
	}
	writeCompactJSON(w, http.StatusOK, out)
	return nil
}

// ShareGroupDetail is the body of GET /v1/share-groups/{group}.
type ShareGroupDetail struct {
	Group string `json:"group"`
	// State is Empty (no members) or Stable.
	State   string                `json:"state"`
	Epoch   int32                 `json:"epoch"`
	Members []ShareGroupMember    `json:"members"`
	Parts   []ShareGroupPartition `json:"partitions"`
	// Totals over Parts.
	Lag          int64 `json:"lag"`
	InFlight     int64 `json:"inFlight"`
	Acquired     int64 `json:"acquired"`
	Archived     int64 `json:"archived"`
	Acknowledged int64 `json:"acknowledged"`
	DeadLettered int64 `json:"deadLettered"`
	// OldestAvailableSeconds is the age of the oldest record waiting to be
	// delivered on any partition, 0 when none waits.
	OldestAvailableSeconds float64 `json:"oldestAvailableSeconds"`
}

// ShareGroupMember is one member of a share group.
type ShareGroupMember struct {
	MemberID   string `json:"memberId"`
	ClientID   string `json:"clientId"`
	ClientHost string `json:"clientHost"`
	Rack       string `json:"rack,omitempty"`
	Epoch      int32  `json:"epoch"`
	// Topics are the topics it subscribed to; Assignment maps topic to
	// the partitions it is assigned.
	Topics     []string           `json:"topics"`
	Assignment map[string][]int32 `json:"assignment"`
}

// ShareGroupPartition is one share-partition of a share group: where
// delivery starts and how many records of its in-flight window are in
// each state.
type ShareGroupPartition struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// StartOffset is the share-partition start offset (-1 before the
	// group first fetched it); records before it are done.
	StartOffset int64 `json:"startOffset"`
	// EndOffset is the offset after the in-flight window.
	EndOffset int64 `json:"endOffset"`
	// Lag is the records from StartOffset to the high watermark not yet
	// acknowledged or archived.
	Lag int64 `json:"lag"`
	// InFlight counts the window's records not finished: available,
	// acquired and being dead-lettered.
	InFlight     int `json:"inFlight"`
	Available    int `json:"available"`
	Acquired     int `json:"acquired"`
	Redelivering int `json:"redelivering"`
	Archiving    int `json:"archiving"`
	// Counters since the share-partition was created.
	Redelivered  int64 `json:"redelivered"`
	Acknowledged int64 `json:"acknowledged"`
	Archived     int64 `json:"archived"`
	DeadLettered int64 `json:"deadLettered"`
	// OldestAvailableSeconds is the age of the partition's oldest record
	// waiting to be delivered, 0 when none waits.
	OldestAvailableSeconds float64 `json:"oldestAvailableSeconds"`
}

// shareGroup is GET /v1/share-groups/{group}: 404 when there is no such
// share group. Partitions of topics the caller may not DESCRIBE are left
// out.
func (h *adminRoutes) shareGroup(w http.ResponseWriter, r *http.Request) error {
	sc := h.s.queues.Load()
	if sc == nil {
		return fmt.Errorf("%w: share groups are not running on this server", ErrNotReady)
	}
	info, err := sc.Describe(r.PathValue("group"))
	if err != nil {
		return err
	}
	d := ShareGroupDetail{Group: info.Group, State: info.State, Epoch: info.Epoch, Members: []ShareGroupMember{}, Parts: []ShareGroupPartition{},
		OldestAvailableSeconds: info.OldestAvailable.Seconds()}
	for _, m := range info.Members {
		sm := ShareGroupMember{MemberID: m.MemberID, ClientID: m.ClientID, ClientHost: m.ClientHost, Rack: m.Rack, Epoch: m.Epoch,
			Topics: m.Topics, Assignment: m.Assignment}
		if sm.Topics == nil {
			sm.Topics = []string{}
		}
		if sm.Assignment == nil {
			sm.Assignment = map[string][]int32{}
		}
		d.Members = append(d.Members, sm)
	}
	for _, p := range info.Partitions {
		if !Allowed(r, opDescribe, rtTopic, p.Topic) {
			continue
		}
		sp := ShareGroupPartition{Topic: p.Topic, Partition: p.Partition, StartOffset: p.StartOffset, EndOffset: p.EndOffset, Lag: max(p.Lag, 0),
			InFlight: p.Available + p.Acquired + p.Archiving, Available: p.Available, Acquired: p.Acquired, Redelivering: p.Redelivering, Archiving: p.Archiving,
			Redelivered: p.Redelivered, Acknowledged: p.Acknowledged, Archived: p.Archived, DeadLettered: p.DeadLettered,
			OldestAvailableSeconds: p.OldestAvailable.Seconds()}
		d.Parts = append(d.Parts, sp)
		d.Lag += sp.Lag
		d.InFlight += int64(sp.InFlight)
		d.Acquired += int64(sp.Acquired)
		d.Archived += sp.Archived
		d.Acknowledged += sp.Acknowledged
		d.DeadLettered += sp.DeadLettered
	}
	writeCompactJSON(w, http.StatusOK, d)
	return nil
}
