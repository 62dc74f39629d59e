package acl

import (
	"slices"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// resKey names a resource pattern's name within its type.
type resKey struct {
	rt   kmsg.ACLResourceType
	name string
}

// entry is the part of a binding a check compares once the principal and
// the resource pattern matched.
type entry struct {
	host  string
	op    kmsg.ACLOperation
	allow bool
}

// patterns holds resource patterns of one principal (or of all principals,
// for the no-ACL check): LITERAL names (the wildcard "*" among them) and
// PREFIXED names, with the distinct lengths of the prefixes per resource
// type so a check looks up each possible prefix of a name instead of
// scanning every prefix.
type patterns struct {
	literal    map[resKey][]entry
	prefixed   map[resKey][]entry
	prefixLens map[kmsg.ACLResourceType][]int
}

func newPatterns() *patterns {
	return &patterns{literal: map[resKey][]entry{}, prefixed: map[resKey][]entry{}, prefixLens: map[kmsg.ACLResourceType][]int{}}
}

func (p *patterns) add(b Binding) {
	e := entry{host: b.Host, op: b.Operation, allow: b.Permission == kmsg.ACLPermissionTypeAllow}
	k := resKey{b.ResourceType, b.ResourceName}
	if b.PatternType == kmsg.ACLResourcePatternTypePrefixed {
		p.prefixed[k] = append(p.prefixed[k], e)
		lens := p.prefixLens[b.ResourceType]
		if i, found := slices.BinarySearch(lens, len(b.ResourceName)); !found {
			p.prefixLens[b.ResourceType] = slices.Insert(lens, i, len(b.ResourceName))
		}
		return
	}
	p.literal[k] = append(p.literal[k], e)
}

// verdict accumulates what matching entries say.
type verdict struct{ allow, deny bool }

func (v *verdict) check(es []entry, host string, op kmsg.ACLOperation) {
	for i := range es {
		e := &es[i]
		if e.host != "*" && e.host != host {
			continue
		}
		if !opMatches(e.op, op, e.allow) {
			continue
		}
		if e.allow {
			v.allow = true
		} else {
			v.deny = true
		}
	}
}

// match checks every pattern of p that applies to resource rt/name. It
// does not allocate: map lookups with a struct key of strings and
// substrings of name do not.
func (p *patterns) match(v *verdict, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) {
	if es, ok := p.literal[resKey{rt, name}]; ok {
		v.check(es, host, op)
	}
	if name != "*" {
		if es, ok := p.literal[resKey{rt, "*"}]; ok {
			v.check(es, host, op)
		}
	}
	for _, n := range p.prefixLens[rt] {
		if n > len(name) {
			break
		}
		if es, ok := p.prefixed[resKey{rt, name[:n]}]; ok {
			v.check(es, host, op)
		}
	}
}

// exists reports whether any pattern of p applies to rt/name.
func (p *patterns) exists(rt kmsg.ACLResourceType, name string) bool {
	if _, ok := p.literal[resKey{rt, name}]; ok {
		return true
	}
	if _, ok := p.literal[resKey{rt, "*"}]; ok {
		return true
	}
	for _, n := range p.prefixLens[rt] {
		if n > len(name) {
			break
		}
		if _, ok := p.prefixed[resKey{rt, name[:n]}]; ok {
			return true
		}
	}
	return false
}

// index is an immutable view of every binding, built on each change and
// published atomically.
type index struct {
	all         []Binding // sorted (sortBindings)
	byPrincipal map[string]*patterns
	any         *patterns // every principal's patterns, hosts and ops ignored
	types       map[kmsg.ACLResourceType]bool
}

func buildIndex(all []Binding) *index {
	ix := &index{all: all, byPrincipal: map[string]*patterns{}, any: newPatterns(), types: map[kmsg.ACLResourceType]bool{}}
	for _, b := range all {
		p := ix.byPrincipal[b.Principal]
		if p == nil {
			p = newPatterns()
			ix.byPrincipal[b.Principal] = p
		}
		p.add(b)
		ix.any.add(b)
		ix.types[b.ResourceType] = true
	}
	return ix
}

// sortBindings orders bindings by resource, then principal, host,
// operation and permission, so listings are stable.
func sortBindings(bs []Binding) {
	sort.Slice(bs, func(i, j int) bool { return bindingLess(bs[i], bs[j]) })
}

func bindingLess(a, b Binding) bool {
	if a.ResourceType != b.ResourceType {
		return a.ResourceType < b.ResourceType
	}
	if a.PatternType != b.PatternType {
		return a.PatternType < b.PatternType
	}
	if a.ResourceName != b.ResourceName {
		return a.ResourceName < b.ResourceName
	}
	if a.Principal != b.Principal {
		return a.Principal < b.Principal
	}
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	if a.Operation != b.Operation {
		return a.Operation < b.Operation
	}
	return a.Permission < b.Permission
}
