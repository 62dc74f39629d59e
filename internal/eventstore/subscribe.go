package eventstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/record"
)

// ErrSlowSubscriber ends a subscription whose reader fell behind: its
// buffer stayed full for SubscribeOptions.SlowTimeout. The subscriber
// resumes from the last position it processed.
var ErrSlowSubscriber = errors.New("subscriber too slow: buffer full")

// SubscribeOptions tunes a subscription.
type SubscribeOptions struct {
	// Buffer is how many events wait for the reader; default 256.
	Buffer int
	// SlowTimeout is how long the buffer may stay full before the
	// subscription is dropped with ErrSlowSubscriber; default 10 s.
	SlowTimeout time.Duration
	// Filter, when set, delivers only the records it matches (see
	// package filter); positions still move past the others.
	Filter *filter.Program
}

// Broker returns the broker the store reads.
func (s *Store) Broker() *broker.Broker { return s.b }

// matchesEvent evaluates o.Filter on an event read from a stream, seen as
// the record it was stored as (key = stream, value = data, ce_* headers).
func (o *SubscribeOptions) matchesEvent(ev *Event) bool {
	if o.Filter == nil {
		return true
	}
	value := []byte(ev.Data)
	if value == nil {
		value = ev.DataBase64
	}
	var hs []filter.Header
	add := func(k, v string) {
		if v != "" {
			hs = append(hs, filter.Header{Key: []byte(k), Value: []byte(v)})
		}
	}
	add(HeaderID, ev.ID)
	add(HeaderType, ev.Type)
	add(HeaderSource, ev.Source)
	add(HeaderTime, ev.Time)
	add(HeaderContentType, ev.ContentType)
	add(HeaderStreamVersion, strconv.FormatInt(ev.Version, 10))
	add(HeaderMetadata, string(ev.Metadata))
	return o.Filter.Match(&filter.Record{Key: []byte(ev.Stream), Value: value, Headers: hs, Timestamp: ev.Timestamp, Partition: ev.Partition, Offset: ev.Offset})
}

// matches evaluates o.Filter on a record of partition part.
func (o *SubscribeOptions) matches(part int32, r *Record) bool {
	if o.Filter == nil {
		return true
	}
	return o.Filter.Match(&filter.Record{Key: r.Key, Value: r.Value, Headers: r.Headers, Timestamp: r.Timestamp, Partition: part, Offset: r.Offset})
}

func (o *SubscribeOptions) defaults() {
	if o.Buffer <= 0 {
		o.Buffer = 256
	}
	if o.SlowTimeout <= 0 {
		o.SlowTimeout = 10 * time.Second
	}
}

// Delivery is one event of a subscription with the position to resume
// after it: for a stream subscription the event's version, for a topic
// subscription the cursor of every partition (Cursor.String).
type Delivery struct {
	Event  Event
	Resume string
}

// Subscription delivers events on C until its context ends or it is
// dropped; then C is closed and Err says why.
type Subscription struct {
	C    <-chan Delivery
	done chan struct{}
	err  error
}

// Err returns why the subscription ended, after C is closed.
func (s *Subscription) Err() error {
	<-s.done
	return s.err
}

func newSub(buf int) (*Subscription, chan Delivery) {
	ch := make(chan Delivery, buf)
	return &Subscription{C: ch, done: make(chan struct{})}, ch
}

// send delivers d, giving up after slow.
func send(ctx context.Context, stop <-chan struct{}, ch chan<- Delivery, d Delivery, slow time.Duration, t *time.Timer) error {
	select {
	case ch <- d:
		return nil
	default:
	}
	t.Reset(slow)
	defer t.Stop()
	select {
	case ch <- d:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-stop:
		return ErrClosed
	case <-t.C:
		return ErrSlowSubscriber
	}
}

// SubscribeStream delivers the events of stream from version from on
// (catch-up), then every new one as it becomes durable (live). A stream
// that does not exist yet is waited for.
func (s *Store) SubscribeStream(ctx context.Context, topic, stream string, from int64, o SubscribeOptions) (*Subscription, error) {
	o.defaults()
	if err := ValidateStream(stream); err != nil {
		return nil, err
	}
	part, _, err := s.indexFor(topic, stream)
	if err != nil {
		return nil, err
	}
	if from < 0 {
		from = 0
	}
	return s.subscribe(ctx, o, topic, []int32{part}, func(deliver func(Delivery) error) (bool, error) {
		page, err := s.Read(ctx, topic, stream, ReadOptions{From: from, Limit: 500})
		if err != nil && !errors.Is(err, ErrStreamNotFound) {
			return false, err
		}
		for _, ev := range page.Events {
			if !o.matchesEvent(&ev) {
				from = ev.Version + 1
				continue
			}
			if err := deliver(Delivery{Event: ev, Resume: strconv.FormatInt(ev.Version, 10)}); err != nil {
				return false, err
			}
			from = ev.Version + 1
		}
		return len(page.Events) > 0 && page.Next != nil, nil
	})
}

// Cursor is a topic subscription's position: the next offset to deliver
// per partition.
type Cursor map[int32]int64

// String renders the cursor as "0:15,1:20", the SSE id of topic
// subscriptions.
func (c Cursor) String() string {
	var b strings.Builder
	for p := int32(0); len(c) > 0 && p <= maxKey(c); p++ {
		off, ok := c[p]
		if !ok {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(p)))
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(off, 10))
	}
	return b.String()
}

func maxKey(c Cursor) int32 {
	m := int32(0)
	for p := range c {
		m = max(m, p)
	}
	return m
}

// ParseCursor parses Cursor.String's format.
func ParseCursor(s string) (Cursor, error) {
	c := Cursor{}
	for _, part := range strings.Split(s, ",") {
		ps, os, ok := strings.Cut(strings.TrimSpace(part), ":")
		p, err1 := strconv.ParseInt(ps, 10, 32)
		off, err2 := strconv.ParseInt(os, 10, 64)
		if !ok || err1 != nil || err2 != nil || p < 0 || off < 0 {
			return nil, fmt.Errorf("invalid cursor %q: want partition:offset[,partition:offset...]", s)
		}
		c[int32(p)] = off
	}
	return c, nil
}

// SubscribeTopic delivers every record of topic (all partitions) from
// the cursor's offsets on (partitions it does not name start at from),
// then live. Events carry their stream version when the record has an
// eddy-stream-version header, -1 otherwise.
func (s *Store) SubscribeTopic(ctx context.Context, topic string, cur Cursor, from int64, o SubscribeOptions) (*Subscription, error) {
	o.defaults()
	info, err := s.b.Topic(topic)
	if err != nil {
		return nil, err
	}
	pos := Cursor{}
	for p := int32(0); p < info.Partitions; p++ {
		pos[p] = from
		if off, ok := cur[p]; ok {
			pos[p] = off
		}
	}
	parts := make([]int32, info.Partitions)
	for p := range parts {
		parts[p] = int32(p)
	}
	var buf []byte // reused: events copy what they keep
	return s.subscribe(ctx, o, topic, parts, func(deliver func(Delivery) error) (bool, error) {
		progressed := false
		for _, p := range parts {
			res, err := s.b.FetchInto(buf, topic, p, pos[p], 256<<10)
			buf = res.Batches
			if errors.Is(err, broker.ErrOffsetOutOfRange) && pos[p] < res.LogStartOffset {
				pos[p] = res.LogStartOffset
				progressed = true
				continue
			}
			if err != nil {
				return false, err
			}
			for off := 0; off+record.BatchHeaderSize <= len(res.Batches); {
				h, err := record.ParseBatchHeader(res.Batches[off:])
				if err != nil || off+h.Size() > len(res.Batches) {
					break
				}
				batch := res.Batches[off : off+h.Size()]
				off += h.Size()
				var evs []Event
				err = forEachRecord(h, batch, func(r *Record) error {
					if r.Offset < pos[p] || !o.matches(p, r) {
						return nil
					}
					v := int64(-1)
					if hv, ok := r.Header(HeaderStreamVersion); ok {
						if n, err := strconv.ParseInt(string(hv), 10, 64); err == nil {
							v = n
						}
					}
					evs = append(evs, eventFromRecord(string(r.Key), p, v, r))
					return nil
				})
				if err != nil {
					if errors.Is(err, ErrCorruptBatch) {
						s.corrupt.Inc()
					}
					return false, fmt.Errorf("decode %s-%d at %d: %w", topic, p, h.BaseOffset, err)
				}
				for _, ev := range evs {
					pos[p] = ev.Offset + 1
					if err := deliver(Delivery{Event: ev, Resume: pos.String()}); err != nil {
						return false, err
					}
				}
				if next := h.LastOffset() + 1; next > pos[p] {
					pos[p] = next
				}
				progressed = true
			}
		}
		return progressed, nil
	})
}

// subscribe runs a subscription as a goroutine tracked by the store. poll
// delivers what is available from the subscription's position and reports
// whether it made progress; when it did not, the loop waits for new records
// on the topic's partitions parts, for ctx, or for Close. An error from
// poll (deliver's included) ends the subscription with that error.
func (s *Store) subscribe(ctx context.Context, o SubscribeOptions, topic string, parts []int32, poll func(deliver func(Delivery) error) (bool, error)) (*Subscription, error) {
	sub, ch := newSub(o.Buffer)
	if !s.track() {
		return nil, ErrClosed
	}
	go func() {
		defer s.wg.Done()
		defer close(sub.done)
		defer close(ch)
		w := s.b.NewWaiter()
		defer w.Close()
		for _, p := range parts {
			w.Add(topic, p)
		}
		t := time.NewTimer(time.Hour)
		t.Stop()
		deliver := func(d Delivery) error { return send(ctx, s.stop, ch, d, o.SlowTimeout, t) }
		for {
			progressed, err := poll(deliver)
			if err != nil {
				sub.err = err
				return
			}
			if progressed {
				continue
			}
			select {
			case <-w.C():
			case <-ctx.Done():
				sub.err = ctx.Err()
				return
			case <-s.stop:
				sub.err = ErrClosed
				return
			}
		}
	}()
	return sub, nil
}

// track counts a subscription goroutine, unless the store is closed.
func (s *Store) track() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.mu.closed {
		return false
	}
	s.wg.Add(1)
	return true
}
