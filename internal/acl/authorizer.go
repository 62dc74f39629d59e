package acl

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// bucket is the meta bucket holding one key per binding.
const bucket = "acls"

// Options configures an Authorizer.
type Options struct {
	// SuperUsers are allowed everything (Kafka's super.users), e.g.
	// "User:admin".
	SuperUsers []string
	// AllowIfNoACL allows an action on a resource no binding names at all
	// (Kafka's allow.everyone.if.no.acl.found). Default false.
	AllowIfNoACL bool
}

// Authorizer is the ACL authorizer: it implements auth.Authorizer over the
// bindings stored in meta. It is safe for concurrent use; checks take no
// lock and allocate nothing.
type Authorizer struct {
	m     *meta.Store
	super map[string]struct{}
	allow bool
	ix    atomic.Pointer[index]
	// mu serializes changes (store write, then index publish).
	mu sync.Mutex
}

var _ auth.Authorizer = (*Authorizer)(nil)

// Open loads the bindings stored in m.
func Open(m *meta.Store, opt Options) (*Authorizer, error) {
	a := &Authorizer{m: m, super: map[string]struct{}{}, allow: opt.AllowIfNoACL}
	for _, p := range opt.SuperUsers {
		if err := ValidatePrincipal(p); err != nil {
			return nil, fmt.Errorf("super user: %w", err)
		}
		a.super[p] = struct{}{}
	}
	var all []Binding
	err := m.ForEach(bucket, "", func(key string, value []byte) error {
		b, err := decodeBinding(value)
		if err != nil {
			return fmt.Errorf("acl %q: %w", key, err)
		}
		all = append(all, b)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load acls: %w", err)
	}
	sortBindings(all)
	a.ix.Store(buildIndex(all))
	return a, nil
}

// Authorize reports whether principal p connecting from host may perform
// op on resource rt/name. It does not allocate.
func (a *Authorizer) Authorize(p auth.Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	if _, ok := a.super[string(p)]; ok {
		return true
	}
	ix := a.ix.Load()
	var v verdict
	if pp := ix.byPrincipal[string(p)]; pp != nil {
		pp.match(&v, host, op, rt, name)
	}
	if strings.HasPrefix(string(p), "User:") && p != WildcardPrincipal {
		if pp := ix.byPrincipal[WildcardPrincipal]; pp != nil {
			pp.match(&v, host, op, rt, name)
		}
	}
	if v.deny {
		return false
	}
	if v.allow {
		return true
	}
	return a.allow && !ix.any.exists(rt, name)
}

// AuthorizeAny reports whether p may perform op on at least one resource
// of type rt, as Kafka's authorizeByResourceType: an ALLOW on some
// pattern that no DENY of the principal covers (a DENY on the LITERAL "*"
// denies every resource). InitProducerId without a transactional id uses
// it (IDEMPOTENT_WRITE on the cluster, or WRITE on any topic).
func (a *Authorizer) AuthorizeAny(p auth.Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType) bool {
	if _, ok := a.super[string(p)]; ok {
		return true
	}
	ix := a.ix.Load()
	applies := func(b Binding) bool {
		if b.ResourceType != rt || (b.Host != "*" && b.Host != host) {
			return false
		}
		return b.Principal == string(p) || (b.Principal == WildcardPrincipal && strings.HasPrefix(string(p), "User:"))
	}
	var denyLiteral, denyPrefix []string
	for _, b := range ix.all {
		if !applies(b) || b.Permission != kmsg.ACLPermissionTypeDeny || !opMatches(b.Operation, op, false) {
			continue
		}
		if b.PatternType == kmsg.ACLResourcePatternTypeLiteral {
			if b.ResourceName == "*" {
				return false
			}
			denyLiteral = append(denyLiteral, b.ResourceName)
		} else {
			denyPrefix = append(denyPrefix, b.ResourceName)
		}
	}
	denied := func(name string, prefixed bool) bool {
		for _, d := range denyPrefix {
			if strings.HasPrefix(name, d) {
				return true
			}
		}
		if !prefixed {
			for _, d := range denyLiteral {
				if d == name {
					return true
				}
			}
		}
		return false
	}
	for _, b := range ix.all {
		if applies(b) && b.Permission == kmsg.ACLPermissionTypeAllow && opMatches(b.Operation, op, true) &&
			!denied(b.ResourceName, b.PatternType == kmsg.ACLResourcePatternTypePrefixed) {
			return true
		}
	}
	return a.allow && !ix.types[rt]
}

// IsSuperUser reports whether p is a super user.
func (a *Authorizer) IsSuperUser(p auth.Principal) bool {
	_, ok := a.super[string(p)]
	return ok
}

// Describe returns the bindings f selects, in a stable order.
func (a *Authorizer) Describe(f Filter) []Binding {
	var out []Binding
	for _, b := range a.ix.Load().all {
		if f.Matches(b) {
			out = append(out, b)
		}
	}
	return out
}

// Len returns the number of bindings.
func (a *Authorizer) Len() int { return len(a.ix.Load().all) }

// Create stores every valid binding of bs (those already present are
// kept once) in one durable write and applies them. errs[i] is the
// binding's validation error (a *ValidationError) or nil; err is a
// storage failure, after which nothing of bs was applied.
func (a *Authorizer) Create(bs []Binding) (errs []error, err error) {
	errs = make([]error, len(bs))
	var ok []Binding
	for i, b := range bs {
		if errs[i] = b.Validate(); errs[i] == nil {
			ok = append(ok, b)
		}
	}
	if len(ok) == 0 {
		return errs, nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.ix.Load().all
	have := make(map[Binding]bool, len(cur))
	for _, b := range cur {
		have[b] = true
	}
	var add []Binding
	for _, b := range ok {
		if !have[b] {
			have[b] = true
			add = append(add, b)
		}
	}
	if len(add) == 0 {
		return errs, nil
	}
	err = a.m.Batch(func(tx *meta.Tx) error {
		for _, b := range add {
			if err := tx.Put(bucket, keyOf(b), encodeBinding(b)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return errs, fmt.Errorf("store acls: %w", err)
	}
	all := append(slices.Clone(cur), add...)
	sortBindings(all)
	a.ix.Store(buildIndex(all))
	return errs, nil
}

// Delete removes every binding any filter selects, in one durable write,
// and returns the bindings each filter removed (a binding two filters
// select is reported for the first). errs[i] is filter i's validation
// error; err is a storage failure, after which nothing was removed.
func (a *Authorizer) Delete(fs []Filter) (removed [][]Binding, errs []error, err error) {
	removed = make([][]Binding, len(fs))
	errs = make([]error, len(fs))
	a.mu.Lock()
	defer a.mu.Unlock()
	cur := a.ix.Load().all
	gone := map[int]bool{}
	for i, f := range fs {
		if errs[i] = f.Validate(); errs[i] != nil {
			continue
		}
		for j, b := range cur {
			if !gone[j] && f.Matches(b) {
				gone[j] = true
				removed[i] = append(removed[i], b)
			}
		}
	}
	if len(gone) == 0 {
		return removed, errs, nil
	}
	err = a.m.Batch(func(tx *meta.Tx) error {
		for j := range gone {
			if err := tx.Delete(bucket, keyOf(cur[j])); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return make([][]Binding, len(fs)), errs, fmt.Errorf("delete acls: %w", err)
	}
	keep := make([]Binding, 0, len(cur)-len(gone))
	for j, b := range cur {
		if !gone[j] {
			keep = append(keep, b)
		}
	}
	a.ix.Store(buildIndex(keep))
	return removed, errs, nil
}

// keyOf is a binding's meta key: every field, strings quoted, so two
// different bindings never share a key.
func keyOf(b Binding) string {
	return fmt.Sprintf("%d|%d|%q|%q|%q|%d|%d", b.ResourceType, b.PatternType, b.ResourceName, b.Principal, b.Host, b.Operation, b.Permission)
}

// stored is a binding's meta value (docs/format/acls.md).
type stored struct {
	V            int    `json:"v"`
	ResourceType string `json:"resource_type"`
	ResourceName string `json:"resource_name"`
	PatternType  string `json:"pattern_type"`
	Principal    string `json:"principal"`
	Host         string `json:"host"`
	Operation    string `json:"operation"`
	Permission   string `json:"permission"`
}

func encodeBinding(b Binding) []byte {
	v, _ := json.Marshal(stored{
		V: 1, ResourceType: ResourceTypeString(b.ResourceType), ResourceName: b.ResourceName,
		PatternType: b.PatternType.String(), Principal: b.Principal, Host: b.Host,
		Operation: b.Operation.String(), Permission: b.Permission.String(),
	})
	return v
}

func decodeBinding(v []byte) (Binding, error) {
	var s stored
	if err := json.Unmarshal(v, &s); err != nil {
		return Binding{}, fmt.Errorf("decode: %w", err)
	}
	if s.V != 1 {
		return Binding{}, fmt.Errorf("unknown acl record version %d", s.V)
	}
	var b Binding
	var errs []error
	var err error
	b.ResourceType, err = ParseResourceType(s.ResourceType)
	errs = append(errs, err)
	b.PatternType, err = kmsg.ParseACLResourcePatternType(s.PatternType)
	errs = append(errs, err)
	b.Operation, err = kmsg.ParseACLOperation(s.Operation)
	errs = append(errs, err)
	b.Permission, err = kmsg.ParseACLPermissionType(s.Permission)
	errs = append(errs, err)
	b.ResourceName, b.Principal, b.Host = s.ResourceName, s.Principal, s.Host
	if err := errors.Join(errs...); err != nil {
		return Binding{}, err
	}
	return b, b.Validate()
}
