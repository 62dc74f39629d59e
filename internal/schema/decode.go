package schema

import (
	"encoding/json"
	"fmt"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

// DecodeJSON decodes payload (the data after the wire-format header; for
// Protobuf, after the message indexes, which index gives) under c and
// returns it as JSON: an Avro datum as its generic JSON form (records as
// objects, bytes as base64, a union branch that is not null as
// {"type": value}), a Protobuf message in the protojson mapping, a JSON
// payload as a copy of itself. The result never shares memory with payload
// (which may live in a read buffer that is reused). The payload is
// validated first, so a payload that does not match the schema is an
// error, never a partial value.
func DecodeJSON(c Compiled, payload []byte, index []int) ([]byte, error) {
	if err := c.Validate(payload, index); err != nil {
		return nil, err
	}
	switch s := c.(type) {
	case *avroSchema:
		var v any
		if err := avro.Unmarshal(s.s, payload, &v); err != nil {
			return nil, fmt.Errorf("decode avro datum: %w", err)
		}
		out, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("avro datum as JSON: %w", err)
		}
		return out, nil
	case *protoSchema:
		md, err := s.Message(index)
		if err != nil {
			return nil, err
		}
		m := dynamicpb.NewMessage(md)
		if err := proto.Unmarshal(payload, m); err != nil {
			return nil, fmt.Errorf("decode protobuf message %s: %w", md.FullName(), err)
		}
		out, err := protojson.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("protobuf message as JSON: %w", err)
		}
		return out, nil
	case *jsonSchema:
		if !json.Valid(payload) {
			return nil, fmt.Errorf("payload is not JSON")
		}
		return append([]byte(nil), payload...), nil
	}
	return nil, fmt.Errorf("decode: unknown schema type %s", c.Type())
}
