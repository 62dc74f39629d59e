package eventstore

import (
	"encoding/json"
	"reflect"
	"testing"
)

// TestAppendRequestJSONMatchesMarshal: the hand-rolled body decodes to
// what json.Marshal's body decodes to.
func TestAppendRequestJSONMatchesMarshal(t *testing.T) {
	type body struct {
		ExpectedVersion ExpectedVersion `json:"expectedVersion"`
		Events          []EventData     `json:"events"`
	}
	for _, c := range []body{
		{Any{}, []EventData{{ID: "a", Type: "T", Data: json.RawMessage(`{"x": 1, "s": "<&>"}`)}}},
		{NoStream{}, []EventData{{ID: "a", Type: "T"}, {ID: "b\"\n", Type: "é", Metadata: json.RawMessage(` {"u" : "ann"} `)}}},
		{StreamExists{}, nil},
		{Version(42), []EventData{{ID: "\x01", Type: "T", Data: json.RawMessage(`[1, 2]`)}}},
	} {
		got, err := appendRequestJSON(nil, c.ExpectedVersion, c.Events)
		if err != nil {
			t.Fatal(err)
		}
		want, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %v", got, err)
		}
		if err := json.Unmarshal(want, &w); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(g, w) {
			t.Fatalf("got %s, json.Marshal %s", got, want)
		}
	}
	if _, err := appendRequestJSON(nil, Any{}, []EventData{{ID: "a", Type: "T", Data: json.RawMessage(`{`)}}); err == nil {
		t.Fatal("invalid data encoded without an error")
	}
}

func TestDecodeAppendResult(t *testing.T) {
	for _, raw := range []string{
		`{"firstVersion":3,"lastVersion":4,"partition":1,"offset":99}` + "\n",
		`{"firstVersion":0,"lastVersion":0,"partition":0,"offset":5,"duplicate":true}`,
		` { "firstVersion" : -1 , "offset" : 7 , "duplicate" : false } `,
		`{"firstVersion":1,"lastVersion":2,"partition":0,"offset":3,"extra":"x"}`,
		`{"firstVersion":"1"}`,
	} {
		var fast, std AppendResult
		if err := decodeAppendResult([]byte(raw), &fast); err != nil {
			if json.Unmarshal([]byte(raw), &std) == nil {
				t.Fatalf("%s: %v, encoding/json decodes it", raw, err)
			}
			continue
		}
		if err := json.Unmarshal([]byte(raw), &std); err != nil || fast != std {
			t.Fatalf("%s: %+v, encoding/json %+v (%v)", raw, fast, std, err)
		}
	}
}
