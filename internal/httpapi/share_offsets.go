package httpapi

// POST /v1/share-groups/{group}/offsets/reset: moves a share group's
// start offsets on a topic's partitions, as Kafka's AlterShareGroupOffsets
// (and `eddy share-group reset-offsets`) do.

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/eddy-streaming/eddy/internal/share"
)

// ShareOffsetResetRequest is the body of POST
// /v1/share-groups/{group}/offsets/reset.
type ShareOffsetResetRequest struct {
	// Topic is the topic whose partitions move (all of them).
	Topic string `json:"topic"`
	// To is "earliest" (each partition's log start), "latest" (its high
	// watermark: only records produced from now on are delivered) or
	// "offset" (Offset, clamped to the log).
	To     string `json:"to"`
	Offset int64  `json:"offset,omitempty"`
	// DryRun reports the new start offsets without moving them; it is
	// allowed without --console-write.
	DryRun bool `json:"dryRun"`
}

// ShareOffsetReset is one partition of a share-group offset reset answer.
type ShareOffsetReset struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// StartBefore is the share-partition start offset before the reset,
	// -1 when the group had no state there.
	StartBefore int64 `json:"startBefore"`
	StartAfter  int64 `json:"startAfter"`
}

// ShareOffsetResetResult is the answer of POST
// /v1/share-groups/{group}/offsets/reset.
type ShareOffsetResetResult struct {
	DryRun     bool               `json:"dryRun"`
	Partitions []ShareOffsetReset `json:"partitions"`
}

// resetShareOffsets is POST /v1/share-groups/{group}/offsets/reset. The
// group must have no members (409 otherwise), as Kafka requires; each
// partition's in-flight records are forgotten.
func (h *adminRoutes) resetShareOffsets(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("group")
	var req ShareOffsetResetRequest
	if err := decodeBody(r, w, &req, `{"topic": "jobs", "to": "earliest", "dryRun": true}`); err != nil {
		return err
	}
	switch req.To {
	case "earliest", "latest":
	case "offset":
		if req.Offset < 0 {
			return BadRequest("offset", "%d: name an offset of 0 or more", req.Offset)
		}
	default:
		return BadRequest("to", "%q: want earliest, latest or offset", req.To)
	}
	if req.Topic == "" {
		return BadRequest("topic", "name the topic whose start offsets move")
	}
	if !Allowed(r, opRead, rtTopic, req.Topic) {
		return Forbidden(opRead, rtTopic, req.Topic)
	}
	if !req.DryRun && !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	sc := h.s.queues.Load()
	if sc == nil {
		return fmt.Errorf("%w: share groups are not running on this server", ErrNotReady)
	}
	info, err := h.b.Topic(req.Topic)
	if err != nil {
		return err
	}
	parts := make([]int32, info.Partitions)
	for i := range parts {
		parts[i] = int32(i)
	}
	before := map[int32]int64{}
	if offs, err := sc.Offsets(name, map[string][]int32{req.Topic: parts}); err == nil {
		for _, o := range offs {
			before[o.Partition] = o.StartOffset
		}
	} else if !errors.Is(err, share.ErrGroupNotFound) {
		return fmt.Errorf("share group %s offsets: %w", name, err)
	}
	res := ShareOffsetResetResult{DryRun: req.DryRun, Partitions: []ShareOffsetReset{}}
	for _, p := range parts {
		start, hw, _, err := h.b.Offsets(req.Topic, p)
		if err != nil {
			return fmt.Errorf("offsets of %s/%d: %w", req.Topic, p, err)
		}
		after := start
		switch req.To {
		case "latest":
			after = hw
		case "offset":
			after = min(max(req.Offset, start), hw)
		}
		sb, ok := before[p]
		if !ok {
			sb = -1
		}
		res.Partitions = append(res.Partitions, ShareOffsetReset{Topic: req.Topic, Partition: p, StartBefore: sb, StartAfter: after})
	}
	if !req.DryRun {
		for _, p := range res.Partitions {
			err := sc.AlterOffset(name, share.TP{Topic: p.Topic, Partition: p.Partition}, p.StartAfter)
			switch {
			case err == nil:
			case errors.Is(err, share.ErrGroupNotEmpty):
				return fmt.Errorf("%w: share group %s has active members; stop its consumers first (Kafka refuses AlterShareGroupOffsets the same way): %v", ErrConflict, name, err)
			default:
				return fmt.Errorf("reset share group %s on %s/%d: %w", name, p.Topic, p.Partition, err)
			}
		}
	}
	writeCompactJSON(w, http.StatusOK, res)
	return nil
}
