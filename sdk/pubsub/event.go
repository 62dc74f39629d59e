package pubsub

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Event is one record a Router hands to a handler, with its CloudEvents
// attributes read from the binary-mode headers. A record without ce_type
// has an empty Type (it matches only a handler registered for AnyType).
type Event struct {
	ID          string
	Type        string
	Source      string
	Subject     string
	SpecVersion string
	ContentType string
	// Time is ce_time, or the record's timestamp when absent or invalid.
	Time time.Time

	Topic     string
	Partition int32
	Offset    int64
	Key       []byte
	// Data is the record value (the event's data).
	Data    []byte
	Headers []kgo.RecordHeader
	// Timestamp is the record timestamp.
	Timestamp time.Time

	// Group is the router's group; Share tells whether it is a share group.
	Group string
	Share bool
	// DeliveryCount is the share group's delivery count (1 on the first
	// delivery), 0 on a classic group.
	DeliveryCount int32
	// Attempt is the in-process attempt number Retry sets (1 for the
	// first call); 0 without Retry.
	Attempt int

	// Record is the underlying kgo record.
	Record *kgo.Record
}

// Header returns the value of the last header named key.
func (e *Event) Header(key string) (string, bool) {
	for i := len(e.Headers) - 1; i >= 0; i-- {
		if e.Headers[i].Key == key {
			return string(e.Headers[i].Value), true
		}
	}
	return "", false
}

// Decode unmarshals the event's data (JSON) into v. Its error is
// Permanent: retrying cannot make the data decode.
func (e *Event) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return Permanent(fmt.Errorf("decode %s event %s (%s/%d@%d): %w", e.Type, e.ID, e.Topic, e.Partition, e.Offset, err))
	}
	return nil
}

// newEvent reads a record's CloudEvents headers.
func newEvent(r *kgo.Record, group string, share bool) *Event {
	ev := &Event{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Data: r.Value, Headers: r.Headers, Timestamp: r.Timestamp,
		Group: group, Share: share, DeliveryCount: r.DeliveryCount(), Record: r,
	}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderID:
			ev.ID = string(h.Value)
		case HeaderType:
			ev.Type = string(h.Value)
		case HeaderSource:
			ev.Source = string(h.Value)
		case HeaderSubject:
			ev.Subject = string(h.Value)
		case HeaderSpecVersion:
			ev.SpecVersion = string(h.Value)
		case HeaderContentType:
			ev.ContentType = string(h.Value)
		case HeaderTime:
			if t, err := time.Parse(time.RFC3339Nano, string(h.Value)); err == nil {
				ev.Time = t
			}
		}
	}
	if ev.Time.IsZero() {
		ev.Time = r.Timestamp
	}
	return ev
}
