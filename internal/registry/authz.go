package registry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/auth"
)

// Authorize wraps the registry's handler h with ACL checks, as
// Confluent's registry ACLs do, on the resource type SUBJECT
// (acl.ResourceTypeSubject) and the cluster:
//
//   - reading a subject (its versions, schemas, config, mode, lookups and
//     compatibility checks) needs DESCRIBE on the SUBJECT or the cluster;
//   - changing one (registering, deleting, setting its config or mode)
//     needs ALTER on the SUBJECT or the cluster;
//   - the global config and mode: DESCRIBE / ALTER on the cluster;
//   - GET /subjects lists the subjects the caller may DESCRIBE;
//   - a schema by id (what deserializers fetch) needs DESCRIBE on the
//     cluster or on a subject the id is registered under;
//   - /, /schemas/types and /contexts hold nothing and are open.
//
// A refusal is 403 with Confluent's error_code 40301. The principal is
// auth.FromContext (the authentication middleware's); the host is the
// remote address. With a nil a, h is returned as is.
func Authorize(h http.Handler, reg *Registry, a auth.Authorizer) http.Handler {
	if a == nil {
		return h
	}
	z := &authz{h: h, reg: reg, a: a, mux: http.NewServeMux()}
	rule := func(pattern string, f func(w http.ResponseWriter, r *http.Request, can func(op kmsg.ACLOperation, subject string) bool)) {
		z.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
			p, host := auth.FromContext(r.Context()), remoteHost(r)
			f(w, r, func(op kmsg.ACLOperation, subject string) bool {
				if a.Authorize(p, host, op, kmsg.ACLResourceTypeCluster, acl.ClusterName) {
					return true
				}
				return subject != "" && a.Authorize(p, host, op, acl.ResourceTypeSubject, subject)
			})
		})
	}
	const describe, alter = kmsg.ACLOperationDescribe, kmsg.ACLOperationAlter
	subject := func(op kmsg.ACLOperation) func(http.ResponseWriter, *http.Request, func(kmsg.ACLOperation, string) bool) {
		return func(w http.ResponseWriter, r *http.Request, can func(kmsg.ACLOperation, string) bool) {
			s := r.PathValue("subject")
			if !can(op, s) {
				denied(w, op, "Subject:"+s)
				return
			}
			z.h.ServeHTTP(w, r)
		}
	}
	cluster := func(op kmsg.ACLOperation) func(http.ResponseWriter, *http.Request, func(kmsg.ACLOperation, string) bool) {
		return func(w http.ResponseWriter, r *http.Request, can func(kmsg.ACLOperation, string) bool) {
			if !can(op, "") {
				denied(w, op, "Cluster:"+acl.ClusterName)
				return
			}
			z.h.ServeHTTP(w, r)
		}
	}
	open := func(w http.ResponseWriter, r *http.Request, _ func(kmsg.ACLOperation, string) bool) {
		z.h.ServeHTTP(w, r)
	}
	rule("GET /{$}", open)
	rule("GET /schemas/types", open)
	rule("GET /contexts", open)
	rule("GET /schemas/ids/{id}/", z.byID)
	rule("GET /schemas/ids/{id}", z.byID)
	rule("GET /subjects", z.listSubjects)
	for _, p := range []string{
		"GET /subjects/{subject}/", "POST /subjects/{subject}", "POST /compatibility/subjects/{subject}/",
		"GET /config/{subject}", "GET /mode/{subject}",
	} {
		rule(p, subject(describe))
	}
	for _, p := range []string{
		"POST /subjects/{subject}/versions", "DELETE /subjects/{subject}", "DELETE /subjects/{subject}/",
		"PUT /config/{subject}", "DELETE /config/{subject}", "PUT /mode/{subject}", "DELETE /mode/{subject}",
	} {
		rule(p, subject(alter))
	}
	rule("GET /", cluster(describe)) // the global config and mode, and routes added later
	rule("/", cluster(alter))
	return z.mux
}

type authz struct {
	h   http.Handler
	reg *Registry
	a   auth.Authorizer
	mux *http.ServeMux
}

// byID allows a schema by id to a caller that may DESCRIBE the cluster or
// one subject the id is registered under.
func (z *authz) byID(w http.ResponseWriter, r *http.Request, can func(kmsg.ACLOperation, string) bool) {
	if can(kmsg.ACLOperationDescribe, "") {
		z.h.ServeHTTP(w, r)
		return
	}
	if id, err := strconv.Atoi(r.PathValue("id")); err == nil {
		svs, _ := z.reg.SubjectVersionsByID(id, true)
		for _, sv := range svs {
			if can(kmsg.ACLOperationDescribe, sv.Subject) {
				z.h.ServeHTTP(w, r)
				return
			}
		}
	}
	denied(w, kmsg.ACLOperationDescribe, "Schema:"+r.PathValue("id"))
}

// listSubjects answers GET /subjects with only the subjects the caller
// may DESCRIBE.
func (z *authz) listSubjects(w http.ResponseWriter, r *http.Request, can func(kmsg.ACLOperation, string) bool) {
	if can(kmsg.ACLOperationDescribe, "") {
		z.h.ServeHTTP(w, r)
		return
	}
	rec := &bufferedResponse{header: http.Header{}, status: http.StatusOK}
	z.h.ServeHTTP(rec, r)
	var subjects []string
	if rec.status != http.StatusOK || json.Unmarshal(rec.body.Bytes(), &subjects) != nil {
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.status)
		_, _ = w.Write(rec.body.Bytes())
		return
	}
	kept := []string{}
	for _, s := range subjects {
		if can(kmsg.ACLOperationDescribe, s) {
			kept = append(kept, s)
		}
	}
	writeJSON(w, http.StatusOK, kept)
}

// denied answers 403 as Confluent's registry ACLs do.
func denied(w http.ResponseWriter, op kmsg.ACLOperation, resource string) {
	verb := strings.ToUpper(op.String()[:1]) + strings.ToLower(op.String()[1:])
	writeJSON(w, http.StatusForbidden, &Error{Code: 40301, Message: fmt.Sprintf("User is denied operation %s on %s", verb, resource)})
}

// bufferedResponse collects a response to filter it.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header         { return b.header }
func (b *bufferedResponse) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedResponse) WriteHeader(status int)      { b.status = status }

func remoteHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
