package httpapi

import (
	"encoding/json"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// tailEvent is a subscription event whose value was in the schema
// registry's wire format: Data is then the value decoded with its
// registered schema (DataBase64 dropped) and ValueSchema names the
// schema; ValueSchemaError says why a value with the wire-format header
// registered under a known id did not decode (DataBase64 kept).
type tailEvent struct {
	eventstore.Event
	ValueSchema      *ValueSchema `json:"valueSchema,omitempty"`
	ValueSchemaError string       `json:"valueSchemaError,omitempty"`
}

// marshal encodes ev as the data of one SSE event, decoding its value
// with its registered schema when the subscription asked for it
// (decode=schema). Values that are JSON, or whose schema id is not
// registered, are sent as they are.
func (e *sse) marshal(ev eventstore.Event) ([]byte, error) {
	if e.schemas == nil || len(ev.DataBase64) == 0 {
		return json.Marshal(ev)
	}
	var m Message
	if !decodeValue(&m, ev.DataBase64, e.schemas) {
		return json.Marshal(ev)
	}
	te := tailEvent{Event: ev, ValueSchema: m.ValueSchema, ValueSchemaError: m.ValueSchemaError}
	if m.ValueSchema != nil {
		te.Data, te.DataBase64 = m.ValueJSON, nil
	}
	return json.Marshal(te)
}
