package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// DefaultReadLimit and MaxReadLimit bound one page of a stream read.
const (
	DefaultReadLimit = 100
	MaxReadLimit     = 10_000
)

// ReadOptions selects a page of a stream.
type ReadOptions struct {
	// From is the first version to return; forward reads start at 0 by
	// default, backward reads at the last event (From < 0 means default).
	From int64
	// Limit is the page size; 0 means DefaultReadLimit.
	Limit int
	// Backward reads towards version 0.
	Backward bool
}

// Page is one page of a stream.
type Page struct {
	Stream string `json:"stream"`
	// Version is the stream's current version (its last event's).
	Version int64 `json:"version"`
	// StreamStart is the first version still stored: above 0 when
	// retention deleted the stream's oldest events.
	StreamStart int64   `json:"streamStart"`
	Events      []Event `json:"events"`
	// Next is the From of the next page, nil at the end.
	Next *int64 `json:"next,omitempty"`
}

func (s *Store) streamTopic(topic string) (broker.TopicInfo, error) {
	info, err := s.b.Topic(topic)
	if err != nil {
		return info, err
	}
	if !IsStreamTopic(info) {
		return info, fmt.Errorf("%w: topic %q (append to it through the event-store API, or set %s=true)", ErrNotStreamTopic, topic, broker.ConfigStreams)
	}
	return info, nil
}

// Read returns a page of stream in topic. It returns ErrStreamNotFound for
// a stream that never had an event. Only durable events are returned.
func (s *Store) Read(ctx context.Context, topic, stream string, o ReadOptions) (Page, error) {
	if o.Limit <= 0 {
		o.Limit = DefaultReadLimit
	}
	if o.Limit > MaxReadLimit {
		o.Limit = MaxReadLimit
	}
	if !o.Backward && o.From < 0 {
		o.From = 0
	}
	part, pi, err := s.indexFor(topic, stream)
	if err != nil {
		return Page{}, err
	}
	_, hw, _, err := s.b.Offsets(topic, part)
	if err != nil {
		return Page{}, err
	}
	count, ps, err := pi.streamPositions(stream, o.From, o.Limit, o.Backward, hw)
	if err != nil {
		return Page{}, err
	}
	if count == 0 {
		return Page{}, fmt.Errorf("%w: %q in topic %q", ErrStreamNotFound, stream, topic)
	}
	page := Page{Stream: stream, Version: count - 1, Events: []Event{}}
	start, err := s.streamStart(pi, stream, count)
	if err != nil {
		return Page{}, err
	}
	page.StreamStart = start
	evs, err := s.fetchEvents(ctx, topic, part, stream, ps)
	if err != nil {
		return Page{}, err
	}
	page.Events = evs
	if len(ps) == o.Limit && len(evs) == len(ps) {
		last := ps[len(ps)-1].version
		next := last + 1
		if o.Backward {
			next = last - 1
		}
		if next >= 0 && next < count {
			page.Next = &next
		}
	}
	return page, nil
}

// streamStart finds the first version whose record retention kept.
func (s *Store) streamStart(pi *partIndex, stream string, count int64) (int64, error) {
	logStart, _, _, err := s.b.Offsets(pi.topic, pi.part)
	if err != nil || logStart == 0 {
		return 0, err
	}
	lo, hi := int64(0), count // first version with offset >= logStart in [lo, hi]
	for lo < hi {
		mid := lo + (hi-lo)/2
		_, ps, err := pi.streamPositions(stream, mid, 1, false, math.MaxInt64)
		if err != nil {
			return 0, err
		}
		if len(ps) == 0 || ps[0].offset >= logStart {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo, nil
}

// fetchEvents reads the records at ps from the log. Positions below the
// log start (deleted by retention) are skipped; reading stops at the first
// one not yet durable.
func (s *Store) fetchEvents(ctx context.Context, topic string, part int32, stream string, ps []pos) ([]Event, error) {
	out := make([]Event, 0, len(ps))
	var h record.BatchHeader
	var cached []Event // the stream's records of the batch last read, by offset
	have := false
	var buf []byte // reused: events copy what they keep
	for _, p := range ps {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if !have || p.offset < h.BaseOffset || p.offset > h.LastOffset() {
			res, err := s.b.FetchInto(buf, topic, part, p.offset, 1)
			buf = res.Batches
			if errors.Is(err, broker.ErrOffsetOutOfRange) && p.offset < res.LogStartOffset {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("read %s-%d at %d: %w", topic, part, p.offset, err)
			}
			if len(res.Batches) == 0 {
				break // not durable yet
			}
			if h, err = record.ParseBatchHeader(res.Batches); err != nil {
				return nil, fmt.Errorf("read %s-%d at %d: %w", topic, part, p.offset, err)
			}
			cached = cached[:0]
			err = forEachRecord(h, res.Batches[:min(h.Size(), len(res.Batches))], func(r *Record) error {
				if string(r.Key) == stream {
					cached = append(cached, eventFromRecord(stream, part, -1, r))
				}
				return nil
			})
			if err != nil {
				if errors.Is(err, ErrCorruptBatch) {
					s.corrupt.Inc()
				}
				return nil, fmt.Errorf("decode %s-%d at %d: %w", topic, part, p.offset, err)
			}
			have = true
		}
		i := sort.Search(len(cached), func(i int) bool { return cached[i].Offset >= p.offset })
		if i == len(cached) || cached[i].Offset != p.offset {
			return nil, fmt.Errorf("index of %s-%d names offset %d for %q version %d, but the log has no such record there", topic, part, p.offset, stream, p.version)
		}
		ev := cached[i]
		ev.Version = p.version
		out = append(out, ev)
	}
	return out, nil
}

// Head returns the current version of a stream (-1: no events).
func (s *Store) Head(topic, stream string) (int64, error) {
	_, pi, err := s.indexFor(topic, stream)
	if err != nil {
		return 0, err
	}
	pi.mu.Lock()
	defer pi.mu.Unlock()
	n, err := pi.headLocked([]byte(stream))
	return n - 1, err
}

// indexFor returns the partition and index of stream in an existing
// event-store topic.
func (s *Store) indexFor(topic, stream string) (int32, *partIndex, error) {
	info, err := s.streamTopic(topic)
	if err != nil {
		return 0, nil, err
	}
	part := Partition([]byte(stream), info.Partitions)
	pi := s.partIndex(topic, part)
	if pi == nil {
		if info, err = s.EnsureTopic(topic); err != nil {
			return 0, nil, err
		}
		part = Partition([]byte(stream), info.Partitions)
		if pi = s.partIndex(topic, part); pi == nil {
			return 0, nil, fmt.Errorf("%w: %s-%d is not indexed", ErrClosed, topic, part)
		}
	}
	return part, pi, nil
}
