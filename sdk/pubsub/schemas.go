package pubsub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sr"
)

// Codec turns Go values into a schema's binary encoding and back: JSON for
// JSON Schema (JSONCodec), or an Avro or Protobuf library's marshal and
// unmarshal functions.
type Codec struct {
	Encode func(v any) ([]byte, error)
	Decode func(data []byte, v any) error
}

// JSONCodec is the Codec of JSON Schema: encoding/json.
func JSONCodec() Codec {
	return Codec{Encode: json.Marshal, Decode: json.Unmarshal}
}

// Schemas is a schema-registry serializer for a Publisher and a Router.
// Each Go type registered with it is bound to a schema id: the Publisher
// writes values of that type in the Confluent wire format (magic byte 0,
// the 4-byte schema id, for Protobuf the message indexes, then the
// encoding), so any Confluent deserializer, and a broker validating the
// topic's schema ids, accepts them; the Router decodes such values back.
// It is franz-go's sr.Serde with the registration against the registry.
// It is safe for concurrent use.
type Schemas struct {
	cl    *sr.Client
	serde *sr.Serde

	mu sync.RWMutex
	// contentType is the content-type header for each bound Go type.
	contentType map[reflect.Type]string
	// fallback caches, for ids no Go type is bound to, the schema type
	// the registry gave (JSON ones decode without a binding).
	fallback map[int]sr.SchemaType
}

// NewSchemas returns a Schemas that registers and looks schemas up through
// cl (sr.NewClient(sr.URLs("http://localhost:8081"))).
func NewSchemas(cl *sr.Client) *Schemas {
	return &Schemas{
		cl:          cl,
		serde:       sr.NewSerde(),
		contentType: map[reflect.Type]string{},
		fallback:    map[int]sr.SchemaType{},
	}
}

// Client returns the registry client.
func (s *Schemas) Client() *sr.Client { return s.cl }

// Serde returns the underlying franz-go serde.
func (s *Schemas) Serde() *sr.Serde { return s.serde }

// Register registers schema under subject with the registry (the id it
// already has when the subject holds it) and binds example's Go type to
// that id: the Publisher encodes values of the type with codec.Encode and
// the Router decodes values carrying the id with codec.Decode. opts are
// franz-go's encoding options (sr.Index for a Protobuf message other than
// the file's first). It returns the schema id.
func (s *Schemas) Register(ctx context.Context, subject string, schema sr.Schema, example any, codec Codec, opts ...sr.EncodingOpt) (int, error) {
	ss, err := s.cl.CreateSchema(ctx, subject, schema)
	if err != nil {
		return 0, fmt.Errorf("register schema under %s: %w", subject, err)
	}
	s.Bind(ss.ID, schema.Type, example, codec, opts...)
	return ss.ID, nil
}

// Bind binds example's Go type to an id already registered (of schema
// type typ), as Register does after registering.
func (s *Schemas) Bind(id int, typ sr.SchemaType, example any, codec Codec, opts ...sr.EncodingOpt) {
	all := append([]sr.EncodingOpt{sr.EncodeFn(codec.Encode), sr.DecodeFn(codec.Decode)}, opts...)
	s.serde.Register(id, example, all...)
	s.mu.Lock()
	s.contentType[reflect.TypeOf(example)] = contentTypeOf(typ)
	s.mu.Unlock()
}

// contentTypeOf is the content-type header of a schema type's values.
func contentTypeOf(t sr.SchemaType) string {
	switch t {
	case sr.TypeProtobuf:
		return "application/protobuf"
	case sr.TypeJSON:
		return "application/json"
	}
	return "application/avro"
}

// encode returns v in the wire format and its content type; ok is false
// when no schema is bound to v's type.
func (s *Schemas) encode(v any) (b []byte, contentType string, ok bool, err error) {
	s.mu.RLock()
	ct, bound := s.contentType[reflect.TypeOf(v)]
	s.mu.RUnlock()
	if !bound {
		return nil, "", false, nil
	}
	b, err = s.serde.Encode(v)
	if err != nil {
		return nil, "", true, fmt.Errorf("encode %T with its schema: %w", v, err)
	}
	return b, ct, true, nil
}

// Decode decodes a value in the wire format into v with the codec bound
// to its schema id. A JSON Schema value whose id nothing is bound to (a
// newer version written by another service) is decoded as JSON after the
// registry confirms the id's type; other unbound ids are an error naming
// the id.
func (s *Schemas) Decode(ctx context.Context, data []byte, v any) error {
	err := s.serde.Decode(data, v)
	if !errors.Is(err, sr.ErrNotRegistered) {
		return err
	}
	id, payload, derr := s.serde.DecodeID(data)
	if derr != nil {
		return derr
	}
	s.mu.RLock()
	typ, known := s.fallback[id]
	s.mu.RUnlock()
	if !known {
		sch, err := s.cl.SchemaByID(ctx, id)
		if err != nil {
			return fmt.Errorf("schema id %d: %w", id, err)
		}
		typ = sch.Type
		s.mu.Lock()
		s.fallback[id] = typ
		s.mu.Unlock()
	}
	if typ != sr.TypeJSON {
		return fmt.Errorf("schema id %d (%s): no Go type is bound to it (Schemas.Register or Bind): %w", id, typ, sr.ErrNotRegistered)
	}
	return json.Unmarshal(payload, v)
}

// WithSchemas makes the publisher encode Message.Data of every Go type
// bound in s (Schemas.Register) in the Confluent wire format, with the
// content-type header of its schema type unless the message sets one.
// Data of other types is written as before. Call it before publishing;
// it returns p.
func (p *Publisher) WithSchemas(s *Schemas) *Publisher {
	p.schemas = s
	return p
}

// record is m.Record with the publisher's schema serialization.
func (p *Publisher) record(m Message) (*kgo.Record, error) {
	if p.schemas != nil && m.Data != nil {
		b, ct, ok, err := p.schemas.encode(m.Data)
		if err != nil {
			return nil, fmt.Errorf("message %s: %w", m.Type, err)
		}
		if ok {
			m.Data = b
			if m.ContentType == "" {
				m.ContentType = ct
			}
		}
	}
	return m.Record()
}

// WithSchemas makes the router decode values in the Confluent wire format
// with s: Event.Decode (and so typed handlers) uses the codec bound to the
// value's schema id. Without it, Event.Decode still reads a JSON Schema
// value in the wire format (the JSON after its header).
func WithSchemas(s *Schemas) RouterOpt { return routerOpt(func(c *routerCfg) { c.schemas = s }) }

// decodeTimeout bounds the registry lookup of an unbound schema id.
const decodeTimeout = 10 * time.Second
