package schema

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
)

func protoreflectString(s string) protoreflect.Value { return protoreflect.ValueOfString(s) }

func FuzzParseWire(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{0})
	f.Add([]byte{0, 0, 0, 0, 1})
	f.Add([]byte{0, 0, 0, 0, 1, 0, 2, 2, 4})
	f.Add([]byte{0, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f})
	f.Add([]byte{1, 2, 3, 4, 5, 6})
	f.Fuzz(func(t *testing.T, b []byte) {
		id, data, err := ParseWire(b)
		if err != nil {
			return
		}
		if len(data) != len(b)-5 || AppendWire(nil, id)[4] != b[4] {
			t.Fatalf("header misparsed: id %d, %d data bytes of %d", id, len(data), len(b))
		}
		idx, rest, err := ParseIndexes(data)
		if err != nil {
			return
		}
		if len(rest) > len(data) || len(idx) == 0 || len(idx) > maxIndexes {
			t.Fatalf("indexes %v rest %d of %d", idx, len(rest), len(data))
		}
	})
}

func FuzzCompile(f *testing.F) {
	f.Add("AVRO", orderOptional)
	f.Add("AVRO", `["null",{"type":"enum","name":"E","symbols":["A"]}]`)
	f.Add("AVRO", `{"type":"record","name":"Node","fields":[{"name":"next","type":["null","Node"]}]}`)
	f.Add("JSON", `{"type":"object","properties":{"a":{"$ref":"#/definitions/x"}},"definitions":{"x":{"type":"integer"}}}`)
	f.Add("JSON", `{"$ref":"#"}`)
	f.Add("JSON", `{"oneOf":[{"type":"string"},{"allOf":[{"type":"integer"}]}]}`)
	f.Add("PROTOBUF", `syntax = "proto3"; message A { string a = 1; oneof o { int32 b = 2; } map<string,int32> m = 3; }`)
	f.Add("PROTOBUF", `CgtzY2hlbWEucHJvdG8=`)
	f.Add("AVRO", ``)
	seeds := map[Type]Compiled{}
	for typ, text := range map[Type]string{Avro: orderV1, JSON: `{"type":"object","properties":{"a":{"type":"string"}}}`, Protobuf: `syntax = "proto3"; message A { string a = 1; }`} {
		c, err := Compile(typ, text, nil)
		if err != nil {
			f.Fatal(err)
		}
		seeds[typ] = c
	}
	f.Fuzz(func(t *testing.T, typ, text string) {
		ty, err := ParseType(typ)
		if err != nil {
			return
		}
		c, err := Compile(ty, text, nil)
		if err != nil {
			return
		}
		// A schema that compiles can be checked both ways and validated
		// against without panicking.
		for _, l := range []Level{Full} {
			Check(l, c, []Compiled{seeds[ty]})
			if r := Check(l, c, []Compiled{c}); len(r) > 0 {
				t.Fatalf("a schema is incompatible with itself: %v", r)
			}
		}
		_ = c.Validate([]byte(text), nil)
		_ = c.Validate(nil, nil)
	})
}
