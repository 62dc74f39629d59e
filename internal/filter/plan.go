package filter

import (
	"math"
	"strconv"

	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/operators"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"
	"cel.dev/cel-go/common/types/traits"
)

// A plan evaluates the common shape of filter — comparisons of one record
// attribute with a constant (`value.total > 1000`, `ce.type ==
// "OrderCancelled"`, `headers["region"] == "EU"`, `key != ""`), joined by
// &&, || and ! — without CEL's interpreter: no execution frame, no
// attribute machinery, no boxing of the record's values. It is an
// optimization only, and it gives exactly CEL's answer: each comparison is
// made by CEL's own value types (types.Int.Compare, types.String.Equal, …)
// on the unboxed attribute, and && / || / ! absorb errors as CEL's do. A
// result that is an error is re-evaluated by the interpreter, so the error
// counted and reported is CEL's own. FuzzPlan checks plan against
// interpreter on arbitrary expressions and records.
//
// Expressions of any other shape (functions, macros, arithmetic, lists,
// timestamps) have no plan and run in the interpreter.

// tri is a plan's outcome: false, true, or an evaluation error.
type tri uint8

const (
	triFalse tri = iota
	triTrue
	triErr
)

// pnode is one node of a plan.
type pnode interface {
	eval(c *planCtx) tri
}

// planCtx is what a plan evaluates against: the record, and the value as
// a lazily read JSON object when it is one (reused, so nothing allocates).
type planCtx struct {
	r        *Record
	obj      jsonObject
	valueSet bool
	value    ref.Val
}

func (c *planCtx) reset(r *Record) {
	c.r, c.valueSet, c.value, c.obj = r, false, nil, jsonObject{}
}

// valueVal is the `value` variable, exactly as the activation computes it.
func (c *planCtx) valueVal() ref.Val {
	if !c.valueSet {
		if b := trimSpace(c.r.Value); len(b) >= 2 && b[0] == '{' && b[len(b)-1] == '}' {
			c.obj = jsonObject{raw: b}
			c.value = &c.obj
		} else {
			c.value = jsonValue(c.r.Value)
		}
		c.valueSet = true
	}
	return c.value
}

type andNode struct{ args []pnode }

func (n *andNode) eval(c *planCtx) tri {
	out := triTrue
	for _, a := range n.args {
		switch a.eval(c) {
		case triFalse:
			return triFalse // false && error is false, in either order
		case triErr:
			out = triErr
		}
	}
	return out
}

type orNode struct{ args []pnode }

func (n *orNode) eval(c *planCtx) tri {
	out := triFalse
	for _, a := range n.args {
		switch a.eval(c) {
		case triTrue:
			return triTrue // true || error is true, in either order
		case triErr:
			out = triErr
		}
	}
	return out
}

type notNode struct{ x pnode }

func (n *notNode) eval(c *planCtx) tri {
	switch n.x.eval(c) {
	case triTrue:
		return triFalse
	case triFalse:
		return triTrue
	}
	return triErr
}

// attr names the record attribute a comparison reads.
type attrKind uint8

const (
	attrValue     attrKind = iota // value, then path
	attrHeader                    // headers[name]
	attrCE                        // ce[name] (header "ce_" + name)
	attrKey                       // key
	attrPartition                 // partition
	attrOffset                    // offset
)

// cmpNode compares an attribute with a constant: attr op c.
type cmpNode struct {
	attr attrKind
	path []ref.Val // attrValue: the member names, as types.String
	name string    // attrHeader, attrCE: the map key
	op   string    // operators.Equals, NotEquals, Less, LessEquals, Greater, GreaterEquals
	c    ref.Val
	// intC: c is an int, cInt; an int member is then compared with it
	// without building CEL values (cmpInt).
	intC bool
	cInt int64
}

// cmpInt is apply for an int x and an int constant, on plain int64s: CEL
// compares two ints as Go does.
func (n *cmpNode) cmpInt(x int64) tri {
	var ok bool
	switch n.op {
	case operators.Equals:
		ok = x == n.cInt
	case operators.NotEquals:
		ok = x != n.cInt
	case operators.Less:
		ok = x < n.cInt
	case operators.LessEquals:
		ok = x <= n.cInt
	case operators.Greater:
		ok = x > n.cInt
	case operators.GreaterEquals:
		ok = x >= n.cInt
	default:
		return apply(n, types.Int(x))
	}
	if ok {
		return triTrue
	}
	return triFalse
}

// smallInt reads the JSON number at raw[0] when it is an integer of at
// most 18 digits (so it fits an int64): the common case, read without
// strconv. ok is false for anything else (a fraction, an exponent, a
// longer number, a malformed one), which applyJSON then reads as before.
func smallInt(raw []byte) (v int64, ok bool) {
	i, neg := 0, false
	if raw[0] == '-' {
		i, neg = 1, true
	}
	start := i
	for ; i < len(raw) && i-start <= 18; i++ {
		c := raw[i]
		if c < '0' || c > '9' {
			break
		}
		v = v*10 + int64(c-'0')
	}
	if n := i - start; n == 0 || n > 18 {
		return 0, false
	}
	if i < len(raw) {
		// Where scanNumber would not stop: not a plain integer.
		switch raw[i] {
		case '.', 'e', 'E', '+', '-':
			return 0, false
		}
	}
	if neg {
		v = -v
	}
	return v, true
}

func (n *cmpNode) eval(c *planCtx) tri {
	r := c.r
	switch n.attr {
	case attrKey:
		return apply(n, types.String(bytesString(r.Key)))
	case attrPartition:
		return apply(n, types.Int(r.Partition))
	case attrOffset:
		return apply(n, types.Int(r.Offset))
	case attrHeader, attrCE:
		h := headerMap{r: r}
		if n.attr == attrCE {
			h.prefix = "ce_"
		}
		v, found := h.find(n.name)
		if !found {
			return triErr // no such key
		}
		return apply(n, types.String(bytesString(v)))
	}
	// value.a.b: select through maps exactly as CEL's qualifiers do.
	v := c.valueVal()
	for i, k := range n.path {
		if o, ok := v.(*jsonObject); ok && i == len(n.path)-1 {
			// The last member, read without boxing when a scalar.
			raw, found, err := o.memberRaw(string(k.(types.String)))
			if err != nil || !found {
				return triErr
			}
			return n.applyJSON(raw)
		}
		m, ok := v.(traits.Mapper)
		if !ok {
			return triErr
		}
		x, found := m.Find(k)
		if !found || types.IsError(x) {
			return triErr
		}
		v = x
	}
	return n.applyRef(v)
}

// applyJSON compares the JSON value raw (a member, trimmed) with the
// constant, decoding scalars without allocating.
func (n *cmpNode) applyJSON(raw []byte) tri {
	switch c := raw[0]; {
	case c == '"':
		end, esc, err := skipString(raw)
		if err != nil {
			return triErr
		}
		if !esc {
			return apply(n, types.String(bytesString(raw[1:end-1])))
		}
	case c == 't' && len(raw) >= 4 && string(raw[:4]) == "true":
		return apply(n, types.True)
	case c == 'f' && len(raw) >= 5 && string(raw[:5]) == "false":
		return apply(n, types.False)
	case c == '-' || c >= '0' && c <= '9':
		if n.intC {
			if x, ok := smallInt(raw); ok {
				return n.cmpInt(x)
			}
		}
		end, isInt := scanNumber(raw)
		s := bytesString(raw[:end])
		if isInt {
			if i, err := strconv.ParseInt(s, 10, 64); err == nil {
				return apply(n, types.Int(i))
			}
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return triErr
		}
		return applyDouble(n, types.Double(f))
	}
	v, _, err := jsonAt(raw)
	if err != nil {
		return triErr
	}
	return n.applyRef(v)
}

// scalar is a CEL value type that compares and orders itself.
type scalar interface {
	types.Int | types.Double | types.String | types.Bool
	ref.Val
	traits.Comparer
}

// apply compares x with the constant. x is a concrete CEL value (not an
// interface), so comparing does not box the record's value.
func apply[T scalar](n *cmpNode, x T) tri {
	switch n.op {
	case operators.Equals, operators.NotEquals:
		var eq ref.Val
		if n.c == types.NullValue {
			eq = types.False // types.Equal: only null equals null
		} else {
			eq = x.Equal(n.c)
		}
		return eqResult(eq, n.op == operators.NotEquals)
	}
	if isNaN(n.c) {
		return triFalse
	}
	return ordResult(x.Compare(n.c), n.op)
}

// applyDouble is apply for a double, which is not ordered when NaN.
func applyDouble(n *cmpNode, x types.Double) tri {
	if math.IsNaN(float64(x)) && n.op != operators.Equals && n.op != operators.NotEquals {
		return triFalse
	}
	return apply(n, x)
}

// applyRef compares a boxed value with the constant, as CEL's == and
// ordering overloads do.
func (n *cmpNode) applyRef(v ref.Val) tri {
	if types.IsError(v) {
		return triErr
	}
	switch n.op {
	case operators.Equals, operators.NotEquals:
		return eqResult(types.Equal(v, n.c), n.op == operators.NotEquals)
	}
	if isNaN(v) || isNaN(n.c) {
		return triFalse
	}
	cmp, ok := v.(traits.Comparer)
	if !ok {
		return triErr // no such overload
	}
	return ordResult(cmp.Compare(n.c), n.op)
}

func eqResult(eq ref.Val, negate bool) tri {
	b, ok := eq.(types.Bool)
	if !ok {
		return triErr
	}
	if bool(b) != negate {
		return triTrue
	}
	return triFalse
}

func ordResult(cmp ref.Val, op string) tri {
	var sign int
	switch cmp {
	case types.IntNegOne:
		sign = -1
	case types.IntZero:
		sign = 0
	case types.IntOne:
		sign = 1
	default:
		return triErr
	}
	var ok bool
	switch op {
	case operators.Less:
		ok = sign < 0
	case operators.LessEquals:
		ok = sign <= 0
	case operators.Greater:
		ok = sign > 0
	case operators.GreaterEquals:
		ok = sign >= 0
	}
	if ok {
		return triTrue
	}
	return triFalse
}

func isNaN(v ref.Val) bool {
	d, ok := v.(types.Double)
	return ok && math.IsNaN(float64(d))
}

// flipped is the operator that gives the same answer with its operands
// swapped (c < x is x > c).
var flipped = map[string]string{
	operators.Equals: operators.Equals, operators.NotEquals: operators.NotEquals,
	operators.Less: operators.Greater, operators.LessEquals: operators.GreaterEquals,
	operators.Greater: operators.Less, operators.GreaterEquals: operators.LessEquals,
}

// planOf returns the plan of a checked expression, or nil when it has a
// shape the plan does not cover.
func planOf(e ast.Expr) pnode {
	if e.Kind() != ast.CallKind {
		return nil
	}
	call := e.AsCall()
	args := call.Args()
	switch fn := call.FunctionName(); fn {
	case operators.LogicalAnd, operators.LogicalOr:
		var nodes []pnode
		for _, a := range args {
			n := planOf(a)
			if n == nil {
				return nil
			}
			nodes = append(nodes, n)
		}
		if fn == operators.LogicalAnd {
			return &andNode{args: nodes}
		}
		return &orNode{args: nodes}
	case operators.LogicalNot:
		if len(args) != 1 {
			return nil
		}
		if x := planOf(args[0]); x != nil {
			return &notNode{x: x}
		}
		return nil
	}
	op, ok := flipped[call.FunctionName()]
	if !ok || call.IsMemberFunction() || len(args) != 2 {
		return nil
	}
	if n := cmpOf(args[0], args[1], call.FunctionName()); n != nil {
		return n
	}
	if n := cmpOf(args[1], args[0], op); n != nil {
		return n
	}
	return nil // not a typed nil *cmpNode
}

// cmpOf plans `a op lit`, or returns nil.
func cmpOf(a, lit ast.Expr, op string) *cmpNode {
	if lit.Kind() != ast.LiteralKind {
		return nil
	}
	c := lit.AsLiteral()
	switch c.(type) {
	case types.Int, types.Uint, types.Double, types.String, types.Bool, types.Null:
	default:
		return nil // bytes and other literals: the interpreter
	}
	n := &cmpNode{op: op, c: c}
	if ci, ok := c.(types.Int); ok {
		n.intC, n.cInt = true, int64(ci)
	}
	if !attrOf(a, n) {
		return nil
	}
	return n
}

// attrOf fills n's attribute from a, or reports that a is not one.
func attrOf(a ast.Expr, n *cmpNode) bool {
	switch a.Kind() {
	case ast.IdentKind:
		switch a.AsIdent() {
		case "key":
			n.attr = attrKey
		case "partition":
			n.attr = attrPartition
		case "offset":
			n.attr = attrOffset
		default:
			return false
		}
		return true
	case ast.SelectKind:
		s := a.AsSelect()
		if s.IsTestOnly() {
			return false
		}
		return member(s.Operand(), s.FieldName(), n)
	case ast.CallKind:
		call := a.AsCall()
		if call.FunctionName() != operators.Index || len(call.Args()) != 2 {
			return false
		}
		k := call.Args()[1]
		if k.Kind() != ast.LiteralKind {
			return false
		}
		name, ok := k.AsLiteral().(types.String)
		if !ok {
			return false
		}
		return member(call.Args()[0], string(name), n)
	}
	return false
}

// member fills n with operand.name (or operand["name"]).
func member(operand ast.Expr, name string, n *cmpNode) bool {
	if operand.Kind() == ast.IdentKind {
		switch operand.AsIdent() {
		case "headers":
			n.attr, n.name = attrHeader, name
			return true
		case "ce":
			n.attr, n.name = attrCE, name
			return true
		case "value":
			n.attr, n.path = attrValue, []ref.Val{types.String(name)}
			return true
		}
		return false
	}
	// A deeper value path: value.a.b, value["a"].b.
	if !attrOf(operand, n) || n.attr != attrValue {
		return false
	}
	n.path = append(n.path, types.String(name))
	return true
}
