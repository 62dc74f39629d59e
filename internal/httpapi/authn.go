package httpapi

import (
	"net/http"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// Realm is the HTTP Basic realm of every Eddy listener.
const Realm = "eddy"

// RequireBasic wraps h so that every request but those public reports
// carries HTTP Basic credentials that v accepts; the principal goes into
// the request context (auth.WithPrincipal) for the handlers and the
// authorizer. Missing credentials answer 401 with WWW-Authenticate (a
// browser then shows its login prompt, which is how the console gets
// one), wrong ones 401 too, with one generic message. Public requests
// pass as auth.Anonymous.
func RequireBasic(v auth.PasswordVerifier, public func(*http.Request) bool, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public != nil && public(r) {
			h.ServeHTTP(w, r)
			return
		}
		user, pass, ok := r.BasicAuth()
		if !ok {
			unauthorized(w, "authentication required: send HTTP Basic credentials of an Eddy user")
			return
		}
		p, err := v.VerifyPassword(r.Context(), user, pass)
		if err != nil {
			unauthorized(w, auth.ErrBadCredentials.Error())
			return
		}
		h.ServeHTTP(w, r.WithContext(auth.WithPrincipal(r.Context(), p)))
	})
}

func unauthorized(w http.ResponseWriter, msg string) {
	w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
	WriteJSON(w, http.StatusUnauthorized, ErrorBody{Error: ErrorDetail{Code: "unauthorized", Message: msg}})
}

// publicPath reports whether a request needs no credentials: the probes,
// and /metrics when MetricsPublic.
func (s *Server) publicPath(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz":
		return true
	case "/metrics":
		return s.cfg.MetricsPublic
	}
	return false
}
