package eventstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// AppendResult describes a successful append.
type AppendResult struct {
	FirstVersion int64 `json:"firstVersion"`
	LastVersion  int64 `json:"lastVersion"`
	Partition    int32 `json:"partition"`
	// Offset is the log offset of the first event.
	Offset int64 `json:"offset"`
	// Duplicate is true when the events were already stored at that
	// position (an idempotent retry) and nothing was written.
	Duplicate bool `json:"duplicate,omitempty"`
}

// ValidateEvents checks the events of one append.
func ValidateEvents(events []EventData) error {
	if len(events) == 0 {
		return fmt.Errorf("%w: no events; send at least one", ErrInvalidEvent)
	}
	// Duplicate ids: a map only for larger appends (a single-event append
	// is the hot path and needs no check).
	var seen map[string]bool
	if len(events) > 8 {
		seen = make(map[string]bool, len(events))
	}
	dup := func(i int) bool {
		if seen != nil {
			return seen[events[i].ID]
		}
		for j := 0; j < i; j++ {
			if events[j].ID == events[i].ID {
				return true
			}
		}
		return false
	}
	for i, e := range events {
		switch {
		case e.ID == "":
			return fmt.Errorf("%w: events[%d]: missing id", ErrInvalidEvent, i)
		case e.Type == "":
			return fmt.Errorf("%w: events[%d]: missing type", ErrInvalidEvent, i)
		case dup(i):
			return fmt.Errorf("%w: events[%d]: id %q appears twice in one append", ErrInvalidEvent, i, e.ID)
		case len(e.Data) > 0 && (e.ContentType == "" || e.ContentType == "application/json") && !json.Valid(e.Data):
			return fmt.Errorf("%w: events[%d]: data is not valid JSON", ErrInvalidEvent, i)
		case len(e.Metadata) > 0 && (!json.Valid(e.Metadata) || e.Metadata[0] != '{'):
			return fmt.Errorf("%w: events[%d]: metadata must be a JSON object", ErrInvalidEvent, i)
		}
		if seen != nil {
			seen[e.ID] = true
		}
	}
	return nil
}

// EnsureTopic returns an event-store topic: it creates an unknown topic
// when the broker auto-creates topics (with eddy.streams=true and
// infinite retention), turns eddy.streams on for an existing plain topic
// (indexing what it already holds), and makes sure its partitions are
// indexed.
func (s *Store) EnsureTopic(topic string) (broker.TopicInfo, error) {
	info, err := s.b.Topic(topic)
	if errors.Is(err, broker.ErrUnknownTopic) {
		if verr := broker.ValidateClientTopicName(topic); verr != nil {
			return info, verr
		}
		if !s.b.AutoCreateEnabled() {
			return info, err
		}
		info, err = s.b.CreateTopic(topic, -1, map[string]string{
			broker.ConfigStreams:        "true",
			broker.ConfigRetentionMs:    "-1",
			broker.ConfigRetentionBytes: "-1",
		}, false)
		if errors.Is(err, broker.ErrTopicExists) {
			// Created concurrently, maybe still opening its logs.
			info, err = s.b.WaitTopic(topic)
		}
	}
	if err != nil {
		return info, err
	}
	if !IsStreamTopic(info) {
		if err := s.b.AlterTopicConfigs(topic, []broker.ConfigOp{{Name: broker.ConfigStreams, Op: broker.OpSet, Value: "true"}}, false); err != nil {
			return info, fmt.Errorf("enable streams on %s: %w", topic, err)
		}
		if info, err = s.b.Topic(topic); err != nil {
			return info, err
		}
	}
	if !s.indexed(topic, info.ID, info.Partitions) {
		if err := s.enable(info); err != nil {
			return info, err
		}
	}
	return info, nil
}

// indexed reports whether the store indexes every partition of the topic
// with this id and partition count.
func (s *Store) indexed(topic string, id [16]byte, partitions int32) bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if known, ok := s.mu.topics[topic]; !ok || known != id {
		return false
	}
	for p := int32(0); p < partitions; p++ {
		if s.mu.parts[partKey{topic, p}] == nil {
			return false
		}
	}
	return true
}

// appendPartitions is EnsureTopic for appends: the partition count of an
// event-store topic, with a cheap check first (no copy of the topic's
// configuration) and EnsureTopic only when the topic is unknown, not yet
// indexed, or changed.
func (s *Store) appendPartitions(topic string) (int32, error) {
	if st, err := s.b.StreamTopic(topic); err == nil && st.Streams && s.indexed(topic, st.ID, st.Partitions) {
		return st.Partitions, nil
	}
	info, err := s.EnsureTopic(topic)
	return info.Partitions, err
}

// Append appends events to stream in topic if the stream's version
// matches expected, all in one record batch: they land together or not at
// all. An append whose events (by id) are already stored where it would
// put them succeeds without writing (idempotent retry): at version
// expected+1 for NoStream and numeric versions, as the stream's last
// events for Any and StreamExists. It returns a *WrongExpectedVersionError
// on a mismatch, broker errors for unknown topics (auto-created when the
// broker allows) and oversized batches.
func (s *Store) Append(ctx context.Context, topic, stream string, expected ExpectedVersion, events []EventData) (AppendResult, error) {
	if err := ValidateStream(stream); err != nil {
		return AppendResult{}, err
	}
	if expected < 0 && expected != Any && expected != NoStream && expected != StreamExists {
		return AppendResult{}, fmt.Errorf("%w: %d", ErrInvalidExpectedVersion, int64(expected))
	}
	if err := ValidateEvents(events); err != nil {
		return AppendResult{}, err
	}
	partitions, err := s.appendPartitions(topic)
	if err != nil {
		return AppendResult{}, err
	}
	part := Partition([]byte(stream), partitions)
	pi := s.partIndex(topic, part)
	if pi == nil {
		return AppendResult{}, fmt.Errorf("%w: %s-%d is not indexed", ErrClosed, topic, part)
	}
	for attempt := 0; ; attempt++ {
		if err := ctx.Err(); err != nil {
			return AppendResult{}, err
		}
		if attempt > 0 {
			// The topic may have been re-indexed (recreated) meanwhile.
			if pi = s.partIndex(topic, part); pi == nil {
				return AppendResult{}, fmt.Errorf("%w: %s-%d is not indexed", ErrClosed, topic, part)
			}
		}
		pi.mu.Lock()
		next, err := pi.headLocked([]byte(stream))
		pi.mu.Unlock()
		if err != nil {
			return AppendResult{}, err
		}
		cur := next - 1
		loose := expected == Any || expected == StreamExists
		if !expected.matches(cur) || (loose && cur >= int64(len(events))-1 && s.recent.seen(topic, stream, events[0].ID)) {
			first := int64(expected) + 1
			if loose {
				first = cur - int64(len(events)) + 1
			}
			if res, ok, err := s.alreadyStored(ctx, topic, part, stream, first, events); err != nil || ok {
				return res, err
			}
			if !expected.matches(cur) {
				s.conflicts.Inc()
				return AppendResult{}, &WrongExpectedVersionError{Topic: topic, Stream: stream, Expected: expected, Actual: cur}
			}
		}
		cuts := pi.cuts.Load()
		batch := s.buildBatch(topic, stream, cur, events)
		w, err := s.b.Write(topic, part, batch, broker.WriteOptions{Stream: broker.StreamWrite{Name: stream, Expected: cur, Records: len(events)}})
		var wev *WrongExpectedVersionError
		if errors.As(err, &wev) {
			// Another writer got in between the head read and the write.
			if loose && attempt < s.cfg.MaxAppendRetries {
				continue
			}
			if res, ok, err := s.alreadyStored(ctx, topic, part, stream, int64(expected)+1, events); err != nil || ok {
				return res, err
			}
			return AppendResult{}, &WrongExpectedVersionError{Topic: topic, Stream: stream, Expected: expected, Actual: wev.Actual}
		}
		if err != nil {
			return AppendResult{}, err
		}
		if err := w.Wait(); err != nil {
			return AppendResult{}, err
		}
		s.appends.Inc()
		s.recent.add(topic, stream, events[0].ID)
		first := cur + 1
		if pi.cuts.Load() != cuts {
			// The log cut its tail under this write (after a failed fsync)
			// and the index renumbered it: report the version it got.
			if v, ok, err := pi.versionAt(w.Base); err != nil {
				return AppendResult{}, err
			} else if ok {
				first = v
			}
		}
		return AppendResult{FirstVersion: first, LastVersion: first + int64(len(events)) - 1, Partition: part, Offset: w.Base}, nil
	}
}

// alreadyStored reports whether events are stored in stream from version
// first on, with the same ids in the same order.
func (s *Store) alreadyStored(ctx context.Context, topic string, part int32, stream string, first int64, events []EventData) (AppendResult, bool, error) {
	if first < 0 {
		return AppendResult{}, false, nil
	}
	page, err := s.Read(ctx, topic, stream, ReadOptions{From: first, Limit: len(events)})
	if errors.Is(err, ErrStreamNotFound) {
		return AppendResult{}, false, nil
	}
	if err != nil {
		return AppendResult{}, false, err
	}
	if len(page.Events) != len(events) {
		return AppendResult{}, false, nil
	}
	for i, ev := range page.Events {
		if ev.ID != events[i].ID || ev.Version != first+int64(i) {
			return AppendResult{}, false, nil
		}
	}
	return AppendResult{FirstVersion: first, LastVersion: first + int64(len(events)) - 1, Partition: part,
		Offset: page.Events[0].Offset, Duplicate: true}, true, nil
}

func (s *Store) buildBatch(topic, stream string, cur int64, events []EventData) []byte {
	now := s.cfg.Now()
	ts := now.UnixMilli()
	tstr := now.UTC().Format(time.RFC3339Nano)
	defSource := "/topics/" + topic + "/streams/" + stream
	key := []byte(stream)
	size, maxEv := 0, 0
	for _, e := range events {
		n := len(key) + len(e.ID) + len(e.Type) + len(e.Data) + len(e.Metadata) + len(e.Source) + len(defSource) + len(tstr) + 128
		size += n
		maxEv = max(maxEv, n)
	}
	// One allocation for the batch (the broker keeps it) and a pooled
	// scratch for the record being encoded.
	scratch := recordScratch.Get().(*[]byte)
	bb := &batchBuilder{b: record.NewBuilderBuffers(record.NewHeader(ts), make([]byte, 0, record.BatchHeaderSize+size), slices.Grow((*scratch)[:0], maxEv)), ts: ts}
	defer func() {
		if body := bb.b.Scratch(); cap(body) <= 64<<10 {
			*scratch = body
			recordScratch.Put(scratch)
		}
	}()
	hs := make([]strHeader, 0, 7)
	var extra []Header
	var vbuf []byte
	for i, e := range events {
		src := defSource
		if e.Source != "" {
			src = e.Source
		}
		ct := e.ContentType
		if ct == "" {
			ct = "application/json"
		}
		vbuf = strconv.AppendInt(vbuf[:0], cur+1+int64(i), 10)
		hs = append(hs[:0],
			strHeader{HeaderID, e.ID},
			strHeader{HeaderType, e.Type},
			strHeader{HeaderSource, src},
			strHeader{HeaderSpecVersion, "1.0"},
			strHeader{HeaderTime, tstr},
			strHeader{HeaderContentType, ct},
		)
		extra = append(extra[:0], Header{HeaderStreamVersion, vbuf})
		if len(e.Metadata) > 0 {
			extra = append(extra, Header{HeaderMetadata, e.Metadata})
		}
		var value []byte
		if len(e.Data) > 0 {
			value = e.Data
		}
		bb.addStr(ts, key, value, hs, extra)
	}
	return bb.finish()
}

// recordScratch holds the per-record encoding buffers of buildBatch.
var recordScratch = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
