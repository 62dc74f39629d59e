package eventstore

// Hand-rolled JSON for Append, the client's hot path: json.Marshal of the
// request (reflection over []EventData, a compaction pass per RawMessage)
// and json.Unmarshal of the four-number answer cost more CPU than the rest
// of the client's request. Both fall back to encoding/json for what they
// do not handle, so the bytes on the wire mean the same.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// jsonContentType is shared by every request with a JSON body; net/http
// only reads it.
var jsonContentType = []string{"application/json"}

// appendRequestJSON appends the JSON body of an append to b: the same
// document json.Marshal produces, except that '<', '>' and '&' in strings
// are not escaped to \u003c and friends (equal JSON).
func appendRequestJSON(b []byte, expected ExpectedVersion, events []EventData) ([]byte, error) {
	b = append(b, `{"expectedVersion":`...)
	switch v := expected.(type) {
	case Any:
		b = append(b, `"any"`...)
	case NoStream:
		b = append(b, `"no_stream"`...)
	case StreamExists:
		b = append(b, `"exists"`...)
	case Version:
		b = strconv.AppendInt(b, int64(v), 10)
	default:
		raw, err := json.Marshal(expected)
		if err != nil {
			return b, err
		}
		b = append(b, raw...)
	}
	if events == nil {
		return append(b, `,"events":null}`...), nil
	}
	b = append(b, `,"events":[`...)
	for i, e := range events {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, e.ID)
		b = append(b, `,"type":`...)
		b = appendJSONString(b, e.Type)
		var err error
		if len(e.Data) > 0 {
			b = append(b, `,"data":`...)
			if b, err = appendCompact(b, e.Data); err != nil {
				return b, fmt.Errorf("events[%d].data: %w", i, err)
			}
		}
		if len(e.Metadata) > 0 {
			b = append(b, `,"metadata":`...)
			if b, err = appendCompact(b, e.Metadata); err != nil {
				return b, fmt.Errorf("events[%d].metadata: %w", i, err)
			}
		}
		b = append(b, '}')
	}
	return append(b, "]}"...), nil
}

// appendCompact appends raw JSON without insignificant whitespace,
// checking it (json.Marshal does both for a RawMessage).
func appendCompact(b []byte, raw []byte) ([]byte, error) {
	bb := bytes.NewBuffer(b)
	if err := json.Compact(bb, raw); err != nil {
		return b, err
	}
	return bb.Bytes(), nil
}

// appendJSONString appends s as a JSON string: as is when it needs no
// escaping (the common case), through encoding/json otherwise.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			raw, _ := json.Marshal(s) // a string always marshals
			return append(b, raw...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// decodeAppendResult decodes the server's append answer; it handles the
// flat object of numbers (and "duplicate") the server writes and falls
// back to encoding/json for anything else.
func decodeAppendResult(raw []byte, res *AppendResult) error {
	if decodeAppendResultFast(raw, res) {
		return nil
	}
	*res = AppendResult{}
	return json.Unmarshal(raw, res)
}

func decodeAppendResultFast(raw []byte, res *AppendResult) bool {
	i := 0
	ws := func() {
		for i < len(raw) && (raw[i] == ' ' || raw[i] == '\n' || raw[i] == '\r' || raw[i] == '\t') {
			i++
		}
	}
	ws()
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i++
	for {
		ws()
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		end := bytes.IndexByte(raw[i+1:], '"')
		if end < 0 {
			return false
		}
		key := string(raw[i+1 : i+1+end]) // no allocation: used in a switch
		i += end + 2
		ws()
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i++
		ws()
		start := i
		for i < len(raw) && (raw[i] == '-' || (raw[i] >= '0' && raw[i] <= '9') || (raw[i] >= 'a' && raw[i] <= 'z')) {
			i++
		}
		val := raw[start:i]
		var n int64
		if key != "duplicate" {
			var err error
			if n, err = strconv.ParseInt(string(val), 10, 64); err != nil {
				return false
			}
		}
		switch key {
		case "firstVersion":
			res.FirstVersion = n
		case "lastVersion":
			res.LastVersion = n
		case "partition":
			if int64(int32(n)) != n {
				return false
			}
			res.Partition = int32(n)
		case "offset":
			res.Offset = n
		case "duplicate":
			switch string(val) {
			case "true":
				res.Duplicate = true
			case "false":
				res.Duplicate = false
			default:
				return false
			}
		default:
			return false // unknown fields: let encoding/json decide
		}
		ws()
		if i >= len(raw) {
			return false
		}
		switch raw[i] {
		case ',':
			i++
		case '}':
			i++
			ws()
			return i == len(raw)
		default:
			return false
		}
	}
}
