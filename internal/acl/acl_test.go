package acl

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/meta"
)

const (
	topic    = kmsg.ACLResourceTypeTopic
	group    = kmsg.ACLResourceTypeGroup
	cluster  = kmsg.ACLResourceTypeCluster
	literal  = kmsg.ACLResourcePatternTypeLiteral
	prefixed = kmsg.ACLResourcePatternTypePrefixed
	allow    = kmsg.ACLPermissionTypeAllow
	deny     = kmsg.ACLPermissionTypeDeny
)

func openStore(t testing.TB, dir string) *meta.Store {
	t.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func openAuthz(t testing.TB, opt Options, bs ...Binding) *Authorizer {
	t.Helper()
	m := openStore(t, t.TempDir())
	t.Cleanup(func() { m.Close() })
	a, err := Open(m, opt)
	if err != nil {
		t.Fatal(err)
	}
	mustCreate(t, a, bs...)
	return a
}

func mustCreate(t testing.TB, a *Authorizer, bs ...Binding) {
	t.Helper()
	errs, err := a.Create(bs)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range errs {
		if e != nil {
			t.Fatalf("create %v: %v", bs[i], e)
		}
	}
}

func bind(p string, perm kmsg.ACLPermissionType, op kmsg.ACLOperation, rt kmsg.ACLResourceType, pt kmsg.ACLResourcePatternType, name string) Binding {
	return Binding{ResourceType: rt, ResourceName: name, PatternType: pt, Principal: p, Host: "*", Operation: op, Permission: perm}
}

// TestAuthorizeSemantics walks Kafka's rules one by one.
func TestAuthorizeSemantics(t *testing.T) {
	alice, bob := auth.User("alice"), auth.User("bob")
	const host = "10.0.0.1"
	read, write, desc := kmsg.ACLOperationRead, kmsg.ACLOperationWrite, kmsg.ACLOperationDescribe
	cases := []struct {
		name  string
		opt   Options
		acls  []Binding
		p     auth.Principal
		host  string
		op    kmsg.ACLOperation
		rt    kmsg.ACLResourceType
		res   string
		allow bool
	}{
		{"no acls denies", Options{}, nil, alice, host, read, topic, "t", false},
		{"no acls, allow-everyone", Options{AllowIfNoACL: true}, nil, alice, host, read, topic, "t", true},
		{"allow-everyone does not apply once the resource has acls", Options{AllowIfNoACL: true},
			[]Binding{bind("User:bob", allow, read, topic, literal, "t")}, alice, host, read, topic, "t", false},
		{"allow-everyone: a prefixed acl counts as naming the resource", Options{AllowIfNoACL: true},
			[]Binding{bind("User:bob", allow, read, topic, prefixed, "t")}, alice, host, read, topic, "tx", false},
		{"allow-everyone: other resources still open", Options{AllowIfNoACL: true},
			[]Binding{bind("User:bob", allow, read, topic, literal, "t")}, alice, host, read, topic, "u", true},
		{"super user", Options{SuperUsers: []string{"User:alice"}},
			[]Binding{bind("User:alice", deny, read, topic, literal, "t")}, alice, host, read, topic, "t", true},
		{"literal allow", Options{}, []Binding{bind("User:alice", allow, read, topic, literal, "t")}, alice, host, read, topic, "t", true},
		{"literal is not a prefix", Options{}, []Binding{bind("User:alice", allow, read, topic, literal, "t")}, alice, host, read, topic, "tt", false},
		{"other principal", Options{}, []Binding{bind("User:alice", allow, read, topic, literal, "t")}, bob, host, read, topic, "t", false},
		{"other resource type", Options{}, []Binding{bind("User:alice", allow, read, group, literal, "t")}, alice, host, read, topic, "t", false},
		{"wildcard resource", Options{}, []Binding{bind("User:alice", allow, read, topic, literal, "*")}, alice, host, read, topic, "any", true},
		{"wildcard principal", Options{}, []Binding{bind("User:*", allow, read, topic, literal, "t")}, bob, host, read, topic, "t", true},
		{"prefixed", Options{}, []Binding{bind("User:alice", allow, read, topic, prefixed, "orders.")}, alice, host, read, topic, "orders.eu", true},
		{"prefixed covers its own name", Options{}, []Binding{bind("User:alice", allow, read, topic, prefixed, "orders")}, alice, host, read, topic, "orders", true},
		{"prefixed longer than name", Options{}, []Binding{bind("User:alice", allow, read, topic, prefixed, "orders.eu")}, alice, host, read, topic, "orders", false},
		{"deny wins over allow", Options{}, []Binding{
			bind("User:alice", allow, read, topic, literal, "*"),
			bind("User:alice", deny, read, topic, literal, "t")}, alice, host, read, topic, "t", false},
		{"deny on wildcard principal wins", Options{}, []Binding{
			bind("User:alice", allow, read, topic, literal, "t"),
			bind("User:*", deny, read, topic, prefixed, "t")}, alice, host, read, topic, "t", false},
		{"deny ALL denies read", Options{}, []Binding{
			bind("User:alice", allow, read, topic, literal, "t"),
			bind("User:alice", deny, kmsg.ACLOperationAll, topic, literal, "t")}, alice, host, read, topic, "t", false},
		{"allow ALL", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationAll, topic, literal, "t")}, alice, host, write, topic, "t", true},
		{"read implies describe", Options{}, []Binding{bind("User:alice", allow, read, topic, literal, "t")}, alice, host, desc, topic, "t", true},
		{"write implies describe", Options{}, []Binding{bind("User:alice", allow, write, topic, literal, "t")}, alice, host, desc, topic, "t", true},
		{"delete implies describe", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationDelete, topic, literal, "t")}, alice, host, desc, topic, "t", true},
		{"alter implies describe", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationAlter, topic, literal, "t")}, alice, host, desc, topic, "t", true},
		{"create does not imply describe", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationCreate, topic, literal, "t")}, alice, host, desc, topic, "t", false},
		{"describe does not imply read", Options{}, []Binding{bind("User:alice", allow, desc, topic, literal, "t")}, alice, host, read, topic, "t", false},
		{"alter_configs implies describe_configs", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationAlterConfigs, topic, literal, "t")}, alice, host, kmsg.ACLOperationDescribeConfigs, topic, "t", true},
		{"deny read does not deny describe", Options{}, []Binding{
			bind("User:alice", allow, desc, topic, literal, "t"),
			bind("User:alice", deny, read, topic, literal, "t")}, alice, host, desc, topic, "t", true},
		{"host matches", Options{}, []Binding{{ResourceType: topic, ResourceName: "t", PatternType: literal, Principal: "User:alice", Host: host, Operation: read, Permission: allow}}, alice, host, read, topic, "t", true},
		{"host differs", Options{}, []Binding{{ResourceType: topic, ResourceName: "t", PatternType: literal, Principal: "User:alice", Host: "10.0.0.2", Operation: read, Permission: allow}}, alice, host, read, topic, "t", false},
		{"cluster", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationCreate, cluster, literal, ClusterName)}, alice, host, kmsg.ACLOperationCreate, cluster, ClusterName, true},
		{"subject", Options{}, []Binding{bind("User:alice", allow, kmsg.ACLOperationAlter, ResourceTypeSubject, prefixed, "orders-")}, alice, host, kmsg.ACLOperationAlter, ResourceTypeSubject, "orders-value", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := openAuthz(t, c.opt, c.acls...)
			if got := a.Authorize(c.p, c.host, c.op, c.rt, c.res); got != c.allow {
				t.Fatalf("Authorize(%s, %s, %s, %s %q) = %v, want %v", c.p, c.host, c.op, c.rt, c.res, got, c.allow)
			}
		})
	}
}

func TestAuthorizeAny(t *testing.T) {
	alice := auth.User("alice")
	w := kmsg.ACLOperationWrite
	a := openAuthz(t, Options{})
	if a.AuthorizeAny(alice, "h", w, topic) {
		t.Fatal("no acls: allowed")
	}
	mustCreate(t, a, bind("User:alice", allow, w, topic, prefixed, "orders."))
	if !a.AuthorizeAny(alice, "h", w, topic) {
		t.Fatal("allow on a prefix: denied")
	}
	mustCreate(t, a, bind("User:alice", deny, w, topic, prefixed, "orders"))
	if a.AuthorizeAny(alice, "h", w, topic) {
		t.Fatal("the allowed prefix is under a denied prefix: allowed")
	}
	mustCreate(t, a, bind("User:alice", allow, w, topic, literal, "payments"))
	if !a.AuthorizeAny(alice, "h", w, topic) {
		t.Fatal("allow on a literal outside the denied prefix: denied")
	}
	mustCreate(t, a, bind("User:*", deny, w, topic, literal, "*"))
	if a.AuthorizeAny(alice, "h", w, topic) {
		t.Fatal("deny on every topic: allowed")
	}
}

func TestCreateValidation(t *testing.T) {
	a := openAuthz(t, Options{})
	good := bind("User:alice", allow, kmsg.ACLOperationRead, topic, literal, "t")
	bad := map[string]Binding{}
	b := good
	b.ResourceType = kmsg.ACLResourceTypeAny
	bad["resource type"] = b
	b = good
	b.PatternType = kmsg.ACLResourcePatternTypeMatch
	bad["pattern type"] = b
	b = good
	b.Operation = kmsg.ACLOperationAny
	bad["operation"] = b
	b = good
	b.Permission = kmsg.ACLPermissionTypeAny
	bad["permission"] = b
	b = good
	b.Principal = "alice"
	bad["principal"] = b
	b = good
	b.Host = "example.com"
	bad["host"] = b
	b = good
	b.ResourceName = ""
	bad["resource name"] = b
	b = good
	b.ResourceType, b.ResourceName = cluster, "c"
	bad["cluster"] = b
	for what, b := range bad {
		errs, err := a.Create([]Binding{good, b})
		if err != nil {
			t.Fatal(err)
		}
		if errs[0] != nil || errs[1] == nil {
			t.Fatalf("bad %s: errs = %v", what, errs)
		}
		if _, ok := errs[1].(*ValidationError); !ok {
			t.Fatalf("bad %s: %T, want *ValidationError", what, errs[1])
		}
	}
	if a.Len() != 1 {
		t.Fatalf("%d bindings, want 1 (the good one, kept once)", a.Len())
	}
}

func TestFilterMatch(t *testing.T) {
	lit := bind("User:a", allow, kmsg.ACLOperationRead, topic, literal, "orders")
	wild := bind("User:a", allow, kmsg.ACLOperationRead, topic, literal, "*")
	pre := bind("User:a", allow, kmsg.ACLOperationRead, topic, prefixed, "ord")
	other := bind("User:a", allow, kmsg.ACLOperationRead, topic, literal, "payments")
	name := "orders"
	any := Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	match := any
	match.PatternType, match.ResourceName = kmsg.ACLResourcePatternTypeMatch, &name
	exact := any
	exact.ResourceName = &name
	for _, c := range []struct {
		f    Filter
		b    Binding
		want bool
	}{
		{any, lit, true}, {any, pre, true},
		{match, lit, true}, {match, wild, true}, {match, pre, true}, {match, other, false},
		{exact, lit, true}, {exact, wild, false}, {exact, pre, false},
	} {
		if got := c.f.Matches(c.b); got != c.want {
			t.Errorf("filter %+v matches %v = %v, want %v", c.f, c.b, got, c.want)
		}
	}
}

// TestPersistence: bindings survive a reopen, and deletes too.
func TestPersistence(t *testing.T) {
	dir := t.TempDir()
	m := openStore(t, dir)
	a, err := Open(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	b1 := bind("User:a", allow, kmsg.ACLOperationRead, topic, literal, "x|y\"z")
	b2 := bind("User:b", deny, kmsg.ACLOperationWrite, ResourceTypeSubject, prefixed, "s-")
	mustCreate(t, a, b1, b2)
	all := Filter{ResourceType: kmsg.ACLResourceTypeAny, PatternType: kmsg.ACLResourcePatternTypeAny, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
	p := "User:b"
	f := all
	f.Principal = &p
	removed, errs, err := a.Delete([]Filter{f})
	if err != nil || errs[0] != nil || len(removed[0]) != 1 || removed[0][0] != b2 {
		t.Fatalf("delete: %v %v %v", removed, errs, err)
	}
	m.Close()
	m = openStore(t, dir)
	defer m.Close()
	a, err = Open(m, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := a.Describe(all)
	if len(got) != 1 || got[0] != b1 {
		t.Fatalf("after reopen: %v, want [%v]", got, b1)
	}
}

// reference is the plain reading of Kafka's rules, checked against the
// index.
func reference(bs []Binding, opt Options, p auth.Principal, host string, op kmsg.ACLOperation, rt kmsg.ACLResourceType, name string) bool {
	for _, s := range opt.SuperUsers {
		if s == string(p) {
			return true
		}
	}
	var allowed, denied, any bool
	for _, b := range bs {
		if b.ResourceType != rt {
			continue
		}
		if b.PatternType == literal && b.ResourceName != name && b.ResourceName != "*" {
			continue
		}
		if b.PatternType == prefixed && !strings.HasPrefix(name, b.ResourceName) {
			continue
		}
		any = true
		if b.Principal != string(p) && !(b.Principal == WildcardPrincipal && strings.HasPrefix(string(p), "User:")) {
			continue
		}
		if b.Host != "*" && b.Host != host {
			continue
		}
		if !opMatches(b.Operation, op, b.Permission == allow) {
			continue
		}
		if b.Permission == deny {
			denied = true
		} else {
			allowed = true
		}
	}
	if denied {
		return false
	}
	return allowed || (opt.AllowIfNoACL && !any)
}

// FuzzAuthorize compares the index with the reference on random bindings
// and requests, and MATCH filters with what applies to a name.
func FuzzAuthorize(f *testing.F) {
	f.Add([]byte("abcdefghijklmnopqrstuvwxyz0123456789"), "abc", uint8(3))
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "a", uint8(8))
	f.Add([]byte("zzzzzzzzzzzzzzzzzzzzzzzzz"), "", uint8(2))
	names := []string{"a", "ab", "abc", "b", "*", ""}
	principals := []string{"User:alice", "User:bob", "User:*", "Group:x"}
	hosts := []string{"*", "10.0.0.1", "10.0.0.2"}
	ops := []kmsg.ACLOperation{2, 3, 4, 6, 7, 8, 10, 11}
	f.Fuzz(func(t *testing.T, data []byte, name string, opb uint8) {
		if len(name) > 8 {
			return
		}
		var bs []Binding
		for len(data) >= 6 {
			b := Binding{
				ResourceType: []kmsg.ACLResourceType{topic, group}[data[0]%2],
				ResourceName: names[int(data[1])%len(names)],
				PatternType:  []kmsg.ACLResourcePatternType{literal, prefixed}[data[2]%2],
				Principal:    principals[int(data[3])%len(principals)],
				Host:         hosts[int(data[4])%len(hosts)],
				Operation:    ops[int(data[5])%len(ops)],
				Permission:   []kmsg.ACLPermissionType{allow, deny}[(data[5]/16)%2],
			}
			data = data[6:]
			if b.Validate() == nil {
				bs = append(bs, b)
			}
		}
		opt := Options{AllowIfNoACL: opb%2 == 1}
		if opb%5 == 0 {
			opt.SuperUsers = []string{"User:bob"}
		}
		// The index alone (no meta store: fsyncs would make the fuzzer
		// crawl); TestPersistence covers the store.
		a := &Authorizer{super: map[string]struct{}{}, allow: opt.AllowIfNoACL}
		for _, s := range opt.SuperUsers {
			a.super[s] = struct{}{}
		}
		sortBindings(bs)
		a.ix.Store(buildIndex(bs))
		all := bs
		// A MATCH filter for name selects exactly the bindings that apply
		// to a resource called name.
		for _, rt := range []kmsg.ACLResourceType{topic, group} {
			f := Filter{ResourceType: rt, ResourceName: &name, PatternType: kmsg.ACLResourcePatternTypeMatch, Operation: kmsg.ACLOperationAny, Permission: kmsg.ACLPermissionTypeAny}
			for _, b := range all {
				applies := b.ResourceType == rt && ((b.PatternType == literal && (b.ResourceName == name || b.ResourceName == "*")) ||
					(b.PatternType == prefixed && strings.HasPrefix(name, b.ResourceName)))
				if f.Matches(b) != applies {
					t.Fatalf("MATCH %s %q selects %v: %v, applies: %v", rt, name, b, f.Matches(b), applies)
				}
			}
		}
		for _, p := range []auth.Principal{"User:alice", "User:bob", "Group:x"} {
			for _, h := range hosts[1:] {
				for _, rt := range []kmsg.ACLResourceType{topic, group} {
					op := ops[int(opb)%len(ops)]
					got := a.Authorize(p, h, op, rt, name)
					if want := reference(all, opt, p, h, op, rt, name); got != want {
						t.Fatalf("Authorize(%s, %s, %s, %s %q) = %v, reference %v; bindings %v", p, h, op, rt, name, got, want, all)
					}
				}
			}
		}
	})
}

// FuzzDecodeBinding: the meta record decoder never panics, and what it
// accepts encodes back to an equal binding.
func FuzzDecodeBinding(f *testing.F) {
	f.Add(encodeBinding(bind("User:a", allow, kmsg.ACLOperationRead, topic, literal, "t")))
	f.Add(encodeBinding(bind("User:*", deny, kmsg.ACLOperationAll, ResourceTypeSubject, prefixed, "s-")))
	f.Add([]byte(`{"v":2}`))
	f.Add([]byte(`{"v":1,"resource_type":"CLUSTER","resource_name":"x"}`))
	f.Fuzz(func(t *testing.T, v []byte) {
		b, err := decodeBinding(v)
		if err != nil {
			return
		}
		b2, err := decodeBinding(encodeBinding(b))
		if err != nil || b2 != b {
			t.Fatalf("round trip of %v: %v, %v", b, b2, err)
		}
	})
}

// manyBindings returns n bindings for other principals and resources, a
// mix of literal and prefixed, as a busy cluster has.
func manyBindings(n int) []Binding {
	bs := make([]Binding, 0, n)
	for i := range n {
		pt := literal
		if i%4 == 0 {
			pt = prefixed
		}
		bs = append(bs, bind(fmt.Sprintf("User:u%d", i%500), allow, kmsg.ACLOperationWrite, topic, pt, fmt.Sprintf("team%d.topic%d", i%97, i)))
	}
	return bs
}

func BenchmarkAuthorize(b *testing.B) {
	for _, n := range []int{0, 10000} {
		b.Run(fmt.Sprintf("acls=%d", n), func(b *testing.B) {
			a := openAuthz(b, Options{SuperUsers: []string{"User:admin"}}, manyBindings(n)...)
			mustCreate(b, a,
				bind("User:producer", allow, kmsg.ACLOperationWrite, topic, prefixed, "bench."),
				bind("User:*", deny, kmsg.ACLOperationWrite, topic, literal, "bench.secret"))
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if !a.Authorize("User:producer", "127.0.0.1", kmsg.ACLOperationWrite, topic, "bench.orders") {
					b.Fatal("denied")
				}
			}
		})
	}
}

func TestAuthorizeDoesNotAllocate(t *testing.T) {
	a := openAuthz(t, Options{AllowIfNoACL: true}, manyBindings(2000)...)
	mustCreate(t, a, bind("User:producer", allow, kmsg.ACLOperationRead, topic, prefixed, "bench."))
	n := testing.AllocsPerRun(100, func() {
		a.Authorize("User:producer", "127.0.0.1", kmsg.ACLOperationRead, topic, "bench.orders")
		a.Authorize("User:nobody", "127.0.0.1", kmsg.ACLOperationWrite, topic, "team3.topic3x")
	})
	if n != 0 {
		t.Fatalf("Authorize allocates %v times per call", n)
	}
}
