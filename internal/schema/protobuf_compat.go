package schema

import (
	"fmt"
	"sort"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// readerOf follows Confluent's Protobuf schema diff: the writer is the
// original schema and the reader the update. Compatible differences (package
// changed, messages or fields added, fields removed or renamed, enums
// changed, a field changed within its wire-compatible scalar group) are not
// reported; MESSAGE_REMOVED, FIELD_KIND_CHANGED, FIELD_SCALAR_KIND_CHANGED,
// FIELD_NAMED_TYPE_CHANGED, REQUIRED_FIELD_ADDED, REQUIRED_FIELD_REMOVED,
// ONEOF_FIELD_REMOVED, FIELD_MOVED_TO_EXISTING_ONEOF and
// MULTIPLE_FIELDS_MOVED_TO_ONEOF are.
func (p *protoSchema) readerOf(w Compiled) []string {
	ws := w.(*protoSchema)
	rMsgs := messagesByName(p.fd)
	wMsgs := messagesByName(ws.fd)
	var out []string
	add := func(kind, path, desc string) {
		out = append(out, fmt.Sprintf("{errorType:'%s', description:'%s', path:'%s'}", kind, desc, path))
	}
	names := make([]string, 0, len(wMsgs))
	for n := range wMsgs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		wm := wMsgs[name]
		rm, ok := rMsgs[name]
		path := "#/" + name
		if !ok {
			add("MESSAGE_REMOVED", path, fmt.Sprintf("the message %s was removed", name))
			continue
		}
		rPkg, wPkg := string(p.fd.Package()), string(ws.fd.Package())
		wf, rf := wm.Fields(), rm.Fields()
		for i := 0; i < wf.Len(); i++ {
			f := wf.Get(i)
			g := rf.ByNumber(f.Number())
			fp := fmt.Sprintf("%s/%d", path, f.Number())
			if g == nil {
				if f.Cardinality() == protoreflect.Required {
					add("REQUIRED_FIELD_REMOVED", fp, fmt.Sprintf("the required field %s was removed", f.Name()))
				}
				if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
					add("ONEOF_FIELD_REMOVED", fp, fmt.Sprintf("the field %s was removed from the oneof %s", f.Name(), o.Name()))
				}
				continue
			}
			if kind, desc := fieldTypeChange(f, g, wPkg, rPkg); kind != "" {
				add(kind, fp, desc)
			}
			if g.Cardinality() == protoreflect.Required && f.Cardinality() != protoreflect.Required {
				add("REQUIRED_FIELD_ADDED", fp, fmt.Sprintf("the field %s became required", g.Name()))
			}
			wo, ro := realOneof(f), realOneof(g)
			if wo == nil && ro != nil {
				if wm.Oneofs().ByName(ro.Name()) != nil && realOneofFieldsIn(wm, ro.Name()) > 0 {
					add("FIELD_MOVED_TO_EXISTING_ONEOF", fp, fmt.Sprintf("the field %s moved into the existing oneof %s", g.Name(), ro.Name()))
				} else if movedInto(wm, ro) > 1 {
					add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", fp, fmt.Sprintf("several existing fields, %s among them, moved into the oneof %s", g.Name(), ro.Name()))
				}
			}
		}
		for i := 0; i < rf.Len(); i++ {
			g := rf.Get(i)
			if wf.ByNumber(g.Number()) == nil && g.Cardinality() == protoreflect.Required {
				add("REQUIRED_FIELD_ADDED", fmt.Sprintf("%s/%d", path, g.Number()), fmt.Sprintf("the required field %s was added", g.Name()))
			}
		}
	}
	return out
}

func realOneof(f protoreflect.FieldDescriptor) protoreflect.OneofDescriptor {
	if o := f.ContainingOneof(); o != nil && !o.IsSynthetic() {
		return o
	}
	return nil
}

func realOneofFieldsIn(m protoreflect.MessageDescriptor, name protoreflect.Name) int {
	o := m.Oneofs().ByName(name)
	if o == nil || o.IsSynthetic() {
		return 0
	}
	return o.Fields().Len()
}

// movedInto counts the reader oneof's fields that were plain fields of the
// writer message.
func movedInto(wm protoreflect.MessageDescriptor, ro protoreflect.OneofDescriptor) int {
	n := 0
	for i := 0; i < ro.Fields().Len(); i++ {
		if f := wm.Fields().ByNumber(ro.Fields().Get(i).Number()); f != nil && realOneof(f) == nil {
			n++
		}
	}
	return n
}

// scalarGroup names the wire-compatible group of a scalar kind: changing a
// field within its group keeps old data readable.
func scalarGroup(k protoreflect.Kind) string {
	switch k {
	case protoreflect.Int32Kind, protoreflect.Uint32Kind, protoreflect.Int64Kind, protoreflect.Uint64Kind, protoreflect.BoolKind:
		return "varint"
	case protoreflect.Sint32Kind, protoreflect.Sint64Kind:
		return "zigzag"
	case protoreflect.Fixed32Kind, protoreflect.Sfixed32Kind:
		return "fixed32"
	case protoreflect.Fixed64Kind, protoreflect.Sfixed64Kind:
		return "fixed64"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return "bytes"
	}
	return k.String()
}

func fieldTypeChange(w, r protoreflect.FieldDescriptor, wPkg, rPkg string) (string, string) {
	if w.IsMap() != r.IsMap() {
		return "FIELD_KIND_CHANGED", fmt.Sprintf("the field %s changed between a map and a non-map", r.Name())
	}
	wNamed := w.Kind() == protoreflect.MessageKind || w.Kind() == protoreflect.GroupKind || w.Kind() == protoreflect.EnumKind
	rNamed := r.Kind() == protoreflect.MessageKind || r.Kind() == protoreflect.GroupKind || r.Kind() == protoreflect.EnumKind
	switch {
	case wNamed != rNamed:
		return "FIELD_KIND_CHANGED", fmt.Sprintf("the field %s changed kind from %s to %s", r.Name(), w.Kind(), r.Kind())
	case wNamed:
		wn, rn := namedType(w, wPkg), namedType(r, rPkg)
		if (w.Kind() == protoreflect.EnumKind) != (r.Kind() == protoreflect.EnumKind) {
			return "FIELD_KIND_CHANGED", fmt.Sprintf("the field %s changed kind from %s to %s", r.Name(), w.Kind(), r.Kind())
		}
		if wn != rn {
			return "FIELD_NAMED_TYPE_CHANGED", fmt.Sprintf("the field %s changed type from %s to %s", r.Name(), wn, rn)
		}
	default:
		if scalarGroup(w.Kind()) != scalarGroup(r.Kind()) {
			return "FIELD_SCALAR_KIND_CHANGED", fmt.Sprintf("the field %s changed type from %s to %s", r.Name(), w.Kind(), r.Kind())
		}
	}
	return "", ""
}

// namedType is a field's message or enum type name relative to its file's
// package, so a package rename alone changes nothing.
func namedType(f protoreflect.FieldDescriptor, pkg string) string {
	var n string
	if f.Kind() == protoreflect.EnumKind {
		n = string(f.Enum().FullName())
	} else {
		n = string(f.Message().FullName())
	}
	if pkg != "" {
		n = strings.TrimPrefix(n, pkg+".")
	}
	return n
}

// messagesByName lists every message of a file, nested ones included, by
// name relative to the package; map entry messages are left out.
func messagesByName(fd protoreflect.FileDescriptor) map[string]protoreflect.MessageDescriptor {
	out := map[string]protoreflect.MessageDescriptor{}
	pkg := string(fd.Package())
	var walk func(ms protoreflect.MessageDescriptors)
	walk = func(ms protoreflect.MessageDescriptors) {
		for i := 0; i < ms.Len(); i++ {
			m := ms.Get(i)
			if m.IsMapEntry() {
				continue
			}
			n := string(m.FullName())
			if pkg != "" {
				n = strings.TrimPrefix(n, pkg+".")
			}
			out[n] = m
			walk(m.Messages())
		}
	}
	walk(fd.Messages())
	return out
}
