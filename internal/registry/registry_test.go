package registry

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/sr"

	"github.com/eddy-streaming/eddy/internal/meta"
)

const (
	orderV1       = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"int"}]}`
	orderV2       = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"coupon","type":["null","string"],"default":null}]}`
	orderV3       = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"amount","type":"int"},{"name":"currency","type":"string"}]}`
	orderNoAmount = `{"type":"record","name":"OrderCreated","namespace":"shop","fields":[{"name":"id","type":"string"},{"name":"coupon","type":["null","string"],"default":null}]}`
)

// testRegistry is a registry on a real meta store in a temp dir, served
// over real HTTP.
type testRegistry struct {
	dir string
	m   *meta.Store
	r   *Registry
	srv *httptest.Server
	cl  *sr.Client
}

func openTestRegistry(t *testing.T, dir string) *testRegistry {
	t.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(NewMetaStore(m))
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	srv := httptest.NewServer(Handler(r))
	cl, err := sr.NewClient(sr.URLs(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	tr := &testRegistry{dir: dir, m: m, r: r, srv: srv, cl: cl}
	t.Cleanup(tr.close)
	return tr
}

func (tr *testRegistry) close() {
	if tr.srv != nil {
		tr.srv.Close()
		tr.m.Close()
		tr.srv = nil
	}
}

func wantCode(t *testing.T, err error, code int) {
	t.Helper()
	var re *sr.ResponseError
	if !errors.As(err, &re) {
		t.Fatalf("want error code %d, got %v", code, err)
	}
	if re.ErrorCode != code {
		t.Fatalf("want error code %d, got %d: %s", code, re.ErrorCode, re.Message)
	}
}

func TestRegisterEvolveAndRestart(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	tr := openTestRegistry(t, dir)
	cl := tr.cl

	types, err := cl.SupportedTypes(ctx)
	if err != nil || len(types) != 3 {
		t.Fatalf("types %v %v", types, err)
	}
	s1, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: orderV1})
	if err != nil {
		t.Fatal(err)
	}
	if s1.Version != 1 || s1.ID == 0 {
		t.Fatalf("first registration: %+v", s1)
	}
	again, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: orderV1})
	if err != nil || again.ID != s1.ID || again.Version != 1 {
		t.Fatalf("re-registration: %+v %v", again, err)
	}
	other, err := cl.CreateSchema(ctx, "archive-value", sr.Schema{Schema: " " + orderV1 + "\n"})
	if err != nil || other.ID != s1.ID {
		t.Fatalf("same schema under another subject must share the id %d: %+v %v", s1.ID, other, err)
	}
	s2, err := cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: orderV2})
	if err != nil || s2.Version != 2 || s2.ID == s1.ID {
		t.Fatalf("optional field under BACKWARD: %+v %v", s2, err)
	}
	_, err = cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: orderV3})
	wantCode(t, err, 409)
	if !strings.Contains(err.Error(), "READER_FIELD_MISSING_DEFAULT_VALUE") {
		t.Fatalf("409 must list the reason: %v", err)
	}
	res, err := cl.CheckCompatibility(sr.WithParams(ctx, sr.Verbose), "orders-value", -1, sr.Schema{Schema: orderV3})
	if err != nil || res.Is || len(res.Messages) == 0 {
		t.Fatalf("check: %+v %v", res, err)
	}
	res, err = cl.CheckCompatibility(ctx, "orders-value", 1, sr.Schema{Schema: orderNoAmount})
	if err != nil || !res.Is {
		t.Fatalf("removing a field is backward compatible: %+v %v", res, err)
	}
	// FULL: removing the required amount is refused.
	if r := cl.SetCompatibility(ctx, sr.SetCompatibility{Level: sr.CompatFull}, "orders-value"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	_, err = cl.CreateSchema(ctx, "orders-value", sr.Schema{Schema: orderNoAmount})
	wantCode(t, err, 409)
	if c := cl.Compatibility(ctx, "orders-value"); c[0].Err != nil || c[0].Level != sr.CompatFull {
		t.Fatalf("subject level: %+v", c[0])
	}

	got, err := cl.SchemaByID(ctx, s2.ID)
	if err != nil || got.Schema != orderV2 || got.Type != sr.TypeAvro {
		t.Fatalf("by id: %+v %v", got, err)
	}
	subs, err := cl.SubjectsByID(ctx, s1.ID)
	if err != nil || strings.Join(subs, ",") != "archive-value,orders-value" {
		t.Fatalf("subjects by id: %v %v", subs, err)
	}
	svs, err := cl.SchemaVersionsByID(ctx, s1.ID)
	if err != nil || len(svs) != 2 {
		t.Fatalf("versions by id: %v %v", svs, err)
	}
	look, err := cl.LookupSchema(ctx, "orders-value", sr.Schema{Schema: orderV2})
	if err != nil || look.Version != 2 || look.ID != s2.ID {
		t.Fatalf("lookup: %+v %v", look, err)
	}
	_, err = cl.LookupSchema(ctx, "orders-value", sr.Schema{Schema: orderV3})
	wantCode(t, err, CodeSchemaNotFound)
	_, err = cl.SchemaByID(ctx, 9999)
	wantCode(t, err, CodeSchemaNotFound)
	_, err = cl.SchemaByVersion(ctx, "nope", -1)
	wantCode(t, err, CodeSubjectNotFound)
	_, err = cl.SchemaByVersion(ctx, "orders-value", 7)
	wantCode(t, err, CodeVersionNotFound)

	// Soft then permanent deletes.
	if err := cl.DeleteSchema(ctx, "orders-value", 2, sr.HardDelete); err == nil {
		t.Fatal("permanent delete before soft delete accepted")
	} else {
		wantCode(t, err, CodeVersionNotSoftDeleted)
	}
	if err := cl.DeleteSchema(ctx, "orders-value", 2, sr.SoftDelete); err != nil {
		t.Fatal(err)
	}
	wantCode(t, cl.DeleteSchema(ctx, "orders-value", 2, sr.SoftDelete), CodeVersionSoftDeleted)
	vs, err := cl.SubjectVersions(ctx, "orders-value")
	if err != nil || len(vs) != 1 {
		t.Fatalf("versions after soft delete: %v %v", vs, err)
	}
	vs, err = cl.SubjectVersions(sr.WithParams(ctx, sr.ShowDeleted), "orders-value")
	if err != nil || len(vs) != 2 {
		t.Fatalf("versions with deleted: %v %v", vs, err)
	}
	if _, err := cl.SchemaByID(ctx, s2.ID); err != nil {
		t.Fatalf("a soft-deleted version's schema is still readable by id: %v", err)
	}
	if err := cl.DeleteSchema(ctx, "orders-value", 2, sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	_, err = cl.SchemaByID(ctx, s2.ID)
	wantCode(t, err, CodeSchemaNotFound)

	// Restart: everything stays, and ids are not reused.
	tr.close()
	tr = openTestRegistry(t, dir)
	cl = tr.cl
	got, err = cl.SchemaByID(ctx, s1.ID)
	if err != nil || got.Schema != orderV1 {
		t.Fatalf("after restart: %+v %v", got, err)
	}
	if c := cl.Compatibility(ctx, "orders-value"); c[0].Err != nil || c[0].Level != sr.CompatFull {
		t.Fatalf("subject level after restart: %+v", c[0])
	}
	s4, err := cl.CreateSchema(ctx, "fresh-value", sr.Schema{Schema: `"string"`})
	if err != nil || s4.ID <= s2.ID {
		t.Fatalf("after restart a new schema must get a new id above %d: %+v %v", s2.ID, s4, err)
	}
	subjects, err := cl.Subjects(ctx)
	if err != nil || strings.Join(subjects, ",") != "archive-value,fresh-value,orders-value" {
		t.Fatalf("subjects: %v %v", subjects, err)
	}

	// Subject deletes.
	if _, err := cl.DeleteSubject(ctx, "archive-value", sr.HardDelete); err == nil {
		t.Fatal("permanent subject delete before soft delete accepted")
	} else {
		wantCode(t, err, CodeSubjectNotSoftDeleted)
	}
	if v, err := cl.DeleteSubject(ctx, "archive-value", sr.SoftDelete); err != nil || len(v) != 1 {
		t.Fatalf("soft delete subject: %v %v", v, err)
	}
	_, err = cl.DeleteSubject(ctx, "archive-value", sr.SoftDelete)
	wantCode(t, err, CodeSubjectSoftDeleted)
	subjects, _ = cl.Subjects(ctx)
	if strings.Contains(strings.Join(subjects, ","), "archive") {
		t.Fatalf("soft-deleted subject listed: %v", subjects)
	}
	subjects, _ = cl.Subjects(sr.WithParams(ctx, sr.ShowDeleted))
	if !strings.Contains(strings.Join(subjects, ","), "archive") {
		t.Fatalf("soft-deleted subject not listed with deleted=true: %v", subjects)
	}
	if _, err := cl.DeleteSubject(ctx, "archive-value", sr.HardDelete); err != nil {
		t.Fatal(err)
	}
	if _, err := cl.SchemaByID(ctx, s1.ID); err != nil {
		t.Fatalf("schema %d is still used by orders-value: %v", s1.ID, err)
	}
}

func TestReferencesAndModes(t *testing.T) {
	ctx := context.Background()
	tr := openTestRegistry(t, t.TempDir())
	cl := tr.cl
	money, err := cl.CreateSchema(ctx, "money", sr.Schema{Schema: `{"type":"record","name":"Money","namespace":"shop","fields":[{"name":"units","type":"long"}]}`})
	if err != nil {
		t.Fatal(err)
	}
	order := sr.Schema{
		Schema:     `{"type":"record","name":"Order","namespace":"shop","fields":[{"name":"total","type":"shop.Money"}]}`,
		References: []sr.SchemaReference{{Name: "shop.Money", Subject: "money", Version: 1}},
	}
	o, err := cl.CreateSchema(ctx, "orders-value", order)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cl.SchemaByID(ctx, o.ID)
	if err != nil || len(got.References) != 1 || got.References[0].Subject != "money" {
		t.Fatalf("references: %+v %v", got, err)
	}
	var users []int
	if err := cl.Do(ctx, "GET", "/subjects/money/versions/1/referencedby", nil, &users); err != nil || len(users) != 1 || users[0] != o.ID {
		t.Fatalf("referencedby: %+v %v", users, err)
	}
	if money.ID == o.ID {
		t.Fatal("two schemas share an id")
	}
	wantCode(t, cl.DeleteSchema(ctx, "money", 1, sr.SoftDelete), CodeReferenceExists)
	_, err = cl.CreateSchema(ctx, "bad-value", sr.Schema{Schema: order.Schema})
	wantCode(t, err, CodeInvalidSchema)
	_, err = cl.CreateSchema(ctx, "bad-value", sr.Schema{Schema: order.Schema, References: []sr.SchemaReference{{Name: "shop.Money", Subject: "money", Version: 9}}})
	wantCode(t, err, CodeInvalidSchema)

	// JSON and Protobuf register too; Protobuf imports a well-known type.
	j, err := cl.CreateSchema(ctx, "events-json", sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"object","properties":{"id":{"type":"string"}}}`})
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := cl.SchemaByID(ctx, j.ID); got.Type != sr.TypeJSON {
		t.Fatalf("schemaType lost: %+v", got)
	}
	if _, err := cl.CreateSchema(ctx, "events-proto", sr.Schema{Type: sr.TypeProtobuf, Schema: `syntax = "proto3"; package shop; import "google/protobuf/timestamp.proto"; message E { string id = 1; google.protobuf.Timestamp at = 2; }`}); err != nil {
		t.Fatal(err)
	}
	_, err = cl.CreateSchema(ctx, "events-proto", sr.Schema{Type: sr.TypeProtobuf, Schema: `syntax = "proto3"; package shop; message E { int64 id = 1; }`})
	wantCode(t, err, 409)

	// Modes.
	if r := cl.SetMode(ctx, sr.ModeReadOnly, "events-json"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	_, err = cl.CreateSchema(ctx, "events-json", sr.Schema{Type: sr.TypeJSON, Schema: `{"type":"object"}`})
	wantCode(t, err, CodeOperationNotPermitted)
	if r := cl.ResetMode(ctx, "events-json"); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	if r := cl.SetMode(ctx, sr.ModeImport); r[0].Err == nil {
		t.Fatal("IMPORT mode on a non-empty registry without force accepted")
	}
	if r := cl.SetMode(sr.WithParams(ctx, sr.Force), sr.ModeImport); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	imp, err := cl.CreateSchemaWithIDAndVersion(ctx, "imported", sr.Schema{Schema: `"long"`}, 500, 3)
	if err != nil || imp.ID != 500 || imp.Version != 3 {
		t.Fatalf("import: %+v %v", imp, err)
	}
	if r := cl.SetMode(ctx, sr.ModeReadWrite); r[0].Err != nil {
		t.Fatal(r[0].Err)
	}
	next, err := cl.CreateSchema(ctx, "after-import", sr.Schema{Schema: `"double"`})
	if err != nil || next.ID <= 500 {
		t.Fatalf("ids continue above imported ones: %+v %v", next, err)
	}
}

func TestHTTPErrorsAndContentTypes(t *testing.T) {
	tr := openTestRegistry(t, t.TempDir())
	do := func(method, path, ct, body string) (int, string, string) {
		req, _ := http.NewRequest(method, tr.srv.URL+path, strings.NewReader(body))
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
	}
	for _, ct := range []string{"application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json", "application/json", ""} {
		code, rct, body := do("POST", "/subjects/t-value/versions", ct, `{"schema":"\"string\""}`)
		if code != 200 || rct != ContentType || body != `{"id":1}` {
			t.Fatalf("%q: %d %s %s", ct, code, rct, body)
		}
	}
	for _, tc := range []struct {
		method, path, ct, body string
		status                 int
		want                   string
	}{
		{"GET", "/subjects/nope/versions", "", "", 404, `{"error_code":40401,"message":"Subject 'nope' not found."}`},
		{"GET", "/schemas/ids/77", "", "", 404, `"error_code":40403`},
		{"GET", "/subjects/t-value/versions/0", "", "", 422, `"error_code":42202`},
		{"GET", "/subjects/t-value/versions/abc", "", "", 422, `"error_code":42202`},
		{"GET", "/subjects/t-value/versions/9", "", "", 404, `"error_code":40402`},
		{"POST", "/subjects/t-value/versions", "text/plain", `{}`, 415, `"error_code":415`},
		{"POST", "/subjects/t-value/versions", "", `{"schema":"{\"type\":\"record\"}"}`, 422, `"error_code":42201`},
		{"POST", "/subjects/t-value/versions", "", `{"schema":"\"int\"","schemaType":"XML"}`, 422, `"error_code":42201`},
		{"POST", "/subjects/t-value/versions", "", `not json`, 400, `"error_code":400`},
		{"PUT", "/config", "", `{"compatibility":"SIDEWAYS"}`, 422, `"error_code":42203`},
		{"PUT", "/mode", "", `{"mode":"SOMETIMES"}`, 422, `"error_code":42204`},
		{"GET", "/config/t-value", "", "", 404, `"error_code":40408`},
		{"GET", "/config/t-value?defaultToGlobal=true", "", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
		{"GET", "/mode", "", "", 200, `{"mode":"READWRITE"}`},
		{"GET", "/nothing/here", "", "", 404, `{"error_code":404,"message":"HTTP 404 Not Found"}`},
		{"PATCH", "/subjects", "", "", 405, `{"error_code":405,"message":"HTTP 405 Method Not Allowed"}`},
		{"GET", "/schemas/types", "", "", 200, `["JSON","PROTOBUF","AVRO"]`},
		{"GET", "/schemas/ids/1/schema", "", "", 200, `"string"`},
		{"GET", "/subjects/t-value/versions/latest/schema", "", "", 200, `"string"`},
		{"GET", "/subjects?subjectPrefix=t-", "", "", 200, `["t-value"]`},
		{"GET", "/subjects?subjectPrefix=x", "", "", 200, `[]`},
		{"GET", "/schemas/ids/1?subject=other", "", "", 404, `"error_code":40403`},
		{"POST", "/compatibility/subjects/t-value/versions/latest?verbose=true", "", `{"schema":"\"int\""}`, 200, `"is_compatible":false`},
		{"POST", "/compatibility/subjects/t-value/versions", "", `{"schema":"\"string\""}`, 200, `{"is_compatible":true}`},
		{"PUT", "/config", "application/json", `{"compatibility":"full"}`, 200, `{"compatibility":"FULL"}`},
		{"DELETE", "/config", "", "", 200, `{"compatibilityLevel":"FULL"}`},
		{"GET", "/config", "", "", 200, `{"compatibilityLevel":"BACKWARD"}`},
	} {
		code, _, body := do(tc.method, tc.path, tc.ct, tc.body)
		if code != tc.status || !strings.Contains(body, tc.want) {
			t.Errorf("%s %s: got %d %s, want %d containing %s", tc.method, tc.path, code, body, tc.status, tc.want)
		}
	}
}
