package httpapi

// Hand-rolled JSON for the append route, the event store's hot path:
// encoding/json's reflection-driven Decoder (which scans the body twice,
// once to find the value's end and once to decode it) and Marshal were a
// third of the server's CPU per single-event append. The fast decoder
// accepts the common shape of an AppendRequest and reports !ok for
// anything else (escapes in ids, unknown or differently-cased keys,
// duplicate keys, nulls, invalid UTF-8, malformed JSON), so that
// encoding/json, the reference, decodes those bodies and produces the
// same result or the same error as before.

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// jsonContentType is shared by every JSON answer of the hot paths; the
// server only reads it.
var jsonContentType = []string{"application/json"}

// decodeAppendFast decodes an AppendRequest body; ok is false when the
// body is outside the shape it handles (the caller falls back to
// encoding/json). Data and Metadata alias body.
func decodeAppendFast(body []byte) (req AppendRequest, ok bool) {
	p := jparser{b: body}
	p.ws()
	if !p.eat('{') {
		return req, false
	}
	var seenExp, seenEvents bool
	p.ws()
	if p.eat('}') {
		return req, p.end()
	}
	for {
		p.ws()
		key, ok := p.plainBytes()
		if !ok {
			return req, false
		}
		p.ws()
		if !p.eat(':') {
			return req, false
		}
		p.ws()
		switch string(key) {
		case "expectedVersion":
			if seenExp {
				return req, false
			}
			seenExp = true
			var raw []byte
			if p.peek() == '"' {
				if raw, ok = p.plainBytes(); !ok {
					return req, false
				}
			} else {
				start := p.i
				if !p.number() {
					return req, false
				}
				raw = p.b[start:p.i]
			}
			v, err := eventstore.ParseExpected(string(raw))
			if err != nil {
				return req, false // the fallback reports the error
			}
			req.ExpectedVersion = &v
		case "events":
			if seenEvents {
				return req, false
			}
			seenEvents = true
			if req.Events, ok = p.events(); !ok {
				return req, false
			}
		default:
			return req, false
		}
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return req, p.end()
		}
		return req, false
	}
}

// jparser is a cursor over a JSON document.
type jparser struct {
	b []byte
	i int
}

func (p *jparser) ws() {
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case ' ', '\t', '\n', '\r':
			p.i++
		default:
			return
		}
	}
}

func (p *jparser) peek() byte {
	if p.i < len(p.b) {
		return p.b[p.i]
	}
	return 0
}

func (p *jparser) eat(c byte) bool {
	if p.i < len(p.b) && p.b[p.i] == c {
		p.i++
		return true
	}
	return false
}

// end reports whether only whitespace follows.
func (p *jparser) end() bool {
	p.ws()
	return p.i == len(p.b)
}

// plainString reads a string without escapes, of valid UTF-8 without
// control characters (what encoding/json decodes to the same bytes).
func (p *jparser) plainString() (string, bool) {
	b, ok := p.plainBytes()
	if !ok {
		return "", false
	}
	return string(b), true
}

// plainBytes is plainString returning the string's bytes in the document,
// for object keys: switching on string(key) allocates nothing.
func (p *jparser) plainBytes() ([]byte, bool) {
	if !p.eat('"') {
		return nil, false
	}
	start := p.i
	ascii := true
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			s := p.b[start:p.i]
			p.i++
			if !ascii && !utf8.Valid(s) {
				return nil, false
			}
			return s, true
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
		p.i++
	}
	return nil, false
}

// events reads the events array.
func (p *jparser) events() ([]eventstore.EventData, bool) {
	if !p.eat('[') {
		return nil, false
	}
	evs := make([]eventstore.EventData, 0, 1)
	p.ws()
	if p.eat(']') {
		return evs, true
	}
	for {
		p.ws()
		e, ok := p.event()
		if !ok {
			return nil, false
		}
		evs = append(evs, e)
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat(']') {
			return evs, true
		}
		return nil, false
	}
}

// event reads one event object.
func (p *jparser) event() (e eventstore.EventData, ok bool) {
	if !p.eat('{') {
		return e, false
	}
	var seen uint8
	p.ws()
	if p.eat('}') {
		return e, true
	}
	for {
		p.ws()
		key, ok := p.plainBytes()
		if !ok {
			return e, false
		}
		p.ws()
		if !p.eat(':') {
			return e, false
		}
		p.ws()
		var bit uint8
		switch string(key) {
		case "id":
			bit = 1
			e.ID, ok = p.plainString()
		case "type":
			bit = 2
			e.Type, ok = p.plainString()
		case "source":
			bit = 4
			e.Source, ok = p.plainString()
		case "contentType":
			bit = 8
			e.ContentType, ok = p.plainString()
		case "data":
			bit = 16
			e.Data, ok = p.rawValue()
		case "metadata":
			bit = 32
			e.Metadata, ok = p.rawValue()
		default:
			return e, false
		}
		if !ok || seen&bit != 0 {
			return e, false
		}
		seen |= bit
		p.ws()
		if p.eat(',') {
			continue
		}
		if p.eat('}') {
			return e, true
		}
		return e, false
	}
}

// rawValue returns the bytes of one valid JSON value other than null
// (encoding/json gives a null RawMessage its own treatment).
func (p *jparser) rawValue() (json.RawMessage, bool) {
	start := p.i
	if p.peek() == 'n' {
		return nil, false
	}
	if !p.value(0) {
		return nil, false
	}
	return json.RawMessage(p.b[start:p.i:p.i]), true
}

// maxDepth bounds nesting, as encoding/json does (10,000).
const maxDepth = 10000

// value skips one JSON value, validating it.
func (p *jparser) value(depth int) bool {
	if depth > maxDepth {
		return false
	}
	switch c := p.peek(); {
	case c == '{':
		p.i++
		p.ws()
		if p.eat('}') {
			return true
		}
		for {
			p.ws()
			if !p.anyString() {
				return false
			}
			p.ws()
			if !p.eat(':') {
				return false
			}
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat('}')
		}
	case c == '[':
		p.i++
		p.ws()
		if p.eat(']') {
			return true
		}
		for {
			p.ws()
			if !p.value(depth + 1) {
				return false
			}
			p.ws()
			if p.eat(',') {
				continue
			}
			return p.eat(']')
		}
	case c == '"':
		return p.anyString()
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	case c == 't':
		return p.literal("true")
	case c == 'f':
		return p.literal("false")
	case c == 'n':
		return p.literal("null")
	}
	return false
}

func (p *jparser) literal(s string) bool {
	if len(p.b)-p.i >= len(s) && string(p.b[p.i:p.i+len(s)]) == s {
		p.i += len(s)
		return true
	}
	return false
}

// anyString skips a string with escapes, validating it as encoding/json
// does (invalid UTF-8 inside a raw value is accepted by json.Valid too).
func (p *jparser) anyString() bool {
	if !p.eat('"') {
		return false
	}
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			p.i++
			if p.i >= len(p.b) {
				return false
			}
			switch p.b[p.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				p.i++
			case 'u':
				if len(p.b)-p.i < 5 {
					return false
				}
				for _, h := range p.b[p.i+1 : p.i+5] {
					if !isHex(h) {
						return false
					}
				}
				p.i += 5
			default:
				return false
			}
		default:
			p.i++
		}
	}
	return false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

// number skips a JSON number (RFC 8259 grammar).
func (p *jparser) number() bool {
	p.eat('-')
	switch c := p.peek(); {
	case c == '0':
		p.i++
	case c >= '1' && c <= '9':
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
		}
	default:
		return false
	}
	if p.eat('.') {
		if !p.digits() {
			return false
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.i++
		if c := p.peek(); c == '+' || c == '-' {
			p.i++
		}
		if !p.digits() {
			return false
		}
	}
	return true
}

func (p *jparser) digits() bool {
	start := p.i
	for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// appendAppendResult encodes res exactly as json.Marshal does, plus the
// newline of writeCompactJSON.
func appendAppendResult(b []byte, res eventstore.AppendResult) []byte {
	b = append(b, `{"firstVersion":`...)
	b = strconv.AppendInt(b, res.FirstVersion, 10)
	b = append(b, `,"lastVersion":`...)
	b = strconv.AppendInt(b, res.LastVersion, 10)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(res.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, res.Offset, 10)
	if res.Duplicate {
		b = append(b, `,"duplicate":true`...)
	}
	return append(b, "}\n"...)
}
