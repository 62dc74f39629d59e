package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
)

// Errors a route can return; the table below maps them to HTTP statuses.
var (
	// ErrNotFound: the named resource does not exist (404 not_found).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with current state (409 conflict).
	ErrConflict = errors.New("conflict")
	// ErrNotReady: the server cannot answer yet, e.g. during recovery or
	// shutdown (503 not_ready).
	ErrNotReady = errors.New("server not ready")
)

// BadRequestError is returned for a malformed request: bad JSON, a missing
// or invalid parameter (400 bad_request).
type BadRequestError struct {
	// Param names the offending parameter or field, if one.
	Param string
	Msg   string
}

func (e *BadRequestError) Error() string {
	if e.Param == "" {
		return e.Msg
	}
	return e.Param + ": " + e.Msg
}

// BadRequest returns a *BadRequestError for param.
func BadRequest(param, format string, args ...any) error {
	return &BadRequestError{Param: param, Msg: fmt.Sprintf(format, args...)}
}

// errorRule maps errors matching one test to a status and a stable code
// that clients can switch on. First match wins.
type errorRule struct {
	match  func(error) bool
	status int
	code   string
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func as[T error]() func(error) bool {
	return func(err error) bool { var t T; return errors.As(err, &t) }
}

// errorTable is the one place that turns domain errors into HTTP answers.
// Later routes add their domain sentinels and typed errors here (e.g. a
// broker unknown-topic error → 404 topic_not_found, an event-store version
// conflict → 409 wrong_expected_version) rather than writing statuses in
// handlers. Unmatched errors are 500 internal and logged.
var errorTable = []errorRule{
	{as[*BadRequestError](), http.StatusBadRequest, "bad_request"},
	{as[*http.MaxBytesError](), http.StatusRequestEntityTooLarge, "request_too_large"},
	{is(ErrNotFound), http.StatusNotFound, "not_found"},
	{is(ErrConflict), http.StatusConflict, "conflict"},
	{is(ErrNotReady), http.StatusServiceUnavailable, "not_ready"},
	{is(context.DeadlineExceeded), http.StatusGatewayTimeout, "timeout"},
	// 499 is nginx's "client closed request": nobody reads it, but the
	// metrics then tell cancellations apart from server failures.
	{is(context.Canceled), 499, "client_closed"},
}

// ErrorBody is the JSON body of every error answer:
// {"error": {"code": "not_found", "message": "topic \"x\": not found"}}.
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// StatusOf returns the HTTP status and error code the table gives err.
func StatusOf(err error) (status int, code string) {
	for _, r := range errorTable {
		if r.match(err) {
			return r.status, r.code
		}
	}
	return http.StatusInternalServerError, "internal"
}

// WriteError answers the request with err mapped through the error table.
// Internal errors are logged and their text is not sent to the client.
func (s *Server) WriteError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := StatusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.log.Error("http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log"
	}
	WriteJSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: msg}})
}

// WriteJSON writes v as an indented JSON body with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, `{"error":{"code":"internal","message":"encode response"}}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
