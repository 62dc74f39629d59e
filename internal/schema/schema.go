// Package schema parses and checks the schemas a schema registry holds:
// Avro, JSON Schema and Protobuf, with references between schemas, the
// compatibility levels of Confluent Schema Registry, the Confluent wire format
// (magic byte 0, a 4-byte schema id, Protobuf message indexes) and payload
// validation against a compiled schema.
//
// It is a leaf package: it knows nothing of subjects, versions or storage.
// The caller resolves references to their schema text and passes them in.
//
// A Compiled schema is immutable and safe for concurrent use.
//
// Usage:
//
//	c, err := schema.Compile(schema.Avro, text, nil)
//	old, _ := schema.Compile(schema.Avro, oldText, nil)
//	reasons := schema.Check(schema.Backward, c, []schema.Compiled{old})
package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Type is a schema format, spelled as the Confluent API spells it.
type Type string

// The schema formats.
const (
	Avro     Type = "AVRO"
	JSON     Type = "JSON"
	Protobuf Type = "PROTOBUF"
)

// Types lists the supported formats in the order GET /schemas/types returns them.
var Types = []Type{JSON, Protobuf, Avro}

// ParseType returns the Type named by s; an empty s is Avro, as in Confluent's API.
func ParseType(s string) (Type, error) {
	switch strings.ToUpper(s) {
	case "", "AVRO":
		return Avro, nil
	case "JSON":
		return JSON, nil
	case "PROTOBUF":
		return Protobuf, nil
	}
	return "", fmt.Errorf("unknown schema type %q (want AVRO, JSON or PROTOBUF)", s)
}

// Dep is a resolved reference: the name the referring schema uses for it
// (an Avro full name, a JSON Schema $ref URL, a Protobuf import path) and the
// referenced schema's own text and references.
type Dep struct {
	Name string
	Type Type
	Text string
	Deps []Dep
}

// ErrInvalid is wrapped by every error Compile returns for a schema that does
// not parse.
var ErrInvalid = errors.New("invalid schema")

// Compiled is a parsed schema, ready for compatibility checks and payload
// validation.
type Compiled interface {
	// Type is the schema's format.
	Type() Type
	// Canonical is the schema text in a normalized form: two schemas with the
	// same Canonical text and the same references are the same schema.
	Canonical() string
	// Validate checks that payload (with the wire-format header already
	// removed) decodes under the schema. Protobuf payloads are preceded by
	// their message indexes; index selects the message.
	Validate(payload []byte, index []int) error
	// readerOf lists why a reader with this schema cannot read data written
	// with writer; empty when it can. writer has the same Type.
	readerOf(writer Compiled) []string
}

// Compile parses text as a schema of type t whose references are deps.
func Compile(t Type, text string, deps []Dep) (Compiled, error) {
	var (
		c   Compiled
		err error
	)
	switch t {
	case Avro:
		c, err = compileAvro(text, deps)
	case JSON:
		c, err = compileJSON(text, deps)
	case Protobuf:
		c, err = compileProtobuf(text, deps)
	default:
		return nil, fmt.Errorf("%w: unknown schema type %q", ErrInvalid, t)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrInvalid, t, err)
	}
	return c, nil
}
