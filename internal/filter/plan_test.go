package filter

import (
	"fmt"
	"testing"
)

// planAttrs, planOps and planConsts build the expressions of the plan
// tests: every attribute the plan reads, every comparison, constants of
// every literal type it takes.
var (
	planAttrs = []string{`value.total`, `value["total"]`, `value.customer.tier`, `value.items`, `value.paid`, `value.note`,
		`headers["ce_type"]`, `headers.tenant`, `ce.type`, `ce["subject"]`, `key`, `partition`, `offset`}
	planOps    = []string{"==", "!=", "<", "<=", ">", ">="}
	planConsts = []string{`1000`, `-1`, `1000u`, `1500.0`, `0.5`, `"OrderCreated"`, `"gold"`, `""`, `true`, `false`, `null`,
		`1e300`, `9223372036854775807`, `18446744073709551615u`, `double("NaN")`}
)

// planValues are record values the plan tests evaluate against.
var planValues = []string{
	`{"total": 1500, "customer": {"tier": "gold"}, "items": [1, 2], "paid": true, "note": "x"}`,
	`{"total": 999.5, "note": "a\"b", "paid": false}`,
	`{"total": "1500"}`,
	`{"total": null, "customer": null}`,
	`{"total": 1e400}`,
	`{"total": -9223372036854775809}`,
	`{"total": 18446744073709551615}`,
	`{"customer": {"tier": "gold\u0021"}}`,
	`{"total": }`,
	`{"total": 1500`,
	`[1, 2]`,
	`1500`,
	`not json`,
	``,
	`{}`,
	`{"total": 12, "total": 13}`,
	`{"total" 12}`,
	`{"a": {"b": [}}, "total": 3}`,
	// Integers read without strconv (smallInt) and the forms it leaves
	// to the general path.
	`{"id":"order-1","total":1500,"region":"EU"}`,
	`{"total": 007}`,
	`{"total": -0}`,
	`{"total": -1001}`,
	`{"total": 999999999999999999}`,
	`{"total": 1000000000000000000}`,
	`{"total": 9223372036854775807}`,
	`{"total": 1500e0}`,
	`{"total": 1500.}`,
	`{"total": 15-00}`,
	`{"total": 15+0}`,
	`{"total": -}`,
	`{"total": 1500x}`,
	`{"note": "a long string with no escape in it, more than 32 bytes", "total": 1001}`,
	`{"note": "a long string with an \"escape\" past the first bytes", "total": 1001}`,
	`{"no\u0074e": "x", "total": 1001}`,
}

// TestPlanMatchesInterpreter evaluates every planned shape with the plan
// and with CEL's interpreter on every value: same answer, same error.
func TestPlanMatchesInterpreter(t *testing.T) {
	exprs := []string{`ce.type == "OrderCreated" && value.total > 1000`, `value.total > 1000 || headers["tenant"] == "acme"`,
		`!(value.paid == true)`, `1000 < value.total`, `"gold" == value.customer.tier`, `value.total > 1000 && value.total < 2000 && key != ""`}
	for _, a := range planAttrs {
		for _, op := range planOps {
			for _, c := range planConsts {
				exprs = append(exprs, fmt.Sprintf("%s %s %s", a, op, c))
			}
		}
	}
	planned := 0
	for _, e := range exprs {
		p, err := Compile(e)
		if err != nil {
			continue // a type error the checker finds (e.g. key > 1000)
		}
		ip, err := CompileInterpreted(e)
		if err != nil {
			t.Fatalf("%s compiles planned but not interpreted: %v", e, err)
		}
		if p.Planned() {
			planned++
		}
		for _, v := range planValues {
			comparePlan(t, e, p, ip, v, "OrderCreated")
		}
	}
	if planned < len(exprs)/2 {
		t.Fatalf("only %d of %d expressions have a plan", planned, len(exprs))
	}
}

// TestPlanShapes checks which expressions get a plan.
func TestPlanShapes(t *testing.T) {
	for e, want := range map[string]bool{
		`value.total > 1000`:                            true,
		`ce.type == "OrderCancelled"`:                   true,
		`headers["region"] == "EU" && !(key == "x")`:    true,
		`value.a.b.c <= 1.5 || partition == 3`:          true,
		`has(value.total)`:                              false,
		`value.total + 1 > 1000`:                        false,
		`key.startsWith("order-")`:                      false,
		`value.items.exists(i, i > 1)`:                  false,
		`raw == b"x"`:                                   false,
		`timestamp > timestamp("2026-01-01T00:00:00Z")`: false,
	} {
		p, err := Compile(e)
		if err != nil {
			t.Fatalf("%s: %v", e, err)
		}
		if p.Planned() != want {
			t.Errorf("%s: Planned() = %v, want %v", e, p.Planned(), want)
		}
	}
}

func comparePlan(t *testing.T, expr string, p, ip *Program, value, ceType string) {
	t.Helper()
	r := rec()
	r.Value = []byte(value)
	r.Headers = append(r.Headers[:0:0], r.Headers...)
	r.Headers[0].Value = []byte(ceType)
	want, wantErr := ip.Eval(r)
	m := p.Matcher()
	for i, eval := range []func(*Record) (bool, error){p.Eval, m.Eval, m.Eval} { // a Matcher twice: state from the last record must not leak
		got, gotErr := eval(r)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Fatalf("%s on value %q, ce_type %q: plan (%v, %v) (evaluation %d), interpreter (%v, %v)", expr, value, ceType, got, gotErr, i, want, wantErr)
		}
		if gotErr != nil && gotErr.Error() != wantErr.Error() {
			t.Fatalf("%s on value %q: plan error %q, interpreter error %q", expr, value, gotErr, wantErr)
		}
	}
}

// FuzzPlan checks plan against interpreter on arbitrary values, header
// values and combinations of planned comparisons.
func FuzzPlan(f *testing.F) {
	for i, v := range planValues {
		f.Add(uint8(i), uint8(i*7), uint8(i*3), uint8(i), []byte(v), "OrderCreated")
	}
	f.Fuzz(func(t *testing.T, a, op, c, join uint8, value []byte, ceType string) {
		leaf := func(a, op, c uint8) string {
			return fmt.Sprintf("%s %s %s", planAttrs[int(a)%len(planAttrs)], planOps[int(op)%len(planOps)], planConsts[int(c)%len(planConsts)])
		}
		e := leaf(a, op, c)
		switch join % 4 {
		case 1:
			e = fmt.Sprintf("%s && %s", e, leaf(c, a, op))
		case 2:
			e = fmt.Sprintf("%s || !(%s)", e, leaf(op, c, a))
		case 3:
			e = "!(" + e + ")"
		}
		p, err := Compile(e)
		if err != nil {
			return
		}
		ip, err := CompileInterpreted(e)
		if err != nil {
			t.Fatalf("%s compiles planned but not interpreted: %v", e, err)
		}
		comparePlan(t, e, p, ip, string(value), ceType)
	})
}

// TestMatcherReuse: one Matcher evaluating records in a row answers as
// Eval does on each, whatever the record before it (planned and
// interpreted expressions, values that error).
func TestMatcherReuse(t *testing.T) {
	for _, e := range []string{`value.total > 1000`, `value.customer.tier == "gold" || value.total == 12`,
		`has(value.total) && key != ""`, `ce.type == "OrderCreated" && value.total >= 1000`} {
		p, err := Compile(e)
		if err != nil {
			t.Fatal(err)
		}
		m := p.Matcher()
		for round := range 2 {
			for _, v := range planValues {
				r := rec()
				r.Value = []byte(v)
				want, wantErr := p.Eval(r)
				got, gotErr := m.Eval(r)
				if got != want || (gotErr == nil) != (wantErr == nil) {
					t.Fatalf("%s on %q (round %d): Matcher (%v, %v), Eval (%v, %v)", e, v, round, got, gotErr, want, wantErr)
				}
			}
		}
	}
}
