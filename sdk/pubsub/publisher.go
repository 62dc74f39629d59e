package pubsub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Message is an event to publish. Topic and Type are required.
type Message struct {
	Topic string
	// Key is the record key: the stream (aggregate id) the event belongs
	// to; it also picks the partition, so one key's events stay in order.
	Key string
	// Type is the CloudEvents type (ce_type).
	Type string
	// ID is ce_id; default a random UUID v4.
	ID string
	// Source is ce_source; default "/topics/<topic>/streams/<key>" (as the
	// event store writes it), "/topics/<topic>" without a key.
	Source string
	// Subject is ce_subject; omitted when empty.
	Subject string
	// Time is ce_time; default now.
	Time time.Time
	// Data is the event's data: []byte and json.RawMessage are written as
	// they are, anything else is marshalled to JSON.
	Data any
	// ContentType is the content-type header; default application/json.
	ContentType string
	// Headers are extra record headers, written after the CloudEvents ones.
	Headers []kgo.RecordHeader
}

// Record builds the kgo record of m: key, value and the CloudEvents
// binary-mode headers ce_id, ce_type, ce_source, ce_specversion (1.0),
// ce_time (RFC 3339, UTC), content-type, in the event store's order.
func (m Message) Record() (*kgo.Record, error) {
	if m.Topic == "" || m.Type == "" {
		return nil, fmt.Errorf("message: topic (%q) and type (%q) are required", m.Topic, m.Type)
	}
	var value []byte
	switch d := m.Data.(type) {
	case nil:
	case []byte:
		value = d
	case json.RawMessage:
		value = d
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("marshal %s data: %w", m.Type, err)
		}
		value = b
	}
	id := m.ID
	if id == "" {
		id = NewID()
	}
	src := m.Source
	if src == "" {
		src = "/topics/" + m.Topic
		if m.Key != "" {
			src += "/streams/" + m.Key
		}
	}
	t := m.Time
	if t.IsZero() {
		t = time.Now()
	}
	ct := m.ContentType
	if ct == "" {
		ct = "application/json"
	}
	hs := make([]kgo.RecordHeader, 0, 7+len(m.Headers))
	hs = append(hs,
		kgo.RecordHeader{Key: HeaderID, Value: []byte(id)},
		kgo.RecordHeader{Key: HeaderType, Value: []byte(m.Type)},
		kgo.RecordHeader{Key: HeaderSource, Value: []byte(src)},
		kgo.RecordHeader{Key: HeaderSpecVersion, Value: []byte("1.0")},
		kgo.RecordHeader{Key: HeaderTime, Value: []byte(t.UTC().Format(time.RFC3339Nano))},
		kgo.RecordHeader{Key: HeaderContentType, Value: []byte(ct)},
	)
	if m.Subject != "" {
		hs = append(hs, kgo.RecordHeader{Key: HeaderSubject, Value: []byte(m.Subject)})
	}
	hs = append(hs, m.Headers...)
	r := &kgo.Record{Topic: m.Topic, Value: value, Headers: hs, Timestamp: t}
	if m.Key != "" {
		r.Key = []byte(m.Key)
	}
	return r, nil
}

// Publisher writes Messages as CloudEvents records through a kgo client.
// It is safe for concurrent use.
type Publisher struct {
	cl      *kgo.Client
	own     bool
	schemas *Schemas // WithSchemas
}

// NewPublisher returns a Publisher with its own kgo client for brokers.
// Its defaults are franz-go's producer defaults, which are the idempotent
// producer: acks from all in-sync replicas, retries without duplicates or
// reordering per partition. opts are appended (and so override them).
func NewPublisher(brokers []string, opts ...kgo.Opt) (*Publisher, error) {
	all := append([]kgo.Opt{kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks())}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		return nil, fmt.Errorf("new publisher: %w", err)
	}
	return &Publisher{cl: cl, own: true}, nil
}

// NewPublisherFromClient returns a Publisher that writes through cl; Close
// does not close cl.
func NewPublisherFromClient(cl *kgo.Client) *Publisher { return &Publisher{cl: cl} }

// Client returns the publisher's kgo client.
func (p *Publisher) Client() *kgo.Client { return p.cl }

// Publish writes msgs as one batch and waits until every one is
// acknowledged; it returns the first error. Messages with the same key
// keep their order.
func (p *Publisher) Publish(ctx context.Context, msgs ...Message) error {
	rs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		r, err := p.record(m)
		if err != nil {
			return err
		}
		rs[i] = r
	}
	return p.PublishRecords(ctx, rs...)
}

// PublishRecords writes prepared records and waits for them.
func (p *Publisher) PublishRecords(ctx context.Context, rs ...*kgo.Record) error {
	if err := p.cl.ProduceSync(ctx, rs...).FirstErr(); err != nil {
		return fmt.Errorf("publish: %w", err)
	}
	return nil
}

// PublishAsync buffers m and returns; done (if not nil) is called with the
// written record or the error once the broker answered. Flush waits for
// every buffered message.
func (p *Publisher) PublishAsync(ctx context.Context, m Message, done func(*kgo.Record, error)) {
	r, err := p.record(m)
	if err != nil {
		if done != nil {
			done(nil, err)
		}
		return
	}
	p.cl.Produce(ctx, r, func(r *kgo.Record, err error) {
		if done != nil {
			done(r, err)
		}
	})
}

// Flush waits until every message published so far is acknowledged.
func (p *Publisher) Flush(ctx context.Context) error {
	if err := p.cl.Flush(ctx); err != nil {
		return fmt.Errorf("flush: %w", err)
	}
	return nil
}

// Close flushes and closes the publisher's own client (not one given to
// NewPublisherFromClient).
func (p *Publisher) Close() {
	if p.own {
		_ = p.cl.Flush(context.Background())
		p.cl.Close()
	}
}

// NewID returns a random UUID v4.
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
