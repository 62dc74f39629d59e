package httpapi

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// appendBodies are append bodies the fast decoder takes and bodies it
// must hand to encoding/json.
var appendBodies = []string{
	`{"expectedVersion":"any","events":[{"id":"a","type":"T","data":{"x":1}}]}`,
	` { "expectedVersion" : 3 , "events" : [ { "id" : "a" , "type" : "T" , "data" : [1, 2.5e3, -0.1, true, false, null, "s\"\\u00e9"] , "metadata" : {"u":"ann"} } ] } `,
	`{"expectedVersion":"no_stream","events":[{"id":"a","type":"T"},{"id":"b","type":"U","source":"/s","contentType":"text/plain","data":"x"}]}`,
	`{"expectedVersion":"exists","events":[]}`,
	`{"expectedVersion":"-1","events":[{"id":"é","type":"T","data":1}]}`,
	`{"expectedVersion":-2,"events":[{"id":"a","type":"T","data":{}}]}`,
	`{"events":[{"id":"a","type":"T","data":{"nested":{"deep":[[[]]]}}}]}`,
	`{}`,
	// Outside the fast shape: encoding/json decides (same result or error).
	`{"expectedVersion":null,"events":[{"id":"a","type":"T"}]}`,
	`{"ExpectedVersion":1,"events":[{"ID":"a","Type":"T"}]}`,
	`{"expectedVersion":1,"expectedVersion":2,"events":[{"id":"a","type":"T"}]}`,
	`{"events":[{"id":"a\u0062","type":"T"}]}`,
	`{"events":[{"id":"a","type":"T","data":null}]}`,
	`{"events":[{"id":"a","type":"T","extra":1}]}`,
	`{"events":[{"id":"a","type":"T","data":{"x":01}}]}`,
	`{"events":[{"id":"a","type":"T","data":{"x":1,}}]}`,
	`{"events":[{"id":"a","type":"T","data":[1 2]}]}`,
	`{"events":[{"id":"a","type":"T","data":"\x"}]}`,
	`{"events":[{"id":"a","type":"T"}]} x`,
	`{"events":[{"id":"a","type":"T"}]}{}`,
	`{"expectedVersion":1.5,"events":[]}`,
	`{"expectedVersion":"soon","events":[]}`,
	`{"expectedVersion":-7,"events":[]}`,
	`{"events":null}`,
	`{"events":[{"id":"a","type":"T","data":tru}]}`,
	"{\"events\":[{\"id\":\"\xff\",\"type\":\"T\"}]}",
	"{\"events\":[{\"id\":\"a\",\"type\":\"T\",\"data\":\"\xff\"}]}",
	`[]`,
	``,
	`{"events":[{"id":"a","type":"T","data":1e}]}`,
	`{"events":[{"id":"a","type":"T","data":-}]}`,
}

// TestDecodeAppendFastMatchesEncodingJSON: whatever the fast decoder
// accepts, encoding/json decodes to the same request.
func TestDecodeAppendFastMatchesEncodingJSON(t *testing.T) {
	took := 0
	for _, body := range appendBodies {
		checkAppendDecoders(t, []byte(body))
		if _, ok := decodeAppendFast([]byte(body)); ok {
			took++
		}
	}
	if took < 8 {
		t.Fatalf("the fast decoder took %d of the bodies meant for it, want 8", took)
	}
}

func checkAppendDecoders(t *testing.T, body []byte) {
	t.Helper()
	fast, ok := decodeAppendFast(body)
	std, err := decodeAppendStd(body)
	if !ok {
		return
	}
	if err != nil {
		t.Fatalf("%q: the fast decoder took it, encoding/json refused it: %v", body, err)
	}
	if !reflect.DeepEqual(fast, std) {
		t.Fatalf("%q: fast %+v, encoding/json %+v", body, fast, std)
	}
}

func FuzzDecodeAppendFast(f *testing.F) {
	for _, b := range appendBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) { checkAppendDecoders(t, body) })
}

func TestAppendAppendResultMatchesMarshal(t *testing.T) {
	for _, res := range []eventstore.AppendResult{
		{},
		{FirstVersion: 3, LastVersion: 102, Partition: 7, Offset: 1 << 40},
		{FirstVersion: 0, LastVersion: 0, Partition: 0, Offset: 5, Duplicate: true},
	} {
		want, err := json.Marshal(res)
		if err != nil {
			t.Fatal(err)
		}
		if got := string(appendAppendResult(nil, res)); got != string(want)+"\n" {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
}
