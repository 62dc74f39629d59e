package schema

import (
	"strings"
	"testing"
)

type compatCase struct {
	name  string
	typ   Type
	old   []string // oldest first
	next  string
	level Level
	ok    bool
	want  string // a difference type the reasons must name when !ok
}

func runCompat(t *testing.T, cases []compatCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name+"/"+string(tc.level), func(t *testing.T) {
			var old []Compiled
			for i, s := range tc.old {
				c, err := Compile(tc.typ, s, nil)
				if err != nil {
					t.Fatalf("compile old %d: %v", i, err)
				}
				old = append(old, c)
			}
			next, err := Compile(tc.typ, tc.next, nil)
			if err != nil {
				t.Fatalf("compile next: %v", err)
			}
			reasons := Check(tc.level, next, old)
			if tc.ok && len(reasons) > 0 {
				t.Fatalf("want compatible, got %v", reasons)
			}
			if !tc.ok {
				if len(reasons) == 0 {
					t.Fatalf("want incompatible, got compatible")
				}
				if tc.want != "" && !strings.Contains(strings.Join(reasons, " "), tc.want) {
					t.Fatalf("want a %s reason, got %v", tc.want, reasons)
				}
			}
		})
	}
}

// every returns the case for each level with the verdicts given per level.
func every(name string, typ Type, old []string, next string, verdicts map[Level]bool, want string) []compatCase {
	var out []compatCase
	for _, l := range []Level{Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None} {
		ok, set := verdicts[l]
		if !set {
			continue
		}
		out = append(out, compatCase{name: name, typ: typ, old: old, next: next, level: l, ok: ok, want: want})
	}
	return out
}

// levels expands backward/forward verdicts to every level for a single old version.
func levels(backward, forward bool) map[Level]bool {
	return map[Level]bool{
		Backward: backward, BackwardTransitive: backward,
		Forward: forward, ForwardTransitive: forward,
		Full: backward && forward, FullTransitive: backward && forward,
		None: true,
	}
}

const (
	orderV1 = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int"}]}`
	orderOptional = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int"},
		{"name":"coupon","type":["null","string"],"default":null}]}`
	orderRequired = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"currency","type":"string"}]}`
	orderNoAmount = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"}]}`
	orderLong = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"long"}]}`
	orderRenamed = `{"type":"record","name":"OrderPlaced","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int"}]}`
	orderAliased = `{"type":"record","name":"OrderPlaced","namespace":"shop","aliases":["shop.OrderCreated"],"fields":[
		{"name":"id","type":"string"},{"name":"total","aliases":["amount"],"type":"int"}]}`
)

func TestAvroCompatibility(t *testing.T) {
	var cases []compatCase
	cases = append(cases, every("add optional field", Avro, []string{orderV1}, orderOptional, levels(true, true), "")...)
	cases = append(cases, every("add required field", Avro, []string{orderV1}, orderRequired, levels(false, true), "READER_FIELD_MISSING_DEFAULT_VALUE")...)
	cases = append(cases, every("remove required field", Avro, []string{orderV1}, orderNoAmount, levels(true, false), "READER_FIELD_MISSING_DEFAULT_VALUE")...)
	cases = append(cases, every("promote int to long", Avro, []string{orderV1}, orderLong, levels(true, false), "TYPE_MISMATCH")...)
	cases = append(cases, every("rename record", Avro, []string{orderV1}, orderRenamed, levels(false, false), "NAME_MISMATCH")...)
	cases = append(cases, every("rename with aliases", Avro, []string{orderV1}, orderAliased, map[Level]bool{Backward: true}, "")...)
	cases = append(cases, every("change type", Avro, []string{`"string"`}, `"int"`, levels(false, false), "TYPE_MISMATCH")...)
	cases = append(cases, every("string to bytes", Avro, []string{`"string"`}, `"bytes"`, levels(true, true), "")...)
	enum1 := `{"type":"enum","name":"Color","symbols":["RED","GREEN"]}`
	enum2 := `{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE"]}`
	enum2d := `{"type":"enum","name":"Color","symbols":["RED","GREEN","BLUE","UNKNOWN"],"default":"UNKNOWN"}`
	cases = append(cases, every("add enum symbol", Avro, []string{enum1}, enum2, levels(true, false), "MISSING_ENUM_SYMBOLS")...)
	cases = append(cases, every("remove enum symbol, reader default", Avro, []string{enum2d}, `{"type":"enum","name":"Color","symbols":["RED","UNKNOWN"],"default":"UNKNOWN"}`, map[Level]bool{Backward: true, Forward: true}, "")...)
	cases = append(cases, every("widen union", Avro, []string{`["null","string"]`}, `["null","string","int"]`, levels(true, false), "MISSING_UNION_BRANCH")...)
	cases = append(cases, every("type into union", Avro, []string{`"string"`}, `["null","string"]`, levels(true, false), "")...)
	cases = append(cases, every("fixed size", Avro, []string{`{"type":"fixed","name":"F","size":4}`}, `{"type":"fixed","name":"F","size":8}`, levels(false, false), "FIXED_SIZE_MISMATCH")...)
	cases = append(cases, every("array items", Avro, []string{`{"type":"array","items":"int"}`}, `{"type":"array","items":"long"}`, levels(true, false), "")...)
	cases = append(cases, every("map values", Avro, []string{`{"type":"map","values":"string"}`}, `{"type":"map","values":"int"}`, levels(false, false), "TYPE_MISMATCH")...)
	recursive := `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null}]}`
	recursive2 := `{"type":"record","name":"Node","fields":[{"name":"v","type":"int"},{"name":"next","type":["null","Node"],"default":null},{"name":"w","type":"int","default":0}]}`
	cases = append(cases, every("recursive record", Avro, []string{recursive}, recursive2, levels(true, true), "")...)

	// Transitive: v3 reads v2 (which has currency with a default) but not v1.
	v2 := `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"currency","type":"string","default":"EUR"}]}`
	v3 := orderRequired
	cases = append(cases,
		compatCase{name: "transitive", typ: Avro, old: []string{orderV1, v2}, next: v3, level: Backward, ok: true},
		compatCase{name: "transitive", typ: Avro, old: []string{orderV1, v2}, next: v3, level: BackwardTransitive, ok: false, want: "READER_FIELD_MISSING_DEFAULT_VALUE"},
		compatCase{name: "transitive", typ: Avro, old: []string{orderV1, v2}, next: v3, level: Full, ok: true},
		compatCase{name: "transitive", typ: Avro, old: []string{orderV1, v2}, next: v3, level: FullTransitive, ok: false},
		compatCase{name: "transitive", typ: Avro, old: []string{orderV1, v2}, next: v3, level: None, ok: true},
		// Forward transitive: v1 readers cannot read v3' without amount, v2 readers can (amount... no default there either).
		compatCase{name: "forward transitive", typ: Avro, old: []string{orderV1, orderOptional}, next: orderNoAmount, level: Forward, ok: false},
	)
	// Forward transitive proper: v1 {id, amount}, v2 {id, amount default 0}, v3 {id}: v2 readers
	// can read v3 (amount defaults), v1 readers cannot.
	v2def := `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"int","default":0}]}`
	cases = append(cases,
		compatCase{name: "forward transitive", typ: Avro, old: []string{orderV1, v2def}, next: orderNoAmount, level: Forward, ok: true},
		compatCase{name: "forward transitive", typ: Avro, old: []string{orderV1, v2def}, next: orderNoAmount, level: ForwardTransitive, ok: false, want: "READER_FIELD_MISSING_DEFAULT_VALUE"},
	)
	runCompat(t, cases)
}

func TestJSONCompatibility(t *testing.T) {
	open1 := `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"]}`
	openAdd := `{"type":"object","properties":{"id":{"type":"string"},"coupon":{"type":"string"}},"required":["id"]}`
	closed1 := `{"type":"object","properties":{"id":{"type":"string"}},"required":["id"],"additionalProperties":false}`
	closedAdd := `{"type":"object","properties":{"id":{"type":"string"},"coupon":{"type":"string"}},"required":["id"],"additionalProperties":false}`
	closedReq := `{"type":"object","properties":{"id":{"type":"string"},"coupon":{"type":"string"}},"required":["id","coupon"],"additionalProperties":false}`
	var cases []compatCase
	cases = append(cases, every("open model: add property", JSON, []string{open1}, openAdd, levels(false, true), "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL")...)
	cases = append(cases, every("closed model: add optional property", JSON, []string{closed1}, closedAdd, levels(true, false), "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL")...)
	cases = append(cases, every("closed model: add required property", JSON, []string{closed1}, closedReq, levels(false, false), "")...)
	cases = append(cases, every("open to closed", JSON, []string{open1}, closed1, levels(false, true), "ADDITIONAL_PROPERTIES_REMOVED")...)
	cases = append(cases, every("integer to number", JSON, []string{`{"type":"integer"}`}, `{"type":"number"}`, levels(true, false), "TYPE_")...)
	cases = append(cases, every("string to integer", JSON, []string{`{"type":"string"}`}, `{"type":"integer"}`, levels(false, false), "TYPE_CHANGED")...)
	cases = append(cases, every("maxLength decreased", JSON, []string{`{"type":"string","maxLength":10}`}, `{"type":"string","maxLength":5}`, levels(false, true), "MAX_LENGTH_DECREASED")...)
	cases = append(cases, every("minimum added", JSON, []string{`{"type":"number"}`}, `{"type":"number","minimum":0}`, levels(false, true), "MINIMUM_ADDED")...)
	cases = append(cases, every("enum extended", JSON, []string{`{"enum":["a","b"]}`}, `{"enum":["a","b","c"]}`, levels(true, false), "ENUM_ARRAY_NARROWED")...)
	cases = append(cases, every("pattern added", JSON, []string{`{"type":"string"}`}, `{"type":"string","pattern":"^a"}`, levels(false, true), "PATTERN_ADDED")...)
	cases = append(cases, every("oneOf widened", JSON, []string{`{"oneOf":[{"type":"string"},{"type":"integer"}]}`}, `{"oneOf":[{"type":"string"},{"type":"integer"},{"type":"boolean"}]}`, levels(true, false), "COMBINED_TYPE_SUBSCHEMAS_CHANGED")...)
	cases = append(cases, every("nested property type", JSON,
		[]string{`{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"integer"}}}}}`},
		`{"type":"object","properties":{"a":{"type":"object","properties":{"b":{"type":"string"}}}}}`, levels(false, false), "TYPE_CHANGED")...)
	cases = append(cases, every("array items", JSON, []string{`{"type":"array","items":{"type":"integer"}}`}, `{"type":"array","items":{"type":"number"}}`, levels(true, false), "")...)
	cases = append(cases, every("local ref", JSON,
		[]string{`{"definitions":{"id":{"type":"integer"}},"type":"object","properties":{"id":{"$ref":"#/definitions/id"}}}`},
		`{"definitions":{"id":{"type":"string"}},"type":"object","properties":{"id":{"$ref":"#/definitions/id"}}}`, levels(false, false), "TYPE_CHANGED")...)
	cases = append(cases, every("identical", JSON, []string{open1}, open1, levels(true, true), "")...)
	// Transitive: the latest version allows b, the first did not.
	cases = append(cases,
		compatCase{name: "transitive", typ: JSON, old: []string{`{"type":"string","maxLength":3}`, `{"type":"string","maxLength":10}`}, next: `{"type":"string","maxLength":5}`, level: Forward, ok: true},
		compatCase{name: "transitive", typ: JSON, old: []string{`{"type":"string","maxLength":3}`, `{"type":"string","maxLength":10}`}, next: `{"type":"string","maxLength":5}`, level: ForwardTransitive, ok: false, want: "MAX_LENGTH_DECREASED"},
		compatCase{name: "transitive", typ: JSON, old: []string{`{"type":"string","maxLength":3}`, `{"type":"string","maxLength":10}`}, next: `{"type":"string","maxLength":5}`, level: Backward, ok: false},
		compatCase{name: "transitive", typ: JSON, old: []string{`{"type":"string","maxLength":10}`, `{"type":"string","maxLength":3}`}, next: `{"type":"string","maxLength":5}`, level: Backward, ok: true},
		compatCase{name: "transitive", typ: JSON, old: []string{`{"type":"string","maxLength":10}`, `{"type":"string","maxLength":3}`}, next: `{"type":"string","maxLength":5}`, level: BackwardTransitive, ok: false, want: "MAX_LENGTH_DECREASED"},
	)
	runCompat(t, cases)
}

func TestProtobufCompatibility(t *testing.T) {
	base := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; int32 amount = 2; }`
	added := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; int32 amount = 2; string coupon = 3; }`
	removedField := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; }`
	twoMsgs := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; int32 amount = 2; }
message OrderShipped { string id = 1; }`
	int64Amount := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; int64 amount = 2; }`
	strAmount := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; string amount = 2; }`
	msgAmount := `syntax = "proto3"; package shop;
message Money { int64 units = 1; }
message OrderCreated { string id = 1; Money amount = 2; }`
	renamedPkg := `syntax = "proto3"; package store;
message OrderCreated { string id = 1; int32 amount = 2; }`
	oneofBase := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; oneof pay { string card = 2; string iban = 3; } }`
	oneofRemoved := `syntax = "proto3"; package shop;
message OrderCreated { string id = 1; oneof pay { string card = 2; } }`
	movedInto := `syntax = "proto3"; package shop;
message OrderCreated { oneof key { string id = 1; int32 amount = 2; } }`
	proto2 := `syntax = "proto2"; package shop;
message OrderCreated { required string id = 1; }`
	proto2Req := `syntax = "proto2"; package shop;
message OrderCreated { required string id = 1; required int32 amount = 2; }`
	var cases []compatCase
	cases = append(cases, every("add field", Protobuf, []string{base}, added, levels(true, true), "")...)
	cases = append(cases, every("remove field", Protobuf, []string{base}, removedField, levels(true, true), "")...)
	cases = append(cases, every("add message", Protobuf, []string{base}, twoMsgs, levels(true, false), "MESSAGE_REMOVED")...)
	cases = append(cases, every("int32 to int64", Protobuf, []string{base}, int64Amount, levels(true, true), "")...)
	cases = append(cases, every("int32 to string", Protobuf, []string{base}, strAmount, levels(false, false), "FIELD_SCALAR_KIND_CHANGED")...)
	cases = append(cases, every("scalar to message", Protobuf, []string{base}, msgAmount, levels(false, false), "FIELD_KIND_CHANGED")...)
	cases = append(cases, every("package renamed", Protobuf, []string{base}, renamedPkg, levels(true, true), "")...)
	cases = append(cases, every("oneof field removed", Protobuf, []string{oneofBase}, oneofRemoved, levels(false, true), "ONEOF_FIELD_REMOVED")...)
	cases = append(cases, every("fields moved into oneof", Protobuf, []string{base}, movedInto, map[Level]bool{Backward: false}, "MULTIPLE_FIELDS_MOVED_TO_ONEOF")...)
	cases = append(cases, every("required field added", Protobuf, []string{proto2}, proto2Req, levels(false, false), "REQUIRED_FIELD")...)
	cases = append(cases,
		compatCase{name: "transitive", typ: Protobuf, old: []string{base, twoMsgs}, next: base, level: Backward, ok: false, want: "MESSAGE_REMOVED"},
		compatCase{name: "transitive", typ: Protobuf, old: []string{twoMsgs, base}, next: added, level: Backward, ok: true},
		compatCase{name: "transitive", typ: Protobuf, old: []string{twoMsgs, base}, next: added, level: BackwardTransitive, ok: false, want: "MESSAGE_REMOVED"},
	)
	runCompat(t, cases)
}

func TestCheckTypeChange(t *testing.T) {
	a, err := Compile(Avro, `"string"`, nil)
	if err != nil {
		t.Fatal(err)
	}
	j, err := Compile(JSON, `{"type":"string"}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := Check(Backward, j, []Compiled{a}); len(r) == 0 {
		t.Fatal("a JSON schema after an Avro one must be incompatible")
	}
	if r := Check(None, j, []Compiled{a}); len(r) != 0 {
		t.Fatalf("NONE checks nothing, got %v", r)
	}
}

func TestParseLevel(t *testing.T) {
	for _, s := range []string{"backward", "BACKWARD_TRANSITIVE", "Forward", "FORWARD_TRANSITIVE", "FULL", "full_transitive", "NONE"} {
		if _, err := ParseLevel(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	if _, err := ParseLevel("SIDEWAYS"); err == nil || !strings.Contains(err.Error(), "BACKWARD") {
		t.Fatalf("want an error listing the levels, got %v", err)
	}
	if typ, err := ParseType(""); err != nil || typ != Avro {
		t.Fatalf("empty schemaType is AVRO, got %v %v", typ, err)
	}
	if _, err := ParseType("XML"); err == nil {
		t.Fatal("XML is not a schema type")
	}
}
