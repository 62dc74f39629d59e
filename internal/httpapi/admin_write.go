package httpapi

// Admin write routes the web console added beyond topic create/delete
// (docs/http-api.md, "Topics, messages and groups"): produce one record,
// change a topic's configs, delete a consumer group (classic or share).
// Like the other admin writes they answer 403 forbidden unless the server
// runs with --console-write.

import (
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"sort"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/share"
)

// registerAdminWrites adds the routes of this file.
func (s *Server) registerAdminWrites(h *adminRoutes) {
	s.Handle("POST /v1/topics/{topic}/messages", h.produce)
	s.Handle("PATCH /v1/topics/{topic}/configs", h.alterConfigs)
	s.Handle("DELETE /v1/groups/{group}", h.deleteGroup)
	s.Handle("POST /v1/share-groups/{group}/offsets/reset", h.resetShareOffsets)
}

// ProduceHeader is one header of a produce request; Value null is a null
// header value.
type ProduceHeader struct {
	Key   string  `json:"key"`
	Value *string `json:"value"`
}

// ProduceRequest is the body of POST /v1/topics/{topic}/messages.
type ProduceRequest struct {
	// Partition is the target partition; absent: the key's partition
	// (murmur2, as Kafka's default partitioner), a random one for a null key.
	Partition *int32 `json:"partition"`
	// Key is the record key; null or absent is a null key.
	Key     *string         `json:"key"`
	Headers []ProduceHeader `json:"headers"`
	// Value is any JSON value, stored as its JSON text; absent or null is a
	// null value (a tombstone).
	Value json.RawMessage `json:"value"`
}

// Produced is the answer of POST /v1/topics/{topic}/messages.
type Produced struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	Timestamp int64  `json:"timestamp"`
}

func (h *adminRoutes) produce(w http.ResponseWriter, r *http.Request) error {
	if !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	topic := r.PathValue("topic")
	var req ProduceRequest
	if err := decodeBody(r, w, &req, `{"key": "order-42", "headers": [{"key": "ce_type", "value": "OrderCreated"}], "value": {"total": 99.5}, "partition": 0}`); err != nil {
		return err
	}
	info, err := h.b.Topic(topic)
	if err != nil {
		return err
	}
	if info.ViewSource() != "" {
		return fmt.Errorf("%w: %s is a view of %s and stores nothing; produce to %s", ErrConflict, topic, info.ViewSource(), info.ViewSource())
	}
	var key, value []byte
	if req.Key != nil {
		key = []byte(*req.Key)
	}
	if len(req.Value) > 0 && string(req.Value) != "null" {
		value = slices.Clone(req.Value)
	}
	var part int32
	switch {
	case req.Partition != nil:
		part = *req.Partition
		if part < 0 || part >= info.Partitions {
			return BadRequest("partition", "%d: %s has partitions 0 to %d", part, topic, info.Partitions-1)
		}
	case key != nil:
		part = eventstore.Partition(key, info.Partitions)
	default:
		part = rand.Int32N(info.Partitions)
	}
	for i, hd := range req.Headers {
		if hd.Key == "" {
			return BadRequest("headers", "header %d has no key", i)
		}
	}
	now := time.Now().UnixMilli()
	b := record.NewBuilder(record.NewHeader(now))
	b.BeginRecord(0, 0, key, value, len(req.Headers))
	for _, hd := range req.Headers {
		var v []byte
		if hd.Value != nil {
			v = []byte(*hd.Value)
		}
		b.AddHeader(hd.Key, v)
	}
	b.EndRecord()
	batch, err := b.Finish(record.CodecNone)
	if err != nil {
		return fmt.Errorf("build record for %s/%d: %w", topic, part, err)
	}
	wr, err := h.b.Append(topic, part, slices.Clone(batch))
	if err != nil {
		return fmt.Errorf("produce to %s/%d: %w", topic, part, err)
	}
	if err := wr.Wait(); err != nil {
		return fmt.Errorf("produce to %s/%d: %w", topic, part, err)
	}
	writeCompactJSON(w, http.StatusCreated, Produced{Topic: topic, Partition: part, Offset: wr.Base, Timestamp: now})
	return nil
}

// AlterConfigsRequest is the body of PATCH /v1/topics/{topic}/configs:
// Set adds or changes overrides, Delete removes them (back to the server
// default). ValidateOnly checks without changing anything.
type AlterConfigsRequest struct {
	Set          map[string]string `json:"set"`
	Delete       []string          `json:"delete"`
	ValidateOnly bool              `json:"validateOnly"`
}

// ConfigsAnswer is the answer of PATCH /v1/topics/{topic}/configs: the
// topic's overrides after the change.
type ConfigsAnswer struct {
	Topic   string            `json:"topic"`
	Configs map[string]string `json:"configs"`
}

func (h *adminRoutes) alterConfigs(w http.ResponseWriter, r *http.Request) error {
	topic := r.PathValue("topic")
	var req AlterConfigsRequest
	if err := decodeBody(r, w, &req, `{"set": {"retention.ms": "86400000"}, "delete": ["retention.bytes"], "validateOnly": false}`); err != nil {
		return err
	}
	if !req.ValidateOnly && !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	if len(req.Set) == 0 && len(req.Delete) == 0 {
		return BadRequest("set", "name at least one config to set or delete")
	}
	names := make([]string, 0, len(req.Set))
	for k := range req.Set {
		names = append(names, k)
	}
	sort.Strings(names)
	var ops []broker.ConfigOp
	for _, k := range names {
		ops = append(ops, broker.ConfigOp{Name: k, Op: broker.OpSet, Value: req.Set[k]})
	}
	for _, k := range req.Delete {
		if _, ok := req.Set[k]; ok {
			return BadRequest("delete", "%s is both set and deleted", k)
		}
		ops = append(ops, broker.ConfigOp{Name: k, Op: broker.OpDelete})
	}
	if err := h.b.AlterTopicConfigs(topic, ops, req.ValidateOnly); err != nil {
		if errors.Is(err, broker.ErrInvalidConfig) {
			return BadRequest("set", "%v", err)
		}
		return err
	}
	info, err := h.b.Topic(topic)
	if err != nil {
		return err
	}
	out := ConfigsAnswer{Topic: topic, Configs: info.Overrides}
	if out.Configs == nil {
		out.Configs = map[string]string{}
	}
	writeCompactJSON(w, http.StatusOK, out)
	return nil
}

// deleteGroup is DELETE /v1/groups/{group}?type=classic|share: it removes
// an empty group and its committed offsets (a share group: its delivery
// state). Without type, the classic group of that name, else the share
// group. A group with members is 409.
func (h *adminRoutes) deleteGroup(w http.ResponseWriter, r *http.Request) error {
	if !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	name := r.PathValue("group")
	typ := r.URL.Query().Get("type")
	switch typ {
	case "", "classic", "share":
	default:
		return BadRequest("type", "%q: want classic or share", typ)
	}
	sc := h.s.queues.Load()
	if typ == "share" || (typ == "" && h.g == nil) || (typ == "" && sc != nil && sc.Exists(name) && !h.classicExists(r, name)) {
		if sc == nil {
			return fmt.Errorf("%w: share groups are not running on this server", ErrNotReady)
		}
		if err := sc.Delete(name); err != nil {
			if errors.Is(err, share.ErrGroupNotEmpty) {
				return fmt.Errorf("%w: share group %s has active members; stop its consumers first: %v", ErrConflict, name, err)
			}
			return fmt.Errorf("delete share group %s: %w", name, err)
		}
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	g, err := h.coordinator()
	if err != nil {
		return err
	}
	err = g.Delete(r.Context(), []string{name})[0]
	switch {
	case err == nil:
	case errors.Is(err, group.ErrGroupNotFound):
		return fmt.Errorf("%w: consumer group %q", ErrNotFound, name)
	case errors.Is(err, group.ErrNonEmptyGroup):
		return fmt.Errorf("%w: group %s has active members; stop its consumers first (a group with members cannot be deleted)", ErrConflict, name)
	default:
		return fmt.Errorf("delete group %s: %w", name, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// classicExists tells whether a classic group of that name has members or
// committed offsets.
func (h *adminRoutes) classicExists(r *http.Request, name string) bool {
	if h.g == nil {
		return false
	}
	d, err := h.g.Describe(r.Context(), []string{name})
	if err == nil && len(d) == 1 && d[0].Found {
		return true
	}
	lags, err := h.g.Lag(r.Context(), name)
	return err == nil && len(lags) > 0
}
