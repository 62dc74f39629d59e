package schema

import (
	"encoding/json"
	"testing"

	"github.com/hamba/avro/v2"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/dynamicpb"
)

const decodeAvro = `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double"},{"name":"note","type":["null","string"],"default":null}]}`

func TestDecodeJSON(t *testing.T) {
	av, err := Compile(Avro, decodeAvro, nil)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := avro.Marshal(av.(*avroSchema).s, map[string]any{"id": "o-1", "total": 9.5, "note": "gift"})
	if err != nil {
		t.Fatal(err)
	}
	out, err := DecodeJSON(av, payload, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if got["id"] != "o-1" || got["total"] != 9.5 {
		t.Fatalf("avro decoded as %s", out)
	}
	if _, err := DecodeJSON(av, payload[:3], nil); err == nil {
		t.Fatal("a cut avro datum decoded")
	}

	pb, err := Compile(Protobuf, `syntax = "proto3"; message Outer { message Inner { string name = 1; int32 n = 2; } } message Other { bool b = 1; }`, nil)
	if err != nil {
		t.Fatal(err)
	}
	md, err := pb.(*protoSchema).Message([]int{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	m := dynamicpb.NewMessage(md)
	m.Set(md.Fields().ByName("name"), protoreflectString("widget"))
	raw, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out, err = DecodeJSON(pb, raw, []int{0, 0})
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(out, &got); err != nil || got["name"] != "widget" {
		t.Fatalf("protobuf decoded as %s (%v)", out, err)
	}
	if _, err := DecodeJSON(pb, []byte{0xff, 0xff}, []int{0, 0}); err == nil {
		t.Fatal("garbage decoded as protobuf")
	}

	js, err := Compile(JSON, `{"type":"object","properties":{"a":{"type":"string"}}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	in := []byte(`{"a":"x"}`)
	out, err = DecodeJSON(js, in, nil)
	if err != nil || string(out) != `{"a":"x"}` {
		t.Fatalf("json decoded as %s (%v)", out, err)
	}
	copy(in, `{"a":"y"}`) // the payload's buffer is reused
	if string(out) != `{"a":"x"}` {
		t.Fatalf("the decoded JSON shares the payload's memory: %s", out)
	}
	if _, err := DecodeJSON(js, []byte(`{"a":1}`), nil); err == nil {
		t.Fatal("a json payload against its schema decoded")
	}
}

func FuzzDecodeJSON(f *testing.F) {
	av, err := Compile(Avro, decodeAvro, nil)
	if err != nil {
		f.Fatal(err)
	}
	pb, err := Compile(Protobuf, `syntax = "proto3"; message A { string a = 1; repeated int64 n = 2; map<string,double> m = 3; }`, nil)
	if err != nil {
		f.Fatal(err)
	}
	js, err := Compile(JSON, `{"type":"object"}`, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(uint8(0), []byte{6, 'o', '-', '1', 0, 0, 0, 0, 0, 0, 0x23, 0x40, 0})
	f.Add(uint8(0), []byte{0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add(uint8(1), []byte{0x0a, 1, 'x', 0x10, 5})
	f.Add(uint8(1), []byte{0x1a, 0x09, 0x0a, 1, 'k', 0x11, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f})
	f.Add(uint8(2), []byte(`{"a":[1,2]}`))
	f.Add(uint8(2), []byte(`[`))
	f.Fuzz(func(t *testing.T, which uint8, payload []byte) {
		c := []Compiled{av, pb, js}[int(which)%3]
		out, err := DecodeJSON(c, payload, nil)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("%s decoded %x to invalid JSON %q", c.Type(), payload, out)
		}
	})
}
