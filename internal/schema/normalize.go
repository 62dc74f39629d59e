package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Normalize returns the normalized text of a schema, what the Confluent
// API's normalize=true registers and looks up instead of the text sent:
// AVRO the parsed schema in full JSON form (attributes in the
// specification's order, names fully qualified, whitespace removed); JSON
// the document with object keys sorted and whitespace removed. PROTOBUF
// text is returned unchanged: its schemas are already compared by their
// compiled descriptors, so formatting and comments never make two schemas
// differ. deps are the schema's resolved references.
func Normalize(t Type, text string, deps []Dep) (string, error) {
	switch t {
	case Avro:
		c, err := Compile(Avro, text, deps)
		if err != nil {
			return "", err
		}
		return c.Canonical(), nil
	case JSON:
		d := json.NewDecoder(bytes.NewReader([]byte(text)))
		d.UseNumber()
		var v any
		if err := d.Decode(&v); err != nil {
			return "", fmt.Errorf("%w: JSON: %v", ErrInvalid, err)
		}
		// encoding/json writes map keys sorted.
		var b bytes.Buffer
		e := json.NewEncoder(&b)
		e.SetEscapeHTML(false)
		if err := e.Encode(v); err != nil {
			return "", fmt.Errorf("%w: JSON: %v", ErrInvalid, err)
		}
		return string(bytes.TrimSuffix(b.Bytes(), []byte("\n"))), nil
	case Protobuf:
		return text, nil
	}
	return "", fmt.Errorf("%w: unknown schema type %q", ErrInvalid, t)
}
