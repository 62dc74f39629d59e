package filter

import (
	"reflect"
	"time"
	"unsafe"

	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
	"cel.dev/cel-go/interpreter"

	"github.com/eddy-streaming/eddy/internal/record"
)

// Header is one record header. Key and Value alias the record's bytes.
type Header = record.Header

// Record is what a filter sees of one record. Its byte slices alias the
// caller's buffer and must stay unchanged while a Match runs.
type Record struct {
	Key       []byte // nil for a null key
	Value     []byte // nil for a null value (a tombstone)
	Headers   []Header
	Timestamp int64 // milliseconds since the epoch
	Partition int32
	Offset    int64
}

// activation resolves a record's variables on demand for one evaluation.
// Values that cost something (the parsed JSON, the headers as a map) are
// computed at their first reference and kept until reset.
type activation struct {
	p   *Program
	r   *Record
	hdr headerMap
	ce  headerMap

	valueDone bool
	value     ref.Val
	obj       jsonObject // the value when it is an object; reused

	plan planCtx // a native plan's context (plan.go)
}

var _ interpreter.Activation = (*activation)(nil)

func (a *activation) reset(r *Record) {
	a.r = r
	a.hdr = headerMap{r: r}
	a.ce = headerMap{r: r, prefix: "ce_"}
	a.valueDone = false
	a.value = nil
}

// ResolveName implements interpreter.Activation.
func (a *activation) ResolveName(name string) (any, bool) {
	r := a.r
	switch name {
	case "key":
		return types.String(bytesString(r.Key)), true
	case "value":
		if !a.valueDone {
			if b := trimSpace(r.Value); len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' {
				a.obj = jsonObject{raw: b} // as jsonValue, without allocating
				a.value = &a.obj
			} else {
				a.value = jsonValue(r.Value)
			}
			a.valueDone = true
		}
		return a.value, true
	case "raw":
		return types.Bytes(r.Value), true
	case "headers":
		return &a.hdr, true
	case "ce":
		return &a.ce, true
	case "timestamp":
		return types.Timestamp{Time: time.UnixMilli(r.Timestamp).UTC()}, true
	case "partition":
		return types.Int(r.Partition), true
	case "offset":
		return types.Int(r.Offset), true
	}
	return nil, false
}

// Parent implements interpreter.Activation.
func (a *activation) Parent() interpreter.Activation { return nil }

// bytesString views b as a string without copying; the string lives only
// during one evaluation, while b is unchanged.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// headerMap is the CEL map(string, string) of a record's headers (with
// prefix, only those whose key starts with it, keyed without it). Lookups
// scan the header list without building a map; iteration and equality
// build one.
type headerMap struct {
	r      *Record
	prefix string
}

var _ traits.Mapper = (*headerMap)(nil)

func (m *headerMap) find(key string) ([]byte, bool) {
	var v []byte
	found := false
	for i := range m.r.Headers {
		h := &m.r.Headers[i]
		k := h.Key
		if len(k) != len(m.prefix)+len(key) || string(k[:len(m.prefix)]) != m.prefix || string(k[len(m.prefix):]) != key {
			continue
		}
		v, found = h.Value, true // last value wins
	}
	return v, found
}

func (m *headerMap) native() map[string]string {
	out := make(map[string]string, len(m.r.Headers))
	for _, h := range m.r.Headers {
		if len(h.Key) < len(m.prefix) || string(h.Key[:len(m.prefix)]) != m.prefix {
			continue
		}
		out[string(h.Key[len(m.prefix):])] = string(h.Value)
	}
	return out
}

func (m *headerMap) materialize() traits.Mapper {
	return types.NewStringStringMap(types.DefaultTypeAdapter, m.native()).(traits.Mapper)
}

// Find implements traits.Mapper.
func (m *headerMap) Find(key ref.Val) (ref.Val, bool) {
	k, ok := key.(types.String)
	if !ok {
		return nil, false
	}
	v, found := m.find(string(k))
	if !found {
		return nil, false
	}
	return types.String(bytesString(v)), true
}

// Get implements traits.Indexer.
func (m *headerMap) Get(key ref.Val) ref.Val {
	v, found := m.Find(key)
	if !found {
		return types.NewErr("no such key: %v", key)
	}
	return v
}

// Contains implements traits.Container.
func (m *headerMap) Contains(key ref.Val) ref.Val {
	_, found := m.Find(key)
	return types.Bool(found)
}

// Iterator implements traits.Iterable.
func (m *headerMap) Iterator() traits.Iterator { return m.materialize().Iterator() }

// Size implements traits.Sizer.
func (m *headerMap) Size() ref.Val { return m.materialize().Size() }

// ConvertToNative implements ref.Val.
func (m *headerMap) ConvertToNative(t reflect.Type) (any, error) {
	return m.materialize().ConvertToNative(t)
}

// ConvertToType implements ref.Val.
func (m *headerMap) ConvertToType(t ref.Type) ref.Val {
	switch t {
	case types.MapType:
		return m
	case types.TypeType:
		return types.MapType
	}
	return types.NewErr("type conversion error from map to '%s'", t)
}

// Equal implements ref.Val.
func (m *headerMap) Equal(other ref.Val) ref.Val { return m.materialize().Equal(other) }

// Type implements ref.Val.
func (m *headerMap) Type() ref.Type { return types.MapType }

// Value implements ref.Val.
func (m *headerMap) Value() any { return m.native() }
