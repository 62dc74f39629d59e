package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/errtext"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/share"
)

// failureLog rate-limits the log lines of storage failures.
var failureLog errtext.Limiter

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

// errorTable is the one place that turns domain errors into HTTP answers:
// a static table, first match wins. Routes return errors; they never write
// statuses themselves. The broker's own errors are mapped, never those of
// the log under it. Unmatched errors are 500 internal and logged.
// docs/http-api.md lists the codes.
var errorTable = [...]errorRule{
	// Event store (the /v1/topics/{topic}/streams routes).
	{is(eventstore.ErrWrongExpectedVersion), http.StatusConflict, "wrong_expected_version"},
	{is(eventstore.ErrStreamNotFound), http.StatusNotFound, "stream_not_found"},
	{is(eventstore.ErrInvalidStream), http.StatusBadRequest, "invalid_stream"},
	{is(eventstore.ErrInvalidEvent), http.StatusBadRequest, "invalid_event"},
	{is(eventstore.ErrInvalidExpectedVersion), http.StatusBadRequest, "invalid_expected_version"},
	{is(eventstore.ErrNotStreamTopic), http.StatusBadRequest, "not_stream_topic"},
	{is(registry.ErrInvalidRecord), http.StatusBadRequest, "schema_validation"},
	{is(eventstore.ErrClosed), http.StatusServiceUnavailable, "not_ready"},
	{is(eventstore.ErrCorruptBatch), http.StatusInternalServerError, "corrupt_data"},
	// Share groups (the /v1/share-groups queue routes).
	{is(share.ErrGroupNotFound), http.StatusNotFound, "share_group_not_found"},
	{is(share.ErrInvalidRecordState), http.StatusConflict, "invalid_record_state"},
	{is(share.ErrUnknownPartition), http.StatusNotFound, "topic_not_found"},
	{is(share.ErrInvalidRequest), http.StatusBadRequest, "bad_request"},
	{is(share.ErrInvalidAck), http.StatusBadRequest, "bad_request"},
	{is(share.ErrGroupNotEmpty), http.StatusConflict, "share_group_not_empty"},
	// Broker.
	{is(broker.ErrInvalidTopic), http.StatusBadRequest, "invalid_topic"},
	{is(broker.ErrUnknownTopic), http.StatusNotFound, "topic_not_found"},
	{is(broker.ErrMessageTooLarge), http.StatusRequestEntityTooLarge, "message_too_large"},
	{is(broker.ErrClosed), http.StatusServiceUnavailable, "not_ready"},
	{is(broker.ErrPartitionClosed), http.StatusServiceUnavailable, "not_ready"},
	// Views (the /v1/views routes; a bad filter= of a subscription is a
	// bad_request).
	{is(broker.ErrInvalidConfig), http.StatusBadRequest, "invalid_filter"},
	{is(broker.ErrTopicExists), http.StatusConflict, "topic_exists"},
	{is(broker.ErrInvalidPartitions), http.StatusBadRequest, "invalid_partitions"},
	{is(broker.ErrViewSource), http.StatusConflict, "view_source"},
	// Admin write routes without --console-write.
	{is(ErrWritesDisabled), http.StatusForbidden, "forbidden"},
	{as[*AuthorizationError](), http.StatusForbidden, "authorization_failed"},
	// Generic.
	{as[*BadRequestError](), http.StatusBadRequest, "bad_request"},
	{as[*http.MaxBytesError](), http.StatusRequestEntityTooLarge, "request_too_large"},
	{is(ErrNotFound), http.StatusNotFound, "not_found"},
	{is(ErrConflict), http.StatusConflict, "conflict"},
	{is(ErrNotReady), http.StatusServiceUnavailable, "not_ready"},
	{is(ErrBusy), http.StatusServiceUnavailable, "busy"},
	{errtext.IsStorage, http.StatusInsufficientStorage, "storage_error"},
	{is(context.DeadlineExceeded), http.StatusGatewayTimeout, "timeout"},
	// 499 is nginx's "client closed request": nobody reads it, but the
	// metrics then tell cancellations apart from server failures.
	{is(context.Canceled), 499, "client_closed"},
}

// ErrorBody is the JSON body of every error answer, whatever its status:
// {"error": {"code": "not_found", "message": "topic \"x\": not found"}}.
// Some codes add fields inside "error" (wrong_expected_version: stream,
// expected, actual).
type ErrorBody struct {
	Error ErrorDetail `json:"error"`
}

// ErrorDetail is the inside of ErrorBody.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Stream, Expected and Actual describe a wrong_expected_version
	// conflict: the stream, the version the append expected and the
	// stream's current version (-1: no events).
	Stream   string                      `json:"stream,omitempty"`
	Expected *eventstore.ExpectedVersion `json:"expected,omitempty"`
	Actual   *int64                      `json:"actual,omitempty"`
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
	msg := errtext.StripPaths(err.Error())
	switch {
	case code == "corrupt_data":
		// The message names topic, partition and offset (no paths):
		// what the client needs to report it. Logged once per episode.
		if ok, suppressed := failureLog.Allow(code); ok {
			s.log.Error("http read met a corrupt batch", "method", r.Method, "path", r.URL.Path, "err", err, "suppressed_since_last", suppressed)
		}
	case status == http.StatusInternalServerError:
		s.log.Error("http request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log"
	case status == http.StatusInsufficientStorage:
		// Every request fails while the disk is full: log the episode,
		// not each request.
		if ok, suppressed := failureLog.Allow(code); ok {
			s.log.Error("http storage failure", "method", r.Method, "path", r.URL.Path, "err", err, "suppressed_since_last", suppressed)
		}
	}
	d := ErrorDetail{Code: code, Message: msg}
	var wev *eventstore.WrongExpectedVersionError
	if errors.As(err, &wev) {
		d.Stream, d.Expected, d.Actual = wev.Stream, &wev.Expected, &wev.Actual
	}
	WriteJSON(w, status, ErrorBody{Error: d})
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
