package httpapi

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/eddy-streaming/eddy/internal/share"
)

// Status is the body of GET /v1/status. `eddy status` decodes it.
type Status struct {
	Version       string            `json:"version"`
	StartedAt     time.Time         `json:"started_at"`
	UptimeSeconds float64           `json:"uptime_seconds"`
	DataDir       string            `json:"data_dir,omitempty"`
	Ready         bool              `json:"ready"`
	Listeners     map[string]string `json:"listeners,omitempty"`
	// Totals over Topics.
	TopicCount     int   `json:"topic_count"`
	PartitionCount int   `json:"partition_count"`
	BytesStored    int64 `json:"bytes_stored"`
	// Topics is sorted by name.
	Topics []TopicStatus `json:"topics"`
	// Groups is sorted by group id; null until the group coordinator runs.
	Groups []GroupStatus `json:"groups"`
	// ShareGroups are the share groups (queues) sorted by group id, with
	// their in-flight, redelivered, archived and dead-lettered records;
	// null until the share-group coordinator runs.
	ShareGroups []share.Status `json:"share_groups"`
}

// TopicStatus summarises one topic.
type TopicStatus struct {
	Name       string `json:"name"`
	Partitions int    `json:"partitions"`
	// Bytes is the size of the topic's log segments on disk.
	Bytes int64 `json:"bytes"`
	// Records is the sum over partitions of high watermark minus log start
	// offset: the records currently retained.
	Records int64 `json:"records"`
}

// GroupStatus summarises one consumer group.
type GroupStatus struct {
	Group   string `json:"group"`
	State   string `json:"state"`
	Members int    `json:"members"`
	// Lag is the sum over the group's committed partitions of high
	// watermark minus committed offset.
	Lag int64 `json:"lag"`
}

func (s *Server) status(w http.ResponseWriter, r *http.Request) error {
	st := Status{
		Version:   s.cfg.Version,
		StartedAt: s.cfg.StartedAt.UTC(),
		// DataDir stays empty: with no authentication every client
		// reads /v1/status, and the server's file layout is not theirs
		// to know (the start log line names it for the operator).
		Ready:  s.Ready(),
		Topics: []TopicStatus{},
	}
	if !s.cfg.StartedAt.IsZero() {
		st.UptimeSeconds = time.Since(s.cfg.StartedAt).Seconds()
	}
	if s.cfg.Listeners != nil {
		st.Listeners = s.cfg.Listeners()
	}
	if s.cfg.Topics != nil {
		topics, err := s.cfg.Topics(r.Context())
		if err != nil {
			return fmt.Errorf("list topics: %w", err)
		}
		sort.Slice(topics, func(i, j int) bool { return topics[i].Name < topics[j].Name })
		st.Topics = topics
		for _, t := range topics {
			st.TopicCount++
			st.PartitionCount += t.Partitions
			st.BytesStored += t.Bytes
		}
	}
	if s.cfg.Groups != nil {
		groups, err := s.cfg.Groups(r.Context())
		if err != nil {
			return fmt.Errorf("list groups: %w", err)
		}
		sort.Slice(groups, func(i, j int) bool { return groups[i].Group < groups[j].Group })
		st.Groups = groups
	}
	if c := s.queues.Load(); c != nil {
		st.ShareGroups = c.Status()
	}
	WriteJSON(w, http.StatusOK, st)
	return nil
}
