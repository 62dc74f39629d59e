package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"strconv"

	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// decodeValue decodes a value in the schema registry's wire format (magic
// byte 0, big-endian schema id, for Protobuf the message indexes, then the
// data) with its registered schema into m.ValueJSON and m.ValueSchema. It
// reports false, leaving m for the plain JSON/text/hex rendering, when the
// id is not registered; when the id is registered but the data does not
// decode, m shows the value as hex with ValueSchemaError saying why.
func decodeValue(m *Message, value []byte, reg *registry.Registry) bool {
	id, data, err := schema.ParseWire(value)
	if err != nil {
		return false
	}
	c, err := reg.Compiled(int(id))
	if err != nil {
		return false
	}
	vs := &ValueSchema{ID: int(id), Type: string(c.Type())}
	if svs, err := reg.SubjectVersionsByID(int(id), false); err == nil && len(svs) > 0 {
		vs.Subject, vs.Version = svs[0].Subject, svs[0].Version
	}
	var index []int
	if c.Type() == schema.Protobuf {
		if index, data, err = schema.ParseIndexes(data); err != nil {
			m.ValueBase64, m.ValueSchemaError = base64.StdEncoding.EncodeToString(value), "schema "+vs.Type+" id "+strconv.Itoa(vs.ID)+": "+err.Error()
			return true
		}
	}
	out, err := schema.DecodeJSON(c, data, index)
	if err != nil {
		m.ValueBase64, m.ValueSchemaError = base64.StdEncoding.EncodeToString(value), "schema "+vs.Type+" id "+strconv.Itoa(vs.ID)+": "+err.Error()
		return true
	}
	m.ValueJSON, m.ValueSchema = json.RawMessage(out), vs
	return true
}
