package schema

import (
	"errors"
	"fmt"

	"github.com/hamba/avro/v2"
)

// ErrNoRecordName is returned by RecordName for schemas without a name:
// Avro primitives, arrays, maps and unions, and JSON schemas without a
// title.
var ErrNoRecordName = errors.New("schema has no record name")

// RecordName returns the fully-qualified record name that Confluent's
// RecordNameStrategy and TopicRecordNameStrategy use as (part of) the
// subject: an Avro named type's full name, a JSON schema's title, or the
// full name of the Protobuf message that index selects.
func RecordName(c Compiled, index []int) (string, error) {
	switch s := c.(type) {
	case *avroSchema:
		if n, ok := deref(s.s).(avro.NamedSchema); ok {
			return n.FullName(), nil
		}
		return "", fmt.Errorf("%w: Avro %s", ErrNoRecordName, s.s.Type())
	case *jsonSchema:
		if m, ok := s.root.(map[string]any); ok {
			if t, ok := m["title"].(string); ok && t != "" {
				return t, nil
			}
		}
		return "", fmt.Errorf("%w: JSON schema without a title", ErrNoRecordName)
	case *protoSchema:
		md, err := s.Message(index)
		if err != nil {
			return "", err
		}
		return string(md.FullName()), nil
	}
	return "", ErrNoRecordName
}
