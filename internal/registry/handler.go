package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"

	"github.com/eddy-streaming/eddy/internal/schema"
)

// ContentType is the content type of every response, as Confluent's.
const ContentType = "application/vnd.schemaregistry.v1+json"

// maxBody bounds a request body: schemas are text, rarely over a megabyte.
const maxBody = 16 << 20

// Handler serves the Confluent Schema Registry REST API at its root. Mount
// it under a prefix with http.StripPrefix.
func Handler(r *Registry) http.Handler {
	h := &api{r: r}
	mux := http.NewServeMux()
	route := func(pattern string, f func(w http.ResponseWriter, req *http.Request) (any, error)) {
		mux.HandleFunc(pattern, func(w http.ResponseWriter, req *http.Request) {
			if err := checkContentType(req); err != nil {
				writeJSON(w, err.Status(), err)
				return
			}
			v, err := f(w, req)
			if err != nil {
				var apiErr *Error
				if !errors.As(err, &apiErr) {
					apiErr = errorf(50001, "%v", err)
				}
				writeJSON(w, apiErr.Status(), apiErr)
				return
			}
			if raw, ok := v.(rawJSON); ok {
				hd := w.Header()
				hd["Content-Type"] = contentTypeHeader
				hd["Content-Length"] = []string{strconv.Itoa(len(raw))}
				w.WriteHeader(http.StatusOK)
				_, _ = w.Write(raw)
				return
			}
			if raw, ok := v.(rawText); ok {
				w.Header().Set("Content-Type", ContentType)
				w.WriteHeader(http.StatusOK)
				_, _ = io.WriteString(w, string(raw))
				return
			}
			writeJSON(w, http.StatusOK, v)
		})
	}
	route("GET /{$}", func(http.ResponseWriter, *http.Request) (any, error) { return struct{}{}, nil })
	route("GET /schemas", h.schemas)
	route("GET /schemas/types", func(http.ResponseWriter, *http.Request) (any, error) { return schema.Types, nil })
	route("GET /schemas/ids/{id}", h.schemaByID)
	route("GET /schemas/ids/{id}/schema", h.rawSchemaByID)
	route("GET /schemas/ids/{id}/subjects", h.subjectsByID)
	route("GET /schemas/ids/{id}/versions", h.versionsByID)
	route("GET /subjects", h.subjects)
	route("GET /subjects/{subject}/versions", h.versions)
	route("POST /subjects/{subject}/versions", h.register)
	route("GET /subjects/{subject}/versions/{version}", h.version)
	route("GET /subjects/{subject}/versions/{version}/schema", h.rawVersion)
	route("GET /subjects/{subject}/versions/{version}/referencedby", h.referencedBy)
	route("DELETE /subjects/{subject}/versions/{version}", h.deleteVersion)
	route("POST /subjects/{subject}", h.lookup)
	route("DELETE /subjects/{subject}", h.deleteSubject)
	route("POST /compatibility/subjects/{subject}/versions/{version}", h.compatibility)
	route("POST /compatibility/subjects/{subject}/versions", h.compatibility)
	route("GET /config", h.getConfig)
	route("PUT /config", h.putConfig)
	route("DELETE /config", h.deleteConfig)
	route("GET /config/{subject}", h.getConfig)
	route("PUT /config/{subject}", h.putConfig)
	route("DELETE /config/{subject}", h.deleteConfig)
	route("GET /mode", h.getMode)
	route("PUT /mode", h.putMode)
	route("DELETE /mode", h.deleteMode)
	route("GET /mode/{subject}", h.getMode)
	route("PUT /mode/{subject}", h.putMode)
	route("DELETE /mode/{subject}", h.deleteMode)
	route("GET /contexts", func(http.ResponseWriter, *http.Request) (any, error) { return []string{"."}, nil })
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if _, pattern := mux.Handler(req); pattern == "" {
			// Confluent's shape for unknown routes and methods.
			for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
				other := req.Clone(req.Context())
				other.Method = m
				if _, p := mux.Handler(other); p != "" {
					writeJSON(w, http.StatusMethodNotAllowed, &Error{Code: 405, Message: "HTTP 405 Method Not Allowed"})
					return
				}
			}
			writeJSON(w, http.StatusNotFound, &Error{Code: 404, Message: "HTTP 404 Not Found"})
			return
		}
		mux.ServeHTTP(w, req)
	})
}

type api struct{ r *Registry }

// rawText is a response body sent as is (the /schema endpoints).
type rawText string

// rawJSON is an already encoded JSON response body.
type rawJSON []byte

var contentTypeHeader = []string{ContentType}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error_code":50001,"message":"encode response"}`)
	}
	w.Header().Set("Content-Type", ContentType)
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func checkContentType(req *http.Request) *Error {
	if req.Method != http.MethodPost && req.Method != http.MethodPut {
		return nil
	}
	ct := req.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return &Error{Code: 415, Message: "HTTP 415 Unsupported Media Type: " + ct}
	}
	switch mt {
	case "application/vnd.schemaregistry.v1+json", "application/vnd.schemaregistry+json", "application/json", "application/octet-stream":
		return nil
	}
	return &Error{Code: 415, Message: "HTTP 415 Unsupported Media Type: " + ct + " (use application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json or application/json)"}
}

func decode(req *http.Request, v any) error {
	body, err := io.ReadAll(io.LimitReader(req.Body, maxBody+1))
	if err != nil {
		return &Error{Code: 400, Message: "read request body: " + err.Error()}
	}
	if len(body) > maxBody {
		return &Error{Code: CodeSchemaTooLarge, Message: fmt.Sprintf("Schema too large: the request body is over %d bytes", maxBody)}
	}
	if err := json.Unmarshal(body, v); err != nil {
		return &Error{Code: 400, Message: "Unrecognized request body: " + err.Error()}
	}
	return nil
}

func boolParam(req *http.Request, name string) bool {
	b, _ := strconv.ParseBool(req.URL.Query().Get(name))
	return b
}

func idParam(req *http.Request) (int, error) {
	id, err := strconv.Atoi(req.PathValue("id"))
	if err != nil || id < 0 {
		return 0, errorf(CodeSchemaNotFound, "Schema %s not found", req.PathValue("id"))
	}
	return id, nil
}

func versionParam(req *http.Request) (int, error) {
	return ParseVersion(req.PathValue("version"))
}

func (h *api) schemaByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	if req.URL.RawQuery == "" {
		b, err := h.r.SchemaByIDJSON(id)
		if err != nil {
			return nil, err
		}
		return rawJSON(b), nil
	}
	s, err := h.r.SchemaByID(id)
	if err != nil {
		return nil, err
	}
	// As Confluent: the subject must hold the id, in a live or a
	// soft-deleted version (a deserializer still reads old records).
	if subj := req.URL.Query().Get("subject"); subj != "" && !h.r.hasID(subj, id, true) {
		return nil, schemaNotFound(id)
	}
	return h.format(req, s)
}

// format applies the format query parameter: format=serialized answers a
// PROTOBUF schema as its base64 FileDescriptorProto, whatever form it was
// registered in (what Confluent's Node.js and Go deserializers ask for).
// Other formats return the schema as registered.
func (h *api) format(req *http.Request, s Schema) (Schema, error) {
	if req.URL.Query().Get("format") != "serialized" || s.SchemaType != string(schema.Protobuf) {
		return s, nil
	}
	c, err := h.r.Compiled(s.ID)
	if err != nil {
		return Schema{}, err
	}
	s.Schema = c.Canonical()
	return s, nil
}

func (h *api) rawSchemaByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	s, err := h.r.SchemaByID(id)
	if err != nil {
		return nil, err
	}
	return rawText(s.Schema), nil
}

func (h *api) subjectsByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	svs, err := h.r.SubjectVersionsByID(id, boolParam(req, "deleted"))
	if err != nil {
		return nil, err
	}
	out := []string{}
	for _, sv := range svs {
		if len(out) == 0 || out[len(out)-1] != sv.Subject {
			out = append(out, sv.Subject)
		}
	}
	return out, nil
}

func (h *api) versionsByID(_ http.ResponseWriter, req *http.Request) (any, error) {
	id, err := idParam(req)
	if err != nil {
		return nil, err
	}
	return h.r.SubjectVersionsByID(id, boolParam(req, "deleted"))
}

func (h *api) schemas(_ http.ResponseWriter, req *http.Request) (any, error) {
	q := SchemasQuery{
		SubjectPrefix: req.URL.Query().Get("subjectPrefix"),
		Deleted:       boolParam(req, "deleted"),
		LatestOnly:    boolParam(req, "latestOnly"),
	}
	var err error
	if q.Offset, err = intParam(req, "offset"); err != nil {
		return nil, err
	}
	if q.Limit, err = intParam(req, "limit"); err != nil {
		return nil, err
	}
	return h.r.Schemas(q), nil
}

// intParam parses an optional non-negative integer query parameter.
func intParam(req *http.Request, name string) (int, error) {
	s := req.URL.Query().Get(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, &Error{Code: 400, Message: fmt.Sprintf("query parameter %s=%q: want a non-negative integer", name, s)}
	}
	return n, nil
}

func (h *api) subjects(_ http.ResponseWriter, req *http.Request) (any, error) {
	return h.r.SubjectsFiltered(req.URL.Query().Get("subjectPrefix"), boolParam(req, "deleted"), boolParam(req, "deletedOnly")), nil
}

func (h *api) versions(_ http.ResponseWriter, req *http.Request) (any, error) {
	return h.r.VersionsFiltered(req.PathValue("subject"), boolParam(req, "deleted"), boolParam(req, "deletedOnly"))
}

func (h *api) register(_ http.ResponseWriter, req *http.Request) (any, error) {
	var body RegisterRequest
	if err := decode(req, &body); err != nil {
		return nil, err
	}
	body.Normalize = boolParam(req, "normalize")
	id, err := h.r.Register(req.PathValue("subject"), body)
	if err != nil {
		return nil, err
	}
	return map[string]int{"id": id}, nil
}

func (h *api) version(_ http.ResponseWriter, req *http.Request) (any, error) {
	n, err := versionParam(req)
	if err != nil {
		return nil, err
	}
	s, err := h.r.Version(req.PathValue("subject"), n, boolParam(req, "deleted"))
	if err != nil {
		return nil, err
	}
	return h.format(req, s)
}

func (h *api) rawVersion(_ http.ResponseWriter, req *http.Request) (any, error) {
	n, err := versionParam(req)
	if err != nil {
		return nil, err
	}
	s, err := h.r.Version(req.PathValue("subject"), n, boolParam(req, "deleted"))
	if err != nil {
		return nil, err
	}
	return rawText(s.Schema), nil
}

func (h *api) referencedBy(_ http.ResponseWriter, req *http.Request) (any, error) {
	n, err := versionParam(req)
	if err != nil {
		return nil, err
	}
	return h.r.ReferencedBy(req.PathValue("subject"), n)
}

func (h *api) deleteVersion(_ http.ResponseWriter, req *http.Request) (any, error) {
	n, err := versionParam(req)
	if err != nil {
		return nil, err
	}
	return h.r.DeleteVersion(req.PathValue("subject"), n, boolParam(req, "permanent"))
}

func (h *api) lookup(_ http.ResponseWriter, req *http.Request) (any, error) {
	var body RegisterRequest
	if err := decode(req, &body); err != nil {
		return nil, err
	}
	body.Normalize = boolParam(req, "normalize")
	return h.r.Lookup(req.PathValue("subject"), body, boolParam(req, "deleted"))
}

func (h *api) deleteSubject(_ http.ResponseWriter, req *http.Request) (any, error) {
	return h.r.DeleteSubject(req.PathValue("subject"), boolParam(req, "permanent"))
}

func (h *api) compatibility(_ http.ResponseWriter, req *http.Request) (any, error) {
	n := 0
	if req.PathValue("version") != "" {
		var err error
		if n, err = versionParam(req); err != nil {
			return nil, err
		}
	}
	var body RegisterRequest
	if err := decode(req, &body); err != nil {
		return nil, err
	}
	body.Normalize = boolParam(req, "normalize")
	ok, msgs, err := h.r.CheckCompatibility(req.PathValue("subject"), n, body)
	if err != nil {
		return nil, err
	}
	out := map[string]any{"is_compatible": ok}
	if boolParam(req, "verbose") {
		if msgs == nil {
			msgs = []string{}
		}
		out["messages"] = msgs
	}
	return out, nil
}

func (h *api) getConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	l, err := h.r.Config(req.PathValue("subject"), boolParam(req, "defaultToGlobal"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"compatibilityLevel": string(l)}, nil
}

func (h *api) putConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	var body struct {
		Compatibility string `json:"compatibility"`
	}
	if err := decode(req, &body); err != nil {
		return nil, err
	}
	l, err := h.r.SetConfig(req.PathValue("subject"), body.Compatibility)
	if err != nil {
		return nil, err
	}
	return map[string]string{"compatibility": string(l)}, nil
}

func (h *api) deleteConfig(_ http.ResponseWriter, req *http.Request) (any, error) {
	l, err := h.r.DeleteConfig(req.PathValue("subject"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"compatibilityLevel": string(l)}, nil
}

func (h *api) getMode(_ http.ResponseWriter, req *http.Request) (any, error) {
	m, err := h.r.Mode(req.PathValue("subject"), boolParam(req, "defaultToGlobal"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"mode": m}, nil
}

func (h *api) putMode(_ http.ResponseWriter, req *http.Request) (any, error) {
	var body struct {
		Mode string `json:"mode"`
	}
	if err := decode(req, &body); err != nil {
		return nil, err
	}
	m, err := h.r.SetMode(req.PathValue("subject"), body.Mode, boolParam(req, "force"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"mode": m}, nil
}

func (h *api) deleteMode(_ http.ResponseWriter, req *http.Request) (any, error) {
	m, err := h.r.DeleteMode(req.PathValue("subject"))
	if err != nil {
		return nil, err
	}
	return map[string]string{"mode": m}, nil
}
