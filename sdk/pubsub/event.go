package pubsub

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Event is one record a Router hands to a handler, with its CloudEvents
// attributes read from the binary-mode headers. A record without ce_type
// has an empty Type (it matches only a handler registered for AnyType).
//
// The Router reuses an Event's memory for a later record once the handler
// has returned: a handler or middleware that keeps the *Event longer (in a
// goroutine of its own, a slice, a channel) keeps Clone() instead. Its
// Key, Data and Headers are the record's and are not reused.
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

	// schemas decodes values in the Confluent wire format (WithSchemas).
	schemas *Schemas
}

// Clone returns a copy of e that stays valid after the handler returns.
func (e *Event) Clone() *Event {
	c := *e
	return &c
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

// Decode decodes the event's data into v: JSON, or a value in the
// Confluent wire format (magic byte 0 and a schema id, as a schema-registry
// serializer writes it) with the router's Schemas (WithSchemas); without
// them a wire-format value is read as the JSON after its header (JSON
// Schema). A decode error is Permanent: retrying cannot make the data
// decode.
func (e *Event) Decode(v any) error {
	var err error
	switch {
	case !isWireFormat(e.Data):
		err = json.Unmarshal(e.Data, v)
	case e.schemas != nil:
		ctx, cancel := context.WithTimeout(context.Background(), decodeTimeout)
		err = e.schemas.Decode(ctx, e.Data, v)
		cancel()
	default:
		err = json.Unmarshal(e.Data[5:], v)
	}
	if err != nil {
		return Permanent(fmt.Errorf("decode %s event %s (%s/%d@%d): %w", e.Type, e.ID, e.Topic, e.Partition, e.Offset, err))
	}
	return nil
}

// isWireFormat reports whether data starts with the Confluent wire
// format's header. JSON text never starts with a zero byte.
func isWireFormat(data []byte) bool { return len(data) >= 5 && data[0] == 0 }

// newEvent reads a record's CloudEvents headers.
func newEvent(r *kgo.Record, group string, share bool) *Event {
	d := dispatcher{group: group, share: share}
	ev := new(Event)
	d.fill(ev, r)
	return ev
}
