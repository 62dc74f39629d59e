package schema

import (
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"sort"
	"strings"
)

// jsonCompat checks that every document valid under the writer schema is
// valid under the reader schema, structurally, in the manner of Confluent's
// JSON Schema diff: it names each difference with Confluent's difference
// type (TYPE_NARROWED, REQUIRED_ATTRIBUTE_ADDED,
// PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, ...). Open content models (no
// "additionalProperties": false) accept any extra property, so adding a
// property to one is not backward compatible unless the new property accepts
// anything, while removing a property from one is.
type jsonCompat struct {
	r, w *jsonSchema
	out  []string
}

type jnode struct {
	v    any
	root any
}

const maxJSONDepth = 64

func (c *jsonCompat) add(kind, path, desc string) {
	c.out = append(c.out, fmt.Sprintf("{errorType:'%s', description:'%s', path:'%s'}", kind, desc, path))
}

// compatible reports without recording whether r accepts everything w does.
func (c *jsonCompat) compatible(r, w jnode, depth int) bool {
	sub := jsonCompat{r: c.r, w: c.w}
	sub.checkNodes(r, w, "#", depth)
	return len(sub.out) == 0
}

func (c *jsonCompat) check(r, w any, path string, depth int) {
	c.checkNodes(jnode{r, c.r.root}, jnode{w, c.w.root}, path, depth)
}

func (s *jsonSchema) resolve(n jnode) (jnode, bool) {
	for i := 0; i < 16; i++ {
		m, ok := n.v.(map[string]any)
		if !ok {
			return n, true
		}
		ref, ok := m["$ref"].(string)
		if !ok {
			return n, true
		}
		doc, frag, _ := strings.Cut(ref, "#")
		root := n.root
		if doc != "" {
			d, ok := s.deps[doc]
			if !ok {
				d, ok = s.deps[resolveRef(doc)]
			}
			if !ok {
				return n, false
			}
			root = d
		}
		v, ok := pointer(root, frag)
		if !ok {
			return n, false
		}
		n = jnode{v, root}
	}
	return n, false
}

func pointer(doc any, frag string) (any, bool) {
	if frag == "" || frag == "/" {
		return doc, true
	}
	cur := doc
	for _, tok := range strings.Split(strings.TrimPrefix(frag, "/"), "/") {
		tok, _ = url.PathUnescape(tok)
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		cur, ok = m[tok]
		if !ok {
			return nil, false
		}
	}
	return cur, true
}

func (c *jsonCompat) checkNodes(r, w jnode, path string, depth int) {
	if depth > maxJSONDepth {
		return // recursive schemas: what was checked so far stands
	}
	r, _ = c.r.resolve(r)
	w, _ = c.w.resolve(w)
	if b, ok := w.v.(bool); ok && !b {
		return // the writer accepts nothing
	}
	if b, ok := r.v.(bool); ok {
		if !b {
			c.add("TYPE_NARROWED", path, "the new schema accepts nothing at "+path)
		}
		return
	}
	rm, _ := r.v.(map[string]any)
	wm, _ := w.v.(map[string]any)
	if b, ok := w.v.(bool); ok && b {
		wm = map[string]any{}
	}
	if rm == nil || wm == nil || len(rm) == 0 {
		return
	}
	c.combined(r, w, rm, wm, path, depth)

	rt, wt := typeSet(rm), typeSet(wm)
	if rt != nil {
		if wt == nil {
			if !hasCombiner(wm) {
				c.add("TYPE_NARROWED", path, fmt.Sprintf("the type at %s was narrowed to %v", path, keys(rt)))
			}
		} else {
			for t := range wt {
				if !rt[t] && !(t == "integer" && rt["number"]) {
					kind := "TYPE_NARROWED"
					if len(rt) == 1 && len(wt) == 1 {
						kind = "TYPE_CHANGED"
					}
					c.add(kind, path, fmt.Sprintf("the type at %s changed from %v to %v", path, keys(wt), keys(rt)))
					break
				}
			}
		}
	}
	c.bounds(rm, wm, path)
	c.enum(rm, wm, path)
	if isObject(rm) || isObject(wm) {
		c.object(r, w, rm, wm, path, depth)
	}
	if ri, ok := rm["items"]; ok {
		wi, ok := wm["items"]
		if !ok {
			wi = true
		}
		ra, rIsList := ri.([]any)
		wa, wIsList := wi.([]any)
		switch {
		case rIsList && wIsList:
			for i := 0; i < len(ra) && i < len(wa); i++ {
				c.checkNodes(jnode{ra[i], r.root}, jnode{wa[i], w.root}, fmt.Sprintf("%s/items/%d", path, i), depth+1)
			}
		case !rIsList && !wIsList:
			c.checkNodes(jnode{ri, r.root}, jnode{wi, w.root}, path+"/items", depth+1)
		default:
			c.add("TYPE_CHANGED", path+"/items", "the array items changed between a list and a single schema at "+path)
		}
	}
}

func hasCombiner(m map[string]any) bool {
	for _, k := range []string{"oneOf", "anyOf", "allOf", "$ref"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return false
}

// combined handles oneOf/anyOf/allOf: every branch a writer document may
// match must be accepted by the reader.
func (c *jsonCompat) combined(r, w jnode, rm, wm map[string]any, path string, depth int) {
	rAny := list(rm, "oneOf", "anyOf")
	wAny := list(wm, "oneOf", "anyOf")
	rAll, _ := rm["allOf"].([]any)
	wAll, _ := wm["allOf"].([]any)
	stripped := func(m map[string]any) map[string]any {
		out := map[string]any{}
		for k, v := range m {
			if k != "oneOf" && k != "anyOf" && k != "allOf" {
				out[k] = v
			}
		}
		return out
	}
	if rAny != nil {
		branches := wAny
		if branches == nil {
			branches = []any{stripped(wm)}
		}
		for i, wb := range branches {
			ok := false
			for _, rb := range rAny {
				if c.compatible(jnode{rb, r.root}, jnode{wb, w.root}, depth+1) {
					ok = true
					break
				}
			}
			if !ok {
				c.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path, fmt.Sprintf("no subschema of the new schema at %s accepts the old schema's branch %d", path, i))
			}
		}
	}
	for i, rb := range rAll {
		ok := c.compatible(jnode{rb, r.root}, jnode{stripped(wm), w.root}, depth+1)
		for _, wb := range wAll {
			ok = ok || c.compatible(jnode{rb, r.root}, jnode{wb, w.root}, depth+1)
		}
		if !ok {
			c.add("COMBINED_TYPE_SUBSCHEMAS_CHANGED", path, fmt.Sprintf("the new schema's allOf subschema %d at %s rejects documents the old schema accepts", i, path))
		}
	}
}

func list(m map[string]any, names ...string) []any {
	for _, n := range names {
		if l, ok := m[n].([]any); ok {
			return l
		}
	}
	return nil
}

func typeSet(m map[string]any) map[string]bool {
	switch t := m["type"].(type) {
	case string:
		return map[string]bool{t: true}
	case []any:
		s := map[string]bool{}
		for _, x := range t {
			if xs, ok := x.(string); ok {
				s[xs] = true
			}
		}
		return s
	}
	return nil
}

func keys(s map[string]bool) []string {
	out := make([]string, 0, len(s))
	for k := range s {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func num(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	}
	return 0, false
}

var jsonMaxKeys = map[string]string{
	"maximum": "MAXIMUM", "exclusiveMaximum": "EXCLUSIVE_MAXIMUM", "maxLength": "MAX_LENGTH",
	"maxItems": "MAX_ITEMS", "maxProperties": "MAX_PROPERTIES",
}

var jsonMinKeys = map[string]string{
	"minimum": "MINIMUM", "exclusiveMinimum": "EXCLUSIVE_MINIMUM", "minLength": "MIN_LENGTH",
	"minItems": "MIN_ITEMS", "minProperties": "MIN_PROPERTIES",
}

func (c *jsonCompat) bounds(rm, wm map[string]any, path string) {
	for k, name := range jsonMaxKeys {
		rv, ok := num(rm[k])
		if !ok {
			continue
		}
		wv, ok := num(wm[k])
		switch {
		case !ok:
			c.add(name+"_ADDED", path, fmt.Sprintf("%s %v was added at %s", k, rv, path))
		case rv < wv:
			c.add(name+"_DECREASED", path, fmt.Sprintf("%s decreased from %v to %v at %s", k, wv, rv, path))
		}
	}
	for k, name := range jsonMinKeys {
		rv, ok := num(rm[k])
		if !ok {
			continue
		}
		wv, ok := num(wm[k])
		switch {
		case !ok:
			c.add(name+"_ADDED", path, fmt.Sprintf("%s %v was added at %s", k, rv, path))
		case rv > wv:
			c.add(name+"_INCREASED", path, fmt.Sprintf("%s increased from %v to %v at %s", k, wv, rv, path))
		}
	}
	if rv, ok := num(rm["multipleOf"]); ok && rv != 0 {
		wv, ok := num(wm["multipleOf"])
		switch {
		case !ok:
			c.add("MULTIPLE_OF_ADDED", path, fmt.Sprintf("multipleOf %v was added at %s", rv, path))
		case math.Mod(wv, rv) != 0:
			c.add("MULTIPLE_OF_CHANGED", path, fmt.Sprintf("multipleOf changed from %v to %v at %s", wv, rv, path))
		}
	}
	if rp, ok := rm["pattern"].(string); ok {
		wp, ok := wm["pattern"].(string)
		switch {
		case !ok:
			c.add("PATTERN_ADDED", path, fmt.Sprintf("pattern %q was added at %s", rp, path))
		case wp != rp:
			c.add("PATTERN_CHANGED", path, fmt.Sprintf("pattern changed from %q to %q at %s", wp, rp, path))
		}
	}
	if ru, _ := rm["uniqueItems"].(bool); ru {
		if wu, _ := wm["uniqueItems"].(bool); !wu {
			c.add("UNIQUE_ITEMS_ADDED", path, "uniqueItems was added at "+path)
		}
	}
}

func (c *jsonCompat) enum(rm, wm map[string]any, path string) {
	re, ok := rm["enum"].([]any)
	if !ok {
		if cv, ok := rm["const"]; ok {
			re = []any{cv}
		} else {
			return
		}
	}
	we, ok := wm["enum"].([]any)
	if !ok {
		if cv, ok := wm["const"]; ok {
			we = []any{cv}
		} else {
			c.add("ENUM_ARRAY_NARROWED", path, "an enum was added at "+path)
			return
		}
	}
	set := map[string]bool{}
	for _, v := range re {
		b, _ := json.Marshal(v)
		set[string(b)] = true
	}
	for _, v := range we {
		b, _ := json.Marshal(v)
		if !set[string(b)] {
			c.add("ENUM_ARRAY_NARROWED", path, fmt.Sprintf("the enum at %s lost the value %s", path, b))
		}
	}
}

func isObject(m map[string]any) bool {
	for _, k := range []string{"properties", "required", "additionalProperties"} {
		if _, ok := m[k]; ok {
			return true
		}
	}
	return m["type"] == "object"
}

// additional returns the schema a property not in properties must match.
func additional(m map[string]any) any {
	if a, ok := m["additionalProperties"]; ok {
		return a
	}
	return true
}

func isFalse(v any) bool { b, ok := v.(bool); return ok && !b }

func (c *jsonCompat) object(r, w jnode, rm, wm map[string]any, path string, depth int) {
	rp, _ := rm["properties"].(map[string]any)
	wp, _ := wm["properties"].(map[string]any)
	rAdd, wAdd := additional(rm), additional(wm)
	for _, name := range sortedKeys(wp) {
		pp := path + "/properties/" + name
		if rs, ok := rp[name]; ok {
			c.checkNodes(jnode{rs, r.root}, jnode{wp[name], w.root}, pp, depth+1)
			continue
		}
		if isFalse(rAdd) {
			c.add("PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL", pp, fmt.Sprintf("the property %q was removed from a closed content model at %s", name, path))
			continue
		}
		if !c.compatible(jnode{rAdd, r.root}, jnode{wp[name], w.root}, depth+1) {
			c.add("PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL", pp, fmt.Sprintf("the removed property %q is not accepted by additionalProperties at %s", name, path))
		}
	}
	for _, name := range sortedKeys(rp) {
		if _, ok := wp[name]; ok || isFalse(wAdd) {
			continue
		}
		pp := path + "/properties/" + name
		if !c.compatible(jnode{rp[name], r.root}, jnode{wAdd, w.root}, depth+1) {
			c.add("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", pp, fmt.Sprintf("the property %q was added to an open content model at %s: documents of the old schema may carry it with any value", name, path))
		}
	}
	if !isFalse(wAdd) && !c.compatible(jnode{rAdd, r.root}, jnode{wAdd, w.root}, depth+1) {
		kind := "ADDITIONAL_PROPERTIES_NARROWED"
		if isFalse(rAdd) {
			kind = "ADDITIONAL_PROPERTIES_REMOVED"
		}
		c.add(kind, path+"/additionalProperties", "additionalProperties was narrowed at "+path)
	}
	wreq := map[string]bool{}
	if l, ok := wm["required"].([]any); ok {
		for _, x := range l {
			if s, ok := x.(string); ok {
				wreq[s] = true
			}
		}
	}
	if l, ok := rm["required"].([]any); ok {
		for _, x := range l {
			s, _ := x.(string)
			if wreq[s] {
				continue
			}
			if pm, ok := rp[s].(map[string]any); ok {
				if _, hasDefault := pm["default"]; hasDefault {
					continue
				}
			}
			c.add("REQUIRED_ATTRIBUTE_ADDED", path+"/required", fmt.Sprintf("the property %q became required at %s", s, path))
		}
	}
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
