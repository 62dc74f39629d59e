package schema

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/hamba/avro/v2"
)

type avroSchema struct {
	s         avro.Schema
	canonical string
}

func compileAvro(text string, deps []Dep) (Compiled, error) {
	// A fresh cache per compile: named types of one registered schema must
	// not leak into another (hamba's default cache is process-wide).
	cache := &avro.SchemaCache{}
	seen := map[string]bool{}
	if err := addAvroDeps(cache, deps, seen); err != nil {
		return nil, err
	}
	s, err := avro.ParseWithCache(text, "", cache)
	if err != nil {
		return nil, err
	}
	b, err := json.Marshal(s)
	if err != nil {
		return nil, fmt.Errorf("canonical form: %w", err)
	}
	return &avroSchema{s: s, canonical: string(b)}, nil
}

func addAvroDeps(cache *avro.SchemaCache, deps []Dep, seen map[string]bool) error {
	for _, d := range deps {
		if seen[d.Name] {
			continue
		}
		seen[d.Name] = true
		if d.Type != Avro && d.Type != "" {
			return fmt.Errorf("reference %q is %s, an Avro schema can only reference Avro schemas", d.Name, d.Type)
		}
		if err := addAvroDeps(cache, d.Deps, seen); err != nil {
			return err
		}
		if _, err := avro.ParseWithCache(d.Text, "", cache); err != nil {
			return fmt.Errorf("reference %q: %w", d.Name, err)
		}
	}
	return nil
}

func (a *avroSchema) Type() Type        { return Avro }
func (a *avroSchema) Canonical() string { return a.canonical }

// Validate checks that payload is exactly one Avro binary datum of the
// schema.
func (a *avroSchema) Validate(payload []byte, _ []int) error {
	return validateAvro(a.s, payload)
}

func (a *avroSchema) readerOf(w Compiled) []string {
	c := avroCompat{seen: map[[2]avro.Schema]bool{}}
	c.check(a.s, w.(*avroSchema).s, "")
	return c.out
}

// avroCompat follows Avro's schema resolution rules, as Avro's
// SchemaCompatibility (used by Confluent) does, and collects every
// incompatibility with its path.
type avroCompat struct {
	seen map[[2]avro.Schema]bool
	out  []string
}

func (c *avroCompat) add(kind, path, desc string) {
	if path == "" {
		path = "/"
	}
	c.out = append(c.out, fmt.Sprintf("{errorType:'%s', description:'%s', path:'%s'}", kind, desc, path))
}

func deref(s avro.Schema) avro.Schema {
	if r, ok := s.(*avro.RefSchema); ok {
		return r.Schema()
	}
	return s
}

// compatible reports whether r can read w without recording reasons.
func (c *avroCompat) compatible(r, w avro.Schema) bool {
	sub := avroCompat{seen: c.seen}
	sub.check(r, w, "")
	return len(sub.out) == 0
}

func (c *avroCompat) check(r, w avro.Schema, path string) {
	r, w = deref(r), deref(w)
	key := [2]avro.Schema{r, w}
	if c.seen[key] {
		return // recursive type already under check
	}
	if _, named := r.(avro.NamedSchema); named {
		c.seen[key] = true
	}
	if wu, ok := w.(*avro.UnionSchema); ok {
		for i, wb := range wu.Types() {
			if ru, ok := r.(*avro.UnionSchema); ok {
				if !c.anyBranch(ru, wb) {
					c.add("MISSING_UNION_BRANCH", fmt.Sprintf("%s/%d", path, i),
						fmt.Sprintf("The new schema is missing a type inside a union field at path '%s/%d' in the old schema: %s", path, i, typeName(wb)))
				}
				continue
			}
			c.check(r, wb, fmt.Sprintf("%s/%d", path, i))
		}
		return
	}
	if ru, ok := r.(*avro.UnionSchema); ok {
		if !c.anyBranch(ru, w) {
			c.add("MISSING_UNION_BRANCH", path,
				fmt.Sprintf("The old schema's type %s at path '%s' is missing from the new schema's union", typeName(w), path))
		}
		return
	}
	if r.Type() != w.Type() {
		if !promotable(w.Type(), r.Type()) {
			c.add("TYPE_MISMATCH", path,
				fmt.Sprintf("The type (path '%s') of a field in the new schema does not match with the old schema: %s vs %s", path, r.Type(), w.Type()))
		}
		return
	}
	switch rs := r.(type) {
	case *avro.RecordSchema:
		ws := w.(*avro.RecordSchema)
		if !nameMatches(rs, ws) {
			c.add("NAME_MISMATCH", path+"/name",
				fmt.Sprintf("The name of the schema has changed (path '%s/name'): %s vs %s", path, rs.FullName(), ws.FullName()))
		}
		for i, rf := range rs.Fields() {
			fp := fmt.Sprintf("%s/fields/%d", path, i)
			wf := findField(ws, rf)
			if wf == nil {
				if !rf.HasDefault() {
					c.add("READER_FIELD_MISSING_DEFAULT_VALUE", fp,
						fmt.Sprintf("The field '%s' at path '%s' in the new schema has no default value and is missing in the old schema", rf.Name(), fp))
				}
				continue
			}
			c.check(rf.Type(), wf.Type(), fp+"/type")
		}
	case *avro.EnumSchema:
		ws := w.(*avro.EnumSchema)
		if !nameMatches(rs, ws) {
			c.add("NAME_MISMATCH", path+"/name",
				fmt.Sprintf("The name of the schema has changed (path '%s/name'): %s vs %s", path, rs.FullName(), ws.FullName()))
		}
		if rs.HasDefault() {
			return
		}
		var missing []string
		for _, s := range ws.Symbols() {
			if !contains(rs.Symbols(), s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			c.add("MISSING_ENUM_SYMBOLS", path+"/symbols",
				fmt.Sprintf("The new schema is missing enum symbols '%v' at path '%s/symbols' in the old schema", missing, path))
		}
	case *avro.FixedSchema:
		ws := w.(*avro.FixedSchema)
		if !nameMatches(rs, ws) {
			c.add("NAME_MISMATCH", path+"/name",
				fmt.Sprintf("The name of the schema has changed (path '%s/name'): %s vs %s", path, rs.FullName(), ws.FullName()))
		}
		if rs.Size() != ws.Size() {
			c.add("FIXED_SIZE_MISMATCH", path+"/size",
				fmt.Sprintf("The size of FIXED type field at path '%s/size' in the new schema does not match with the old schema: %d vs %d", path, rs.Size(), ws.Size()))
		}
	case *avro.ArraySchema:
		c.check(rs.Items(), w.(*avro.ArraySchema).Items(), path+"/items")
	case *avro.MapSchema:
		c.check(rs.Values(), w.(*avro.MapSchema).Values(), path+"/values")
	}
}

func (c *avroCompat) anyBranch(ru *avro.UnionSchema, w avro.Schema) bool {
	for _, rb := range ru.Types() {
		if c.compatible(rb, w) {
			return true
		}
	}
	return false
}

func typeName(s avro.Schema) string {
	if n, ok := deref(s).(avro.NamedSchema); ok {
		return n.FullName()
	}
	return string(s.Type())
}

// nameMatches compares unqualified names, or the reader's aliases with the
// writer's full name, as Avro's schemaNameEquals does.
func nameMatches(r, w avro.NamedSchema) bool {
	if r.Name() == w.Name() {
		return true
	}
	return contains(r.Aliases(), w.FullName()) || contains(r.Aliases(), w.Name())
}

func findField(w *avro.RecordSchema, rf *avro.Field) *avro.Field {
	for _, wf := range w.Fields() {
		if wf.Name() == rf.Name() {
			return wf
		}
	}
	for _, alias := range rf.Aliases() {
		for _, wf := range w.Fields() {
			if wf.Name() == alias {
				return wf
			}
		}
	}
	return nil
}

func promotable(w, r avro.Type) bool {
	switch w {
	case avro.Int:
		return r == avro.Long || r == avro.Float || r == avro.Double
	case avro.Long:
		return r == avro.Float || r == avro.Double
	case avro.Float:
		return r == avro.Double
	case avro.String:
		return r == avro.Bytes
	case avro.Bytes:
		return r == avro.String
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// compactJSON returns text without insignificant whitespace, or text itself
// when it is not JSON.
func compactJSON(text string) string {
	var b bytes.Buffer
	if err := json.Compact(&b, []byte(text)); err != nil {
		return text
	}
	return b.String()
}
