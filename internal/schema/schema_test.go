package schema

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/types/dynamicpb"
)

func mustCompile(t testing.TB, typ Type, text string, deps []Dep) Compiled {
	t.Helper()
	c, err := Compile(typ, text, deps)
	if err != nil {
		t.Fatalf("compile %s: %v", typ, err)
	}
	return c
}

func TestCompileInvalid(t *testing.T) {
	for _, tc := range []struct {
		typ  Type
		text string
	}{
		{Avro, `{"type":"record","name":"X"}`},
		{Avro, `not json`},
		{Avro, `{"type":"record","name":"X","fields":[{"name":"a","type":"Missing"}]}`},
		{JSON, `{"type":`},
		{JSON, `{"$ref":"other.json"}`},
		{JSON, `{"type":"strin"}`},
		{Protobuf, `syntax = "proto3"; message X { string a = 1 }`},
		{Protobuf, `syntax = "proto3"; import "missing.proto"; message X { string a = 1; }`},
	} {
		if _, err := Compile(tc.typ, tc.text, nil); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s %q: want ErrInvalid, got %v", tc.typ, tc.text, err)
		}
	}
}

func TestAvroReferencesAndCanonical(t *testing.T) {
	money := Dep{Name: "shop.Money", Type: Avro, Text: `{"type":"record","name":"Money","namespace":"shop","fields":[{"name":"units","type":"long"}]}`}
	order := `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"total","type":"shop.Money"}]}`
	c := mustCompile(t, Avro, order, []Dep{money})
	if _, err := Compile(Avro, order, nil); err == nil {
		t.Fatal("without its reference the schema must not compile")
	}
	spaced := mustCompile(t, Avro, "{ \"type\" : \"record\", \"name\":\"Order\",\"namespace\":\"shop\",\n\"fields\":[{\"name\":\"total\",\"type\":\"shop.Money\"}]}", []Dep{money})
	if c.Canonical() != spaced.Canonical() {
		t.Fatalf("whitespace changed the canonical form: %s vs %s", c.Canonical(), spaced.Canonical())
	}
	withDefault := mustCompile(t, Avro, `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":1}]}`, nil)
	withOther := mustCompile(t, Avro, `{"type":"record","name":"R","fields":[{"name":"a","type":"int","default":2}]}`, nil)
	if withDefault.Canonical() == withOther.Canonical() {
		t.Fatal("schemas differing in a default must not share a canonical form")
	}
}

func TestAvroValidate(t *testing.T) {
	c := mustCompile(t, Avro, orderV1, nil)
	s := avro.MustParse(orderV1)
	b, err := avro.Marshal(s, map[string]any{"id": "o-1", "amount": 42})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(b, nil); err != nil {
		t.Fatalf("valid record refused: %v", err)
	}
	if err := c.Validate(b[:len(b)-1], nil); err == nil {
		t.Fatal("truncated record accepted")
	}
	if err := c.Validate(append(b, 1, 2), nil); err == nil || !strings.Contains(err.Error(), "trailing") {
		t.Fatalf("trailing bytes accepted: %v", err)
	}
	if err := c.Validate([]byte{0x7f}, nil); err == nil {
		t.Fatal("negative string length accepted")
	}
}

func TestJSONReferencesAndValidate(t *testing.T) {
	addr := Dep{Name: "address.json", Type: JSON, Text: `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`}
	cust := `{"type":"object","properties":{"name":{"type":"string"},"address":{"$ref":"address.json"}},"required":["name"]}`
	c := mustCompile(t, JSON, cust, []Dep{addr})
	if err := c.Validate([]byte(`{"name":"a","address":{"city":"Lyon"}}`), nil); err != nil {
		t.Fatalf("valid document refused: %v", err)
	}
	if err := c.Validate([]byte(`{"name":"a","address":{}}`), nil); err == nil {
		t.Fatal("document missing the referenced schema's required city accepted")
	}
	if err := c.Validate([]byte(`{"name":1}`), nil); err == nil {
		t.Fatal("wrong type accepted")
	}
	if err := c.Validate([]byte(`{"name":`), nil); err == nil {
		t.Fatal("broken JSON accepted")
	}
	// Compatibility follows the reference.
	addr2 := Dep{Name: "address.json", Type: JSON, Text: `{"type":"object","properties":{"city":{"type":"integer"}},"required":["city"]}`}
	c2 := mustCompile(t, JSON, cust, []Dep{addr2})
	if r := Check(Backward, c2, []Compiled{c}); len(r) == 0 {
		t.Fatal("changing a referenced property's type must be incompatible")
	}
}

func TestProtobufImportsAndValidate(t *testing.T) {
	money := Dep{Name: "shop/money.proto", Type: Protobuf, Text: `syntax = "proto3"; package shop; message Money { int64 units = 1; string currency = 2; }`}
	text := `syntax = "proto3";
package shop;
import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";
import "shop/money.proto";
message OrderCreated {
  option (confluent.message_meta).doc = "an order";
  string id = 1;
  Money total = 2;
  google.protobuf.Timestamp at = 3;
  message Line { string sku = 1; }
  repeated Line lines = 4;
}
message OrderShipped { string id = 1; }`
	c := mustCompile(t, Protobuf, text, []Dep{money})
	p := c.(*protoSchema)
	md, err := p.Message([]int{0})
	if err != nil || md.Name() != "OrderCreated" {
		t.Fatalf("index [0]: %v %v", md, err)
	}
	line, err := p.Message([]int{0, 0})
	if err != nil || line.Name() != "Line" {
		t.Fatalf("index [0 0]: %v %v", line, err)
	}
	if _, err := p.Message([]int{5}); err == nil {
		t.Fatal("index 5 of 2 messages accepted")
	}
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("id"), protoreflectString("o-1"))
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	payload := AppendIndexes(nil, []int{0})
	payload = append(payload, b...)
	if err := ValidatePayload(c, payload); err != nil {
		t.Fatalf("valid message refused: %v", err)
	}
	if err := ValidatePayload(c, append(AppendIndexes(nil, nil), 0xff, 0xff)); err == nil {
		t.Fatal("garbage accepted")
	}

	// The serialized-descriptor form (confluent-kafka's Python serializer)
	// compiles to the same schema.
	fdp := protodesc.ToFileDescriptorProto(p.fd)
	raw, _ := proto.Marshal(fdp)
	b64 := mustCompile(t, Protobuf, base64.StdEncoding.EncodeToString(raw), []Dep{money})
	if b64.Canonical() != c.Canonical() {
		t.Fatal("the descriptor form and the text form differ")
	}
	// Descriptors without json_name (confluent-kafka's Python serializer
	// sends them so) compile too.
	for _, m := range fdp.GetMessageType() {
		for _, f := range m.GetField() {
			f.JsonName = nil
		}
	}
	raw, _ = proto.Marshal(fdp)
	mustCompile(t, Protobuf, base64.StdEncoding.EncodeToString(raw), []Dep{money})
}

func TestWireRoundTrip(t *testing.T) {
	b := AppendWire(nil, 258)
	b = append(b, 'x')
	id, data, err := ParseWire(b)
	if err != nil || id != 258 || string(data) != "x" {
		t.Fatalf("got %d %q %v", id, data, err)
	}
	if _, _, err := ParseWire([]byte{1, 0, 0, 0, 1}); !errors.Is(err, ErrNoMagic) {
		t.Fatalf("want ErrNoMagic, got %v", err)
	}
	if _, _, err := ParseWire([]byte{0, 0, 1}); !errors.Is(err, ErrShort) {
		t.Fatalf("want ErrShort, got %v", err)
	}
	for _, idx := range [][]int{nil, {0}, {1}, {0, 2, 3}} {
		enc := AppendIndexes(nil, idx)
		got, rest, err := ParseIndexes(append(enc, 'z'))
		if err != nil || string(rest) != "z" {
			t.Fatalf("%v: %v %q", idx, err, rest)
		}
		want := idx
		if len(want) == 0 {
			want = []int{0}
		}
		if len(got) != len(want) {
			t.Fatalf("%v: got %v", idx, got)
		}
	}
}
