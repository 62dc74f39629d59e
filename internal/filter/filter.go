// Package filter compiles and evaluates the CEL expressions that select
// records for views, filtered subscriptions and `eddy consume --filter`.
//
// An expression is compiled once ([Compile]) against these variables:
//
//	key        string     the record key ("" for a null key)
//	value      dyn        the value parsed as JSON, or null when it is not JSON
//	raw        bytes      the value as stored
//	headers    map(string, string)  record headers, the last value of a key wins
//	timestamp  timestamp  the record timestamp
//	partition  int
//	offset     int
//	ce         map(string, string)  CloudEvents attributes of binary-mode
//	                                 records: ce.type is header ce_type, …
//
// It must return a bool, and its estimated worst-case cost must stay within
// [MaxEstimatedCost]; evaluation stops at [MaxRuntimeCost] (tracked only for
// expressions whose estimate exceeds it). A record whose
// evaluation fails (a missing field, a type mismatch, the runtime cost limit)
// does not match; [Program.Errors] counts those.
//
// A [Program] is safe for concurrent use. Evaluation resolves only the
// variables the expression references, lazily: a filter on headers never
// reads or parses the value. Each evaluation reuses a pooled activation, so
// the only per-record allocations are CEL's own and the JSON value's.
//
//	p, err := filter.Compile(`value.total > 1000`)
//	if err != nil { … } // *filter.CompileError names line and column
//	ok := p.Match(&filter.Record{Key: k, Value: v, Partition: 0, Offset: 42})
package filter

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/ast"
	"cel.dev/cel-go/common/cost"
	"cel.dev/cel-go/common/types"
)

// Cost limits of one expression, in CEL cost units (roughly one per
// operation, one per 10 bytes a string function reads).
const (
	// MaxEstimatedCost bounds the worst-case cost the checker estimates,
	// assuming values, keys and headers up to [maxSizeHint] bytes.
	// Expressions estimated above it are refused at compile time.
	MaxEstimatedCost = 100_000_000
	// MaxRuntimeCost stops one evaluation that runs past it; the record
	// then does not match and the error is counted.
	MaxRuntimeCost = 1_000_000
	// MaxExpressionLen bounds the expression text.
	MaxExpressionLen = 4096
)

// maxSizeHint is the largest key, value or header the cost estimate
// assumes: a record no bigger than the default max.message.bytes.
const maxSizeHint = 1 << 20

// Variables the expression may reference; a Program's uses is a set of them.
const (
	useKey uint16 = 1 << iota
	useValue
	useRaw
	useHeaders
	useTimestamp
	usePartition
	useOffset
	useCE
)

var varNames = map[string]uint16{
	"key": useKey, "value": useValue, "raw": useRaw, "headers": useHeaders,
	"timestamp": useTimestamp, "partition": usePartition, "offset": useOffset, "ce": useCE,
}

// CompileError is returned by [Compile] for an expression that does not
// parse, does not type-check, does not return a bool or costs too much.
// Line and Column are 1-based (0 when the problem is the whole expression).
type CompileError struct {
	Expr    string
	Line    int
	Column  int
	Message string
}

func (e *CompileError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("filter %q: line %d, column %d: %s", e.Expr, e.Line, e.Column, e.Message)
	}
	return fmt.Sprintf("filter %q: %s", e.Expr, e.Message)
}

// ErrEmpty is returned by [Compile] for an empty expression.
var ErrEmpty = errors.New("filter expression is empty")

var (
	envOnce sync.Once
	envVal  *cel.Env
	envErr  error
)

func env() (*cel.Env, error) {
	envOnce.Do(func() {
		envVal, envErr = cel.NewEnv(
			cel.Variable("key", cel.StringType),
			cel.Variable("value", cel.DynType),
			cel.Variable("raw", cel.BytesType),
			cel.Variable("headers", cel.MapType(cel.StringType, cel.StringType)),
			cel.Variable("timestamp", cel.TimestampType),
			cel.Variable("partition", cel.IntType),
			cel.Variable("offset", cel.IntType),
			cel.Variable("ce", cel.MapType(cel.StringType, cel.StringType)),
		)
	})
	return envVal, envErr
}

// Program is a compiled filter. It is safe for concurrent use.
type Program struct {
	expr   string
	prg    cel.Program
	uses   uint16
	cost   uint64 // estimated worst-case cost
	errs   atomic.Uint64
	evals  sync.Pool // *activation
	errMu  sync.Mutex
	lastEr error
	// plan evaluates the expression natively when it has a simple shape
	// (plan.go); nil otherwise.
	plan    pnode
	checked *ast.AST
}

// Compile parses, checks and plans expr. Errors are [*CompileError] (or
// [ErrEmpty]). Comparisons of record attributes with constants, joined by
// &&, || and !, are evaluated natively with CEL's semantics (plan.go);
// everything else runs in CEL's interpreter.
func Compile(expr string) (*Program, error) {
	p, err := CompileInterpreted(expr)
	if err != nil {
		return nil, err
	}
	if a := p.checked; a != nil {
		p.plan = planOf(a.Expr())
	}
	return p, nil
}

// Planned reports whether the program has a native plan (see Compile).
func (p *Program) Planned() bool { return p.plan != nil }

// CompileInterpreted is Compile without the native plan: every evaluation
// runs in CEL's interpreter. It exists to compare the two.
func CompileInterpreted(expr string) (*Program, error) {
	if strings.TrimSpace(expr) == "" {
		return nil, ErrEmpty
	}
	if len(expr) > MaxExpressionLen {
		return nil, &CompileError{Expr: expr[:64] + "…", Message: fmt.Sprintf("expression is %d bytes, over the limit of %d", len(expr), MaxExpressionLen)}
	}
	e, err := env()
	if err != nil {
		return nil, fmt.Errorf("cel environment: %w", err)
	}
	checked, iss := e.Compile(expr)
	if iss != nil && iss.Err() != nil {
		ce := &CompileError{Expr: expr, Message: iss.Err().Error()}
		if errs := iss.Errors(); len(errs) > 0 {
			ce.Message = errs[0].Message
			ce.Line = errs[0].Location.Line()
			ce.Column = errs[0].Location.Column() + 1
		}
		return nil, ce
	}
	if !checked.OutputType().IsExactType(cel.BoolType) {
		return nil, &CompileError{Expr: expr, Line: 1, Column: 1,
			Message: fmt.Sprintf("expression returns %s, want bool (compare it, e.g. `%s == true`)", checked.OutputType(), expr)}
	}
	est, err := e.EstimateCost(checked, sizeHints{})
	if err != nil {
		return nil, &CompileError{Expr: expr, Message: fmt.Sprintf("estimate cost: %v", err)}
	}
	if est.Max > MaxEstimatedCost {
		return nil, &CompileError{Expr: expr, Line: 1, Column: 1,
			Message: fmt.Sprintf("estimated cost %s is over the limit of %d (nested loops over values or headers?)", costString(est.Max), MaxEstimatedCost)}
	}
	// Runtime cost tracking costs an allocation and bookkeeping per
	// evaluation; an expression whose worst case the checker bounds
	// below the limit cannot reach it, so it runs without.
	opts := []cel.ProgramOption{cel.EvalOptions(cel.OptOptimize)}
	if est.Max > MaxRuntimeCost {
		opts = append(opts, cel.CostLimit(MaxRuntimeCost))
	}
	prg, err := e.Program(checked, opts...)
	if err != nil {
		return nil, &CompileError{Expr: expr, Message: fmt.Sprintf("plan: %v", err)}
	}
	p := &Program{expr: expr, prg: prg, uses: references(checked.NativeRep()), cost: est.Max, checked: checked.NativeRep()}
	p.evals.New = func() any { return &activation{p: p} }
	return p, nil
}

func costString(c uint64) string {
	if c == ^uint64(0) {
		return "unbounded"
	}
	return fmt.Sprint(c)
}

// references returns the set of variables the checked expression refers to.
func references(a *ast.AST) uint16 {
	var u uint16
	for _, r := range a.ReferenceMap() {
		if r == nil {
			continue
		}
		u |= varNames[r.Name]
	}
	return u
}

// String returns the expression text.
func (p *Program) String() string { return p.expr }

// EstimatedCost returns the checker's worst-case cost estimate.
func (p *Program) EstimatedCost() uint64 { return p.cost }

// UsesValue reports whether the expression reads the record value (value or
// raw); a filter that does not never needs it decompressed or parsed.
func (p *Program) UsesValue() bool { return p.uses&(useValue|useRaw) != 0 }

// UsesHeaders reports whether the expression reads headers (or ce).
func (p *Program) UsesHeaders() bool { return p.uses&(useHeaders|useCE) != 0 }

// Errors returns how many evaluations have failed since Compile.
func (p *Program) Errors() uint64 { return p.errs.Load() }

// LastError returns the most recent evaluation error, or nil.
func (p *Program) LastError() error {
	p.errMu.Lock()
	defer p.errMu.Unlock()
	return p.lastEr
}

// Match evaluates the program on r. A failing evaluation returns false and
// is counted; [Program.Eval] returns the error. r's byte slices must stay
// unchanged during the call; nothing of r is kept after it.
func (p *Program) Match(r *Record) bool {
	ok, _ := p.Eval(r)
	return ok
}

// Eval evaluates the program on r and returns the evaluation error, if any
// (the record then does not match; the error is counted).
func (p *Program) Eval(r *Record) (bool, error) {
	a := p.evals.Get().(*activation)
	ok, err := p.eval(a, r)
	a.plan.reset(nil) // the pool keeps nothing of r
	a.reset(nil)
	p.evals.Put(a)
	return ok, err
}

// eval is Eval with the activation a. a may still refer to r after it.
func (p *Program) eval(a *activation, r *Record) (bool, error) {
	if p.plan != nil {
		a.plan.reset(r)
		res := p.plan.eval(&a.plan)
		if res != triErr {
			return res == triTrue, nil
		}
		// An error: the interpreter evaluates it again, so the error
		// counted and reported is CEL's own.
	}
	a.reset(r)
	out, _, err := p.prg.Eval(a)
	if err == nil {
		if b, ok := out.(types.Bool); ok {
			return bool(b), nil
		}
		err = fmt.Errorf("filter returned %s, want bool", out.Type().TypeName())
	}
	p.errs.Add(1)
	err = fmt.Errorf("evaluate filter at partition %d offset %d: %w", r.Partition, r.Offset, err)
	p.errMu.Lock()
	p.lastEr = err
	p.errMu.Unlock()
	return false, err
}

// Matcher evaluates one Program for one goroutine at a time: it keeps its
// own evaluation state, where Match and Eval take one from the Program's
// pool on each call. Scans that evaluate many records in a row use one.
// It may refer to the last record evaluated until the next evaluation.
type Matcher struct {
	p *Program
	a activation
}

// Matcher returns a new Matcher of p.
func (p *Program) Matcher() *Matcher {
	m := &Matcher{p: p}
	m.a.p = p
	return m
}

// Program returns the program m evaluates.
func (m *Matcher) Program() *Program { return m.p }

// Match is [Program.Match].
func (m *Matcher) Match(r *Record) bool {
	ok, _ := m.p.eval(&m.a, r)
	return ok
}

// Eval is [Program.Eval].
func (m *Matcher) Eval(r *Record) (bool, error) { return m.p.eval(&m.a, r) }

// sizeHints tells the cost estimator how big the variables can be.
type sizeHints struct{}

func (sizeHints) EstimateSize(n cost.AstNode) *cost.SizeEstimate {
	if len(n.Path()) == 0 {
		return nil
	}
	s := cost.SizeEstimate{Min: 0, Max: maxSizeHint}
	return &s
}

func (sizeHints) EstimateCallCost(function, overloadID string, target *cost.AstNode, args []cost.AstNode) *cost.CallEstimate {
	return nil
}
