package filter

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func rec() *Record {
	return &Record{
		Key:   []byte("order-42"),
		Value: []byte(`{"total": 1500, "region": "EU", "items": [{"sku": "a", "price": 10}], "paid": true}`),
		Headers: []Header{
			{Key: []byte("ce_type"), Value: []byte("OrderCreated")},
			{Key: []byte("ce_source"), Value: []byte("/shop")},
			{Key: []byte("ce_id"), Value: []byte("id-1")},
			{Key: []byte("ce_subject"), Value: []byte("order-42")},
			{Key: []byte("ce_time"), Value: []byte("2026-01-02T03:04:05Z")},
			{Key: []byte("tenant"), Value: []byte("first")},
			{Key: []byte("tenant"), Value: []byte("acme")},
		},
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixMilli(),
		Partition: 3,
		Offset:    77,
	}
}

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		expr string
		want bool
	}{
		{`value.total > 1000`, true},
		{`value.total > 2000`, false},
		{`value.total == 1500`, true},
		{`value.region == "EU" && value.paid`, true},
		{`has(value.total)`, true},
		{`has(value.missing)`, false},
		{`value.items.exists(i, i.price > 5)`, true},
		{`value.items[0].sku == "a"`, true},
		{`key == "order-42"`, true},
		{`key.startsWith("order-")`, true},
		{`raw.size() > 10`, true},
		{`headers["tenant"] == "acme"`, true}, // last value wins
		{`headers.tenant == "acme"`, true},
		{`"tenant" in headers`, true},
		{`"nope" in headers`, false},
		{`has(headers.nope)`, false},
		{`headers.size() == 6`, true},
		{`headers["ce_type"] == "OrderCreated"`, true},
		{`ce.type == "OrderCreated"`, true},
		{`ce.type == "OrderCancelled"`, false},
		{`ce.source == "/shop" && ce.id == "id-1" && ce.subject == "order-42"`, true},
		{`timestamp(ce.time) == timestamp`, true},
		{`"tenant" in ce`, false},
		{`timestamp > timestamp("2026-01-01T00:00:00Z")`, true},
		{`partition == 3 && offset == 77`, true},
		{`headers.exists(k, k == "tenant")`, true},
		{`headers == {"ce_type": "OrderCreated", "ce_source": "/shop", "ce_id": "id-1", "ce_subject": "order-42", "ce_time": "2026-01-02T03:04:05Z", "tenant": "acme"}`, true},
	} {
		p, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("Compile(%s): %v", tc.expr, err)
		}
		got, err := p.Eval(rec())
		if err != nil {
			t.Fatalf("Eval(%s): %v", tc.expr, err)
		}
		if got != tc.want {
			t.Errorf("%s = %v, want %v", tc.expr, got, tc.want)
		}
	}
}

// A record whose evaluation errors does not match, and the error is counted.
func TestEvalErrorNoMatch(t *testing.T) {
	p, err := Compile(`value.total > 1000`)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range []string{`not json`, `{"other": 1}`, `{"total": "abc"}`, ``, `[1,2]`} {
		r := &Record{Value: []byte(v), Offset: int64(i)}
		ok, err := p.Eval(r)
		if ok || err == nil {
			t.Errorf("value %q: match=%v err=%v, want no match and an error", v, ok, err)
		}
	}
	if p.Errors() != 5 {
		t.Fatalf("Errors() = %d, want 5", p.Errors())
	}
	if e := p.LastError(); e == nil || !strings.Contains(e.Error(), "offset 4") {
		t.Fatalf("LastError = %v", e)
	}
	// A guarded expression does not error.
	q, _ := Compile(`has(value.total) && value.total > 1000`)
	if ok, err := q.Eval(&Record{Value: []byte(`{"other": 1}`)}); ok || err != nil {
		t.Fatalf("guarded: %v %v", ok, err)
	}
	// Not JSON: value is null.
	q, _ = Compile(`value == null`)
	if ok, err := q.Eval(&Record{Value: []byte(`not json`)}); !ok || err != nil {
		t.Fatalf("null value: %v %v", ok, err)
	}
}

func TestCompileErrors(t *testing.T) {
	for _, tc := range []struct {
		expr, want string
		col        int
	}{
		{`value.total >`, "Syntax error", 14},
		{`foo == 1`, "undeclared reference to 'foo'", 1},
		{`key == 1 `, "no matching overload", 5},
		{`value.total`, "want bool", 1},
		{`key`, "want bool", 1},
		{`headers.all(a, headers.all(b, headers.all(c, key.contains(a+b+c))))`, "estimated cost", 1},
		{`value.items.all(a, value.items.all(b, a == b))`, "estimated cost", 1},
	} {
		_, err := Compile(tc.expr)
		var ce *CompileError
		if !errors.As(err, &ce) {
			t.Fatalf("Compile(%s) = %v, want *CompileError", tc.expr, err)
		}
		if !strings.Contains(ce.Message, tc.want) || ce.Column != tc.col {
			t.Errorf("Compile(%s): %v (column %d), want %q at column %d", tc.expr, err, ce.Column, tc.want, tc.col)
		}
	}
	if _, err := Compile("  "); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
	if _, err := Compile(strings.Repeat("true && ", 1000) + "true"); err == nil {
		t.Fatal("long expression accepted")
	}
}

// The runtime cost limit stops an evaluation the estimate let through.
func TestRuntimeCostLimit(t *testing.T) {
	p, err := Compile(`value.items.all(i, i != "y")`)
	if err != nil {
		t.Fatal(err)
	}
	items := make([]string, 600_000)
	for i := range items {
		items[i] = `"x"`
	}
	v := []byte(`{"items": [` + strings.Join(items, ",") + `]}`)
	ok, err := p.Eval(&Record{Value: v})
	if ok || err == nil || !strings.Contains(err.Error(), "cost limit") {
		t.Fatalf("match=%v err=%v, want the cost limit", ok, err)
	}
}

func TestUses(t *testing.T) {
	for _, tc := range []struct {
		expr          string
		value, header bool
	}{
		{`headers["ce_type"] == "OrderCancelled"`, false, true},
		{`ce.type == "OrderCancelled"`, false, true},
		{`value.total > 1000`, true, false},
		{`raw.size() > 3`, true, false},
		{`key == "a" || offset > 3`, false, false},
	} {
		p, err := Compile(tc.expr)
		if err != nil {
			t.Fatal(err)
		}
		if p.UsesValue() != tc.value || p.UsesHeaders() != tc.header {
			t.Errorf("%s: UsesValue=%v UsesHeaders=%v", tc.expr, p.UsesValue(), p.UsesHeaders())
		}
	}
}

// A header-only filter never resolves the value; a value filter reads it
// once per record however often the expression mentions it.
func TestHeaderFilterSkipsValue(t *testing.T) {
	for _, tc := range []struct {
		expr      string
		readValue bool
	}{
		{`headers["ce_type"] == "OrderCancelled"`, false},
		{`ce.type == "OrderCancelled" && key != ""`, false},
		{`value.total > 1000 && value.region == "EU"`, true},
	} {
		p, _ := Compile(tc.expr)
		a := p.evals.Get().(*activation)
		a.reset(rec())
		if _, _, err := p.prg.Eval(a); err != nil {
			t.Fatal(err)
		}
		if a.valueDone != tc.readValue {
			t.Errorf("%s: value resolved = %v", tc.expr, a.valueDone)
		}
	}
	// Neither allocates beyond CEL's own frame, cost tracker and boxed values.
	r := rec()
	for _, e := range []string{`headers["ce_type"] == "OrderCancelled"`, `value.total > 1000`} {
		p, _ := Compile(e)
		if a := testing.AllocsPerRun(100, func() { p.Match(r) }); a > 6 {
			t.Errorf("%s: %v allocations per record", e, a)
		}
	}
}

func TestJSONValues(t *testing.T) {
	for _, tc := range []struct {
		value, expr string
		want        bool
	}{
		{`{"n": 3}`, `value.n % 2 == 1`, true},
		{`{"n": 3.5}`, `value.n > 3`, true},
		{`{"n": -2e3}`, `value.n == -2000`, true},
		{`{"s": "a\"b"}`, `value.s == "a\"b"`, true},
		{`{"a\u0062": 1}`, `value.ab == 1`, true},
		{`{"a": {"b": [1, {"c": "}"}]}, "z": true}`, `value.z && value.a.b[1].c == "}"`, true},
		{`{"a": 1, "a": 2}`, `value.a == 1`, true}, // the first wins (the scan stops there)
		{`{"a": "x\\\\", "b": 2}`, `value.b == 2 && value.a == "x\\\\"`, true},
		{`{}`, `size(value) == 0`, true},
		{`{"x": 1, "y": 2}`, `value == {"x": 1, "y": 2}`, true},
		{`{"x": 1, "y": 2}`, `value.all(k, k in ["x", "y"])`, true},
		{` [1, 2] `, `value[1] == 2`, true},
		{`"str"`, `value == "str"`, true},
		{`12`, `value == 12`, true},
		{`null`, `value == null`, true},
		{`{"a": 1} trailing`, `value == null`, true},
		{`not json`, `value == null`, true},
		{`{"a": nul}`, `has(value.b)`, false},
	} {
		p, err := Compile(tc.expr)
		if err != nil {
			t.Fatalf("%s: %v", tc.expr, err)
		}
		got, err := p.Eval(&Record{Value: []byte(tc.value)})
		if got != tc.want {
			t.Errorf("%s on %s = %v (%v), want %v", tc.expr, tc.value, got, err, tc.want)
		}
	}
}

func TestConcurrent(t *testing.T) {
	p, _ := Compile(`value.total > 1000 && headers.tenant == "acme"`)
	done := make(chan error)
	for g := 0; g < 4; g++ {
		go func(g int) {
			for i := 0; i < 500; i++ {
				r := rec()
				r.Value = fmt.Appendf(nil, `{"total": %d}`, i*4+g)
				want := i*4+g > 1000
				if got := p.Match(r); got != want {
					done <- fmt.Errorf("total %d: got %v", i*4+g, got)
					return
				}
			}
			done <- nil
		}(g)
	}
	for g := 0; g < 4; g++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

// BenchmarkCELEval evaluates filters on a 1 KiB JSON record, each with its
// native plan and in CEL's interpreter alone.
func BenchmarkCELEval(b *testing.B) {
	value := []byte(`{"id": "order-1", "total": 1500, "region": "EU", "customer": {"name": "Ada", "tier": "gold"}, "note": "` + strings.Repeat("x", 900) + `"}`)
	for _, expr := range []string{
		`value.total > 1000`,
		`headers["ce_type"] == "OrderCancelled"`,
		`ce.type == "OrderCancelled"`,
		`ce.type == "OrderCreated" && value.total > 1000`,
		`key.startsWith("order-")`,
	} {
		for _, mode := range []string{"plan", "interpreter"} {
			compile := Compile
			if mode == "interpreter" {
				compile = CompileInterpreted
			}
			p, err := compile(expr)
			if err != nil {
				b.Fatal(err)
			}
			r := rec()
			r.Value = value
			b.Run(expr+"/"+mode, func(b *testing.B) {
				b.ReportAllocs()
				b.SetBytes(int64(len(value)))
				for b.Loop() {
					p.Match(r)
				}
			})
		}
	}
}

// FuzzCompile checks that no expression text panics the compiler or an
// evaluation of what compiles, and that every refusal is a CompileError.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{``, `true`, `value.total > 1000`, `ce.type == "x"`, `headers["a"] == "b"`,
		`value.items.exists(i, i > 1)`, `timestamp(ce.time) > timestamp`, `raw.size() > 0`, `((((`, `"\xff" == key`,
		`key.matches("^(a+)+$")`, `value.a.b.c.d == 1.5e300`, `size(value) > 0`, `offset % 0 == 1`} {
		f.Add(s, []byte(`{"a": {"b": 1}, "items": [1, 2]}`))
	}
	f.Fuzz(func(t *testing.T, expr string, value []byte) {
		p, err := Compile(expr)
		if err != nil {
			var ce *CompileError
			if !errors.As(err, &ce) && !errors.Is(err, ErrEmpty) {
				t.Fatalf("Compile(%q) error %T %v", expr, err, err)
			}
			return
		}
		r := rec()
		r.Value = value
		p.Eval(r)
	})
}

// FuzzValue evaluates fixed filters on arbitrary values and headers.
func FuzzValue(f *testing.F) {
	f.Add([]byte(`{"total": 1500}`), []byte("ce_type"), []byte("OrderCancelled"))
	f.Add([]byte(`{"total": "x"}`), []byte(""), []byte(""))
	f.Add([]byte(`[`), []byte("\xff"), []byte("\x00"))
	progs := []*Program{}
	for _, e := range []string{`value.total > 1000`, `ce.type == "OrderCancelled"`, `headers.size() > 0`, `value == null`} {
		p, err := Compile(e)
		if err != nil {
			f.Fatal(err)
		}
		progs = append(progs, p)
	}
	f.Fuzz(func(t *testing.T, value, hk, hv []byte) {
		r := &Record{Value: value, Headers: []Header{{Key: hk, Value: hv}}}
		for _, p := range progs {
			p.Eval(r)
		}
	})
}
