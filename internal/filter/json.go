package filter

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// The value variable is read lazily: an object is a jsonObject that finds
// a member by scanning the raw bytes when the expression asks for it, so
// `value.total > 1000` on a 1 KiB document reads up to "total" and skips
// the rest without building anything. Arrays, iteration, equality of whole
// objects and conversion decode the part they need with encoding/json.
// Numbers without a fraction or exponent are ints, others doubles; CEL
// compares the two across types.

var errJSON = errors.New("malformed JSON value")

// jsonValue returns the CEL value of the JSON document b: null when b is
// empty or does not start like JSON.
func jsonValue(b []byte) ref.Val {
	b = trimSpace(b)
	if len(b) == 0 {
		return types.NullValue
	}
	if b[0] == '{' {
		// Not scanned up front: members are found when asked for.
		if b[len(b)-1] != '}' {
			return types.NullValue
		}
		return &jsonObject{raw: b}
	}
	v, rest, err := jsonAt(b)
	if err != nil || len(trimSpace(rest)) != 0 {
		// Not JSON (or JSON followed by more): null, as the docs say.
		return types.NullValue
	}
	return v
}

// jsonAt returns the value starting at b[0] (b trimmed) and what follows it.
func jsonAt(b []byte) (ref.Val, []byte, error) {
	if len(b) == 0 {
		return nil, nil, errJSON
	}
	switch c := b[0]; {
	case c == '{':
		end, err := skipValue(b)
		if err != nil {
			return nil, nil, err
		}
		return &jsonObject{raw: b[:end]}, b[end:], nil
	case c == '[':
		end, err := skipValue(b)
		if err != nil {
			return nil, nil, err
		}
		return decodeFull(b[:end]), b[end:], nil
	case c == '"':
		end, esc, err := skipString(b)
		if err != nil {
			return nil, nil, err
		}
		if !esc {
			return types.String(bytesString(b[1 : end-1])), b[end:], nil
		}
		var s string
		if err := json.Unmarshal(b[:end], &s); err != nil {
			return nil, nil, errJSON
		}
		return types.String(s), b[end:], nil
	case c == 't' && bytes.HasPrefix(b, []byte("true")):
		return types.True, b[4:], nil
	case c == 'f' && bytes.HasPrefix(b, []byte("false")):
		return types.False, b[5:], nil
	case c == 'n' && bytes.HasPrefix(b, []byte("null")):
		return types.NullValue, b[4:], nil
	case c == '-' || c >= '0' && c <= '9':
		end, isInt := scanNumber(b)
		s := bytesString(b[:end])
		if isInt {
			if n, err := strconv.ParseInt(s, 10, 64); err == nil {
				return types.Int(n), b[end:], nil
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, nil, errJSON
		}
		return types.Double(f), b[end:], nil
	}
	return nil, nil, errJSON
}

func decodeFull(b []byte) ref.Val {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return types.NewErr("malformed JSON value")
	}
	return types.DefaultTypeAdapter.NativeToValue(v)
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func trimSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	for len(b) > 0 && isSpace(b[len(b)-1]) {
		b = b[:len(b)-1]
	}
	return b
}

func skipSpace(b []byte) []byte {
	for len(b) > 0 && isSpace(b[0]) {
		b = b[1:]
	}
	return b
}

// skipString returns the length of the string starting at b[0] == '"'
// (quotes included) and whether it holds escapes.
func skipString(b []byte) (int, bool, error) {
	// Short strings without escapes (member names, most values): a byte
	// loop, cheaper than the calls to IndexByte below.
	for i := 1; i < len(b) && i < 32; i++ {
		switch b[i] {
		case '"':
			return i + 1, false, nil
		case '\\':
			return skipLongString(b)
		}
	}
	return skipLongString(b)
}

// skipLongString is skipString for strings that are long or hold escapes.
func skipLongString(b []byte) (int, bool, error) {
	esc := false
	for i := 1; i < len(b); {
		j := bytes.IndexByte(b[i:], '"')
		if j < 0 {
			return 0, false, errJSON
		}
		i += j
		// The quote ends the string unless an odd run of backslashes
		// precedes it.
		bs := 0
		for k := i - 1; k > 0 && b[k] == '\\'; k-- {
			bs++
		}
		if bs > 0 {
			esc = true
		}
		if bs%2 == 0 {
			return i + 1, esc || bytes.IndexByte(b[1:i], '\\') >= 0, nil
		}
		i++
	}
	return 0, false, errJSON
}

// scanNumber returns the length of the number at b[0] and whether it is an
// integer (no fraction, no exponent).
func scanNumber(b []byte) (int, bool) {
	isInt := true
	i := 0
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case c >= '0' && c <= '9', c == '-', c == '+':
		case c == '.', c == 'e', c == 'E':
			isInt = false
		default:
			return i, isInt
		}
	}
	return i, isInt
}

// skipValue returns the length of the value starting at b[0] (no leading
// space). Objects and arrays are skipped by depth, strings by quotes; the
// structure inside is not validated beyond that.
func skipValue(b []byte) (int, error) {
	switch b[0] {
	case '"':
		n, _, err := skipString(b)
		return n, err
	case '{', '[':
		depth := 0
		for i := 0; i < len(b); {
			j := bytes.IndexAny(b[i:], "\"{}[]")
			if j < 0 {
				return 0, errJSON
			}
			i += j
			switch b[i] {
			case '"':
				n, _, err := skipString(b[i:])
				if err != nil {
					return 0, err
				}
				i += n
				continue
			case '{', '[':
				depth++
			default:
				depth--
				if depth == 0 {
					return i + 1, nil
				}
			}
			i++
		}
		return 0, errJSON
	}
	for i, c := range b {
		if c == ',' || c == '}' || c == ']' || isSpace(c) {
			return i, nil
		}
	}
	return len(b), nil
}

// jsonObject is a JSON object read lazily (see above). raw spans the object
// including its braces.
type jsonObject struct{ raw []byte }

var _ traits.Mapper = (*jsonObject)(nil)

// member finds the value of key among the object's members: the first
// one when repeated (the scan stops there).
func (o *jsonObject) member(key string) (ref.Val, bool, error) {
	raw, found, err := o.memberRaw(key)
	if err != nil || !found {
		return nil, false, err
	}
	v, _, err := jsonAt(raw)
	if err != nil {
		return nil, false, err
	}
	return v, true, nil
}

// memberRaw finds the raw JSON of key's value among the object's members
// (from its first byte; what follows it is not trimmed).
func (o *jsonObject) memberRaw(key string) ([]byte, bool, error) {
	b := skipSpace(o.raw[1:])
	if len(b) > 0 && b[0] == '}' {
		return nil, false, nil
	}
	for {
		if len(b) == 0 || b[0] != '"' {
			return nil, false, errJSON
		}
		n, esc, err := skipString(b)
		if err != nil {
			return nil, false, err
		}
		k := b[1 : n-1]
		match := false
		if !esc {
			match = string(k) == key
		} else {
			var s string
			if json.Unmarshal(b[:n], &s) == nil {
				match = s == key
			}
		}
		b = skipSpace(b[n:])
		if len(b) == 0 || b[0] != ':' {
			return nil, false, errJSON
		}
		b = skipSpace(b[1:])
		if len(b) == 0 {
			return nil, false, errJSON
		}
		if match {
			return b, true, nil
		}
		end, err := skipValue(b)
		if err != nil {
			return nil, false, err
		}
		b = skipSpace(b[end:])
		if len(b) == 0 {
			return nil, false, errJSON
		}
		if b[0] == '}' {
			return nil, false, nil
		}
		if b[0] != ',' {
			return nil, false, errJSON
		}
		b = skipSpace(b[1:])
	}
}

func (o *jsonObject) full() ref.Val { return decodeFull(o.raw) }

func (o *jsonObject) fullMap() (traits.Mapper, ref.Val) {
	v := o.full()
	m, ok := v.(traits.Mapper)
	if !ok {
		return nil, v
	}
	return m, nil
}

// Find implements traits.Mapper.
func (o *jsonObject) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, found, err := o.member(string(k))
	if err != nil {
		return types.NewErr("malformed JSON value"), true
	}
	return v, found
}

// Get implements traits.Indexer.
func (o *jsonObject) Get(key ref.Val) ref.Val {
	v, found := o.Find(key)
	if !found {
		return types.NewErr("no such key: %v", key)
	}
	return v
}

// Contains implements traits.Container.
func (o *jsonObject) Contains(key ref.Val) ref.Val {
	v, found := o.Find(key)
	if types.IsError(v) {
		return v
	}
	return types.Bool(found)
}

// Iterator implements traits.Iterable.
func (o *jsonObject) Iterator() traits.Iterator {
	m, errV := o.fullMap()
	if m == nil {
		return types.NewStringList(types.DefaultTypeAdapter, nil).(traits.Lister).Iterator()
	}
	_ = errV
	return m.Iterator()
}

// Size implements traits.Sizer.
func (o *jsonObject) Size() ref.Val {
	m, errV := o.fullMap()
	if m == nil {
		return errV
	}
	return m.Size()
}

// ConvertToNative implements ref.Val.
func (o *jsonObject) ConvertToNative(t reflect.Type) (any, error) {
	return o.full().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (o *jsonObject) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return o
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to '%s'", t)
}

// Equal implements ref.Val.
func (o *jsonObject) Equal(other ref.Val) ref.Val { return o.full().Equal(other) }

// Type implements ref.Val.
func (o *jsonObject) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (o *jsonObject) Value() any { return o.full().Value() }
