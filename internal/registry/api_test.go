package registry

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSchemasListNormalizeAndRefusals covers GET /schemas and its filters,
// normalize=true on register and lookup, deletedOnly, and the clear
// refusals of what the registry does not support (contexts, rule sets,
// metadata), over real HTTP.
func TestSchemasListNormalizeAndRefusals(t *testing.T) {
	tr := openTestRegistry(t, t.TempDir())
	do := func(method, path, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, tr.srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", ContentType)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	reg := func(subject, schema string) {
		t.Helper()
		b, _ := json.Marshal(RegisterRequest{Schema: schema})
		if code, body := do("POST", "/subjects/"+subject+"/versions", string(b)); code != 200 {
			t.Fatalf("register %s: %d %s", subject, code, body)
		}
	}
	reg("a-value", orderV1)
	reg("a-value", orderV2)
	reg("b-value", `"string"`)
	reg("c-key", `"long"`)
	if code, body := do("DELETE", "/subjects/b-value", ""); code != 200 {
		t.Fatalf("delete b-value: %d %s", code, body)
	}

	list := func(query string) []Schema {
		t.Helper()
		code, body := do("GET", "/schemas"+query, "")
		if code != 200 {
			t.Fatalf("GET /schemas%s: %d %s", query, code, body)
		}
		var out []Schema
		if err := json.Unmarshal([]byte(body), &out); err != nil {
			t.Fatalf("GET /schemas%s: %v: %s", query, err, body)
		}
		return out
	}
	names := func(ss []Schema) string {
		var parts []string
		for _, s := range ss {
			parts = append(parts, s.Subject+"/"+string(rune('0'+s.Version)))
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct{ query, want string }{
		{"", "a-value/1 a-value/2 c-key/1"},
		{"?deleted=true", "a-value/1 a-value/2 b-value/1 c-key/1"},
		{"?latestOnly=true", "a-value/2 c-key/1"},
		{"?subjectPrefix=a-", "a-value/1 a-value/2"},
		{"?subjectPrefix=b&deleted=true", "b-value/1"},
		{"?offset=1&limit=1", "a-value/2"},
		{"?offset=5", ""},
	} {
		if got := names(list(tc.query)); got != tc.want {
			t.Errorf("GET /schemas%s: %q, want %q", tc.query, got, tc.want)
		}
	}
	if got := list("?subjectPrefix=a-&latestOnly=true"); len(got) != 1 || got[0].Schema != orderV2 || got[0].ID == 0 {
		t.Errorf("latest a-value: %+v", got)
	}

	// normalize=true: a JSON schema with reordered keys and whitespace is
	// the same schema once normalized, and is stored normalized.
	js1 := `{"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "integer"}}}`
	js2 := `{"properties":{"a":{"type":"integer"},"b":{"type":"string"}},"type":"object"}`
	b1, _ := json.Marshal(RegisterRequest{Schema: js1, SchemaType: "JSON"})
	b2, _ := json.Marshal(RegisterRequest{Schema: js2, SchemaType: "JSON"})
	code, body := do("POST", "/subjects/n-value/versions?normalize=true", string(b1))
	if code != 200 {
		t.Fatalf("normalize register: %d %s", code, body)
	}
	code, body2 := do("POST", "/subjects/n-value/versions?normalize=true", string(b2))
	if code != 200 || body2 != body {
		t.Fatalf("normalized twin: %d %s, want %s", code, body2, body)
	}
	if code, body := do("GET", "/subjects/n-value/versions", ""); code != 200 || body != "[1]" {
		t.Fatalf("versions after the twin: %d %s", code, body)
	}
	if code, body := do("GET", "/subjects/n-value/versions/1/schema", ""); code != 200 || body != js2 {
		t.Fatalf("stored normalized: %d %s", code, body)
	}
	// Without normalize the differently ordered text is not found...
	if code, body := do("POST", "/subjects/n-value", string(b1)); code != 404 || !strings.Contains(body, "40403") {
		t.Fatalf("lookup without normalize: %d %s", code, body)
	}
	// ...with it, it is.
	if code, body := do("POST", "/subjects/n-value?normalize=true", string(b1)); code != 200 || !strings.Contains(body, `"version":1`) {
		t.Fatalf("lookup with normalize: %d %s", code, body)
	}
	// Avro: normalized to the parsed schema's full form.
	avroSpaced := `{ "type" : "record", "namespace": "shop", "name" : "OrderCreated", "fields" : [ {"name":"id","type":"string"}, {"type":"int","name":"amount"} ] }`
	ba, _ := json.Marshal(RegisterRequest{Schema: avroSpaced})
	if code, body := do("POST", "/subjects/a-value?normalize=true", string(ba)); code != 200 || !strings.Contains(body, `"version":1`) {
		t.Fatalf("avro lookup with normalize: %d %s", code, body)
	}

	// ?subject= finds the id under a soft-deleted version too, and not
	// under a subject that never held it.
	var bv Schema
	_, body = do("GET", "/subjects/b-value/versions/1?deleted=true", "")
	_ = json.Unmarshal([]byte(body), &bv)
	if code, body := do("GET", fmt.Sprintf("/schemas/ids/%d?subject=b-value", bv.ID), ""); code != 200 || !strings.Contains(body, `"schema":"\"string\""`) {
		t.Errorf("id under a soft-deleted subject: %d %s", code, body)
	}
	if code, body := do("GET", fmt.Sprintf("/schemas/ids/%d?subject=a-value", bv.ID), ""); code != 404 || !strings.Contains(body, "40403") {
		t.Errorf("id under another subject: %d %s", code, body)
	}

	// deletedOnly lists only soft-deleted subjects and versions.
	if code, body := do("GET", "/subjects?deletedOnly=true", ""); code != 200 || body != `["b-value"]` {
		t.Errorf("deletedOnly subjects: %d %s", code, body)
	}
	if code, body := do("GET", "/subjects/b-value/versions?deletedOnly=true", ""); code != 200 || body != `[1]` {
		t.Errorf("deletedOnly versions: %d %s", code, body)
	}
	if code, body := do("GET", "/subjects/b-value/versions?deleted=true", ""); code != 200 || body != `[1]` {
		t.Errorf("deleted versions: %d %s", code, body)
	}

	// format=serialized: a Protobuf schema registered as text is answered
	// as its base64 FileDescriptorProto.
	bp, _ := json.Marshal(RegisterRequest{SchemaType: "PROTOBUF", Schema: "syntax = \"proto3\";\npackage shop;\nmessage Paid { string id = 1; }\n"})
	code, body = do("POST", "/subjects/p-value/versions", string(bp))
	var created struct{ ID int }
	if err := json.Unmarshal([]byte(body), &created); code != 200 || err != nil {
		t.Fatalf("register proto: %d %s", code, body)
	}
	for _, path := range []string{"/subjects/p-value/versions/1?format=serialized", fmt.Sprintf("/schemas/ids/%d?format=serialized", created.ID)} {
		code, body := do("GET", path, "")
		var got Schema
		_ = json.Unmarshal([]byte(body), &got)
		raw, err := base64.StdEncoding.DecodeString(got.Schema)
		if code != 200 || err != nil || !strings.Contains(string(raw), "Paid") {
			t.Errorf("%s: %d %s (%v)", path, code, body, err)
		}
	}
	if code, body := do("GET", "/subjects/p-value/versions/1", ""); code != 200 || !strings.Contains(body, "message Paid") {
		t.Errorf("without format: %d %s", code, body)
	}

	// What is not supported is refused, saying so.
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
	}{
		{"/subjects/:.team:orders-value/versions", `{"schema":"\"string\""}`, 422, `"error_code":42208`},
		{"/subjects/r-value/versions", `{"schema":"\"string\"","ruleSet":{"domainRules":[{"name":"r","kind":"CONDITION","type":"CEL","expr":"true"}]}}`, 422, `"error_code":42210`},
		{"/subjects/r-value/versions", `{"schema":"\"string\"","metadata":{"properties":{"owner":"me"}}}`, 422, `"error_code":42201`},
		{"/subjects/r-value/versions", `{"schema":"\"string\"","metadata":null,"ruleSet":null}`, 200, `"id"`},
		{"/schemas?limit=x", ``, 400, `"error_code":400`},
		{"/subjects/big-value/versions", `{"schema":"` + strings.Repeat(" ", maxBody) + `"}`, 422, `"error_code":42209`},
	} {
		method := "POST"
		if tc.body == "" {
			method = "GET"
		}
		code, body := do(method, tc.path, tc.body)
		if code != tc.status || !strings.Contains(body, tc.code) {
			t.Errorf("%s: %d %s, want %d %s", tc.path, code, body, tc.status, tc.code)
		}
	}
}
