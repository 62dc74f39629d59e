package schema

import (
	"testing"

	"github.com/hamba/avro/v2"

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

// FuzzAvroValidate cross-checks the allocation-free Avro validator with
// hamba's decoder: whatever the validator accepts must decode, consuming
// every byte.
func FuzzAvroValidate(f *testing.F) {
	const text = `{"type":"record","name":"R","fields":[
		{"name":"a","type":"int"},{"name":"b","type":["null","string"]},
		{"name":"c","type":{"type":"enum","name":"E","symbols":["X","Y"]}},
		{"name":"d","type":{"type":"array","items":"long"}},
		{"name":"e","type":{"type":"map","values":"boolean"}},
		{"name":"f","type":{"type":"fixed","name":"F","size":2}},{"name":"g","type":"double"}]}`
	s := avro.MustParse(text)
	good, err := avro.Marshal(s, map[string]any{"a": 1, "b": "x", "c": "Y", "d": []int64{1, 2}, "e": map[string]bool{"k": true}, "f": [2]byte{1, 2}, "g": 1.5})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(append([]byte{}, good...), 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		if validateAvro(s, b) != nil {
			return
		}
		r := avro.NewReader(nil, 0).Reset(b)
		var v any
		r.ReadVal(s, &v)
		if r.Error != nil {
			t.Fatalf("validator accepted %x, decoder says %v", b, r.Error)
		}
		r.Peek()
		if r.Error == nil {
			t.Fatalf("validator accepted %x with bytes left for the decoder", b)
		}
	})
}
