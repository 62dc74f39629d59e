// Package eventstore is the Go client of Eddy's event store: append events
// to a stream (the records with one key in one topic) with an expected
// version, read a stream, subscribe to it, and load and save aggregates by
// replaying their events.
//
// It speaks Eddy's HTTP API (docs/http-api.md). A Client is safe for
// concurrent use.
//
// Usage:
//
//	c, err := eventstore.New("http://localhost:8080")
//	ev, _ := eventstore.NewEvent("OrderCreated", OrderCreated{ID: "42", Total: 99.5})
//	res, err := c.Append(ctx, "orders", "order-42", eventstore.NoStream{}, ev)
//	var wev *eventstore.WrongExpectedVersionError
//	if errors.As(err, &wev) { ... wev.Actual ... }
//	page, err := c.Read(ctx, "orders", "order-42", eventstore.ReadOptions{})
//
//	repo := eventstore.NewRepository(c, "orders", func() *Order { return &Order{} })
//	_, err = repo.Update(ctx, "order-42", func(o *Order) ([]eventstore.EventData, error) { return o.Pay() })
package eventstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Client talks to one Eddy server's HTTP listener.
type Client struct {
	base string
	// hc is the HTTPClient option's client; without it, rt is
	// defaultTransport and requests go to it directly, without
	// http.Client's redirect and timeout bookkeeping (the API never
	// redirects; contexts bound requests).
	hc *http.Client
	rt http.RoundTripper
}

type cfg struct {
	hc      *http.Client
	maxIdle int
}

// Opt configures New.
type Opt interface{ apply(*cfg) }

type optFunc func(*cfg)

func (f optFunc) apply(c *cfg) { f(c) }

// HTTPClient sets the *http.Client used for requests. Default: a client
// without a timeout (subscriptions are long-lived; use contexts) whose
// transport (defaultTransport) keeps up to 128 idle keep-alive connections
// per server.
func HTTPClient(hc *http.Client) Opt { return optFunc(func(c *cfg) { c.hc = hc }) }

// MaxIdleConns sets how many idle keep-alive connections per server the
// Client's own transport keeps (default 128; ignored with HTTPClient). A
// Client with more requests in flight at once than that closes the
// connections beyond it as their requests end, and dials anew for the
// next ones: a dial and an accept per request. Give it about the number
// of goroutines that use the Client at once.
func MaxIdleConns(n int) Opt { return optFunc(func(c *cfg) { c.maxIdle = n }) }

// defaultTransport runs http:// requests on the caller's goroutine over
// pooled keep-alive connections (connTransport), and https:// ones through
// a clone of http.DefaultTransport. Both keep room for the idle connections
// of a Client shared by many goroutines: net/http's default keeps 2 per
// host and closes the connections that go idle beyond those, to dial again
// for the next request (TestDefaultClientReusesConnections: 32 goroutines,
// 960 appends: 48-49 connections with net/http's default, 32 with this one).
var defaultTransport = newTransport(128)

// newTransport returns the transport of a Client keeping up to maxIdle
// idle connections per server.
func newTransport(maxIdle int) *connTransport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = max(1024, maxIdle)
	t.MaxIdleConnsPerHost = maxIdle
	return newConnTransport(t, maxIdle, t.IdleConnTimeout)
}

// New returns a Client for the server at baseURL ("http://host:8080").
func New(baseURL string, opts ...Opt) (*Client, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("eventstore: base URL %q: want http(s)://host:port", baseURL)
	}
	var c cfg
	for _, o := range opts {
		o.apply(&c)
	}
	cl := &Client{base: strings.TrimRight(baseURL, "/"), hc: c.hc}
	switch {
	case cl.hc != nil:
	case c.maxIdle > 0 && c.maxIdle != 128:
		cl.rt = newTransport(c.maxIdle)
	default:
		cl.rt = defaultTransport
	}
	return cl, nil
}

// ExpectedVersion is the condition of an append: Any{}, NoStream{},
// StreamExists{} or Version(n), the version of the stream's last event.
// It is sealed, as KurrentDB's StreamState: only this package's four types
// implement it, so a switch over them is exhaustive.
type ExpectedVersion interface {
	json.Marshaler
	fmt.Stringer
	expectedVersion()
}

// Any appends whatever the stream's version.
type Any struct{}

// NoStream appends only to a stream without events.
type NoStream struct{}

// StreamExists appends only to a stream with at least one event.
type StreamExists struct{}

// Version appends only if the stream's last event has this version (the
// first event is version 0).
type Version int64

// MarshalJSON implements json.Marshaler.
func (Any) MarshalJSON() ([]byte, error) { return []byte(`"any"`), nil }

// MarshalJSON implements json.Marshaler.
func (NoStream) MarshalJSON() ([]byte, error) { return []byte(`"no_stream"`), nil }

// MarshalJSON implements json.Marshaler.
func (StreamExists) MarshalJSON() ([]byte, error) { return []byte(`"exists"`), nil }

// MarshalJSON implements json.Marshaler.
func (v Version) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(int64(v), 10)), nil }

// String renders the marker as the HTTP API spells it.
func (Any) String() string { return "any" }

// String renders the marker as the HTTP API spells it.
func (NoStream) String() string { return "no_stream" }

// String renders the marker as the HTTP API spells it.
func (StreamExists) String() string { return "exists" }

// String renders the version as a decimal number.
func (v Version) String() string { return strconv.FormatInt(int64(v), 10) }

func (Any) expectedVersion()          {}
func (NoStream) expectedVersion()     {}
func (StreamExists) expectedVersion() {}
func (Version) expectedVersion()      {}

func parseExpected(raw json.RawMessage) ExpectedVersion {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		switch s {
		case "no_stream":
			return NoStream{}
		case "exists":
			return StreamExists{}
		}
		return Any{}
	}
	var n int64
	_ = json.Unmarshal(raw, &n)
	return Version(n)
}

// WrongExpectedVersionError is returned by Append when the stream's
// version did not match. Actual is the stream's current version (-1: no
// events).
type WrongExpectedVersionError struct {
	Stream   string
	Expected ExpectedVersion
	Actual   int64
}

// Error names the stream, the expected and the actual version.
func (e *WrongExpectedVersionError) Error() string {
	return fmt.Sprintf("wrong expected version for stream %q: expected %s, actual %d", e.Stream, e.Expected, e.Actual)
}

// ErrStreamNotFound is what a Read of a stream without events wraps:
// errors.Is(err, ErrStreamNotFound) holds for its *StreamNotFoundError.
var ErrStreamNotFound = errors.New("stream not found")

// StreamNotFoundError is returned by Read for a stream without events.
type StreamNotFoundError struct {
	Topic  string
	Stream string
}

// Error names the stream and its topic.
func (e *StreamNotFoundError) Error() string {
	return fmt.Sprintf("stream %q not found in topic %q", e.Stream, e.Topic)
}

// Is reports whether target is ErrStreamNotFound.
func (e *StreamNotFoundError) Is(target error) bool { return target == ErrStreamNotFound }

// APIError is any other error answer of the server.
type APIError struct {
	Status  int
	Code    string
	Message string
}

// Error renders status, code and message.
func (e *APIError) Error() string {
	return fmt.Sprintf("eddy: %d %s: %s", e.Status, e.Code, e.Message)
}

// EventData is an event to append.
type EventData struct {
	// ID identifies the event; retrying an append with the same ids is
	// idempotent. NewEvent fills it with a random UUID.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Data is the event body, JSON.
	Data json.RawMessage `json:"data,omitempty"`
	// Metadata is an optional JSON object.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// NewEvent returns an event of type typ with data marshalled to JSON and a
// random UUID (v4) id.
func NewEvent(typ string, data any) (EventData, error) {
	b, err := json.Marshal(data)
	if err != nil {
		return EventData{}, fmt.Errorf("marshal %s data: %w", typ, err)
	}
	return EventData{ID: NewID(), Type: typ, Data: b}, nil
}

// NewID returns a random UUID v4.
func NewID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// RecordedEvent is a stored event.
type RecordedEvent struct {
	Stream    string `json:"stream"`
	Version   int64  `json:"version"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// Timestamp is milliseconds since the epoch; Time converts it.
	Timestamp int64           `json:"timestamp"`
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Data      json.RawMessage `json:"data"`
	// DataBase64 is set instead of Data for non-JSON values written by
	// plain Kafka producers.
	DataBase64 []byte          `json:"dataBase64"`
	Metadata   json.RawMessage `json:"metadata"`
}

// Time is the event's record timestamp.
func (e RecordedEvent) Time() time.Time { return time.UnixMilli(e.Timestamp) }

// Decode unmarshals the event's data into v.
func (e RecordedEvent) Decode(v any) error {
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("decode %s event %s: %w", e.Type, e.ID, err)
	}
	return nil
}

// AppendResult describes an append.
type AppendResult struct {
	FirstVersion int64 `json:"firstVersion"`
	LastVersion  int64 `json:"lastVersion"`
	Partition    int32 `json:"partition"`
	Offset       int64 `json:"offset"`
	// Duplicate: the events were already stored (idempotent retry).
	Duplicate bool `json:"duplicate"`
}

func (c *Client) streamURL(topic, stream string) string {
	return c.base + "/v1/topics/" + url.PathEscape(topic) + "/streams/" + url.PathEscape(stream)
}

// Append appends events to stream in topic, atomically, if the stream's
// version matches expected; otherwise it returns a
// *WrongExpectedVersionError.
func (c *Client) Append(ctx context.Context, topic, stream string, expected ExpectedVersion, events ...EventData) (AppendResult, error) {
	if expected == nil {
		expected = Any{}
	}
	// A fresh buffer per request: the transport may still read a request's
	// body after Do returns (net/http.RoundTripper), so it is not pooled.
	size := 64
	for _, e := range events {
		size += len(e.ID) + len(e.Type) + len(e.Data) + len(e.Metadata) + 48
	}
	body, err := appendRequestJSON(make([]byte, 0, size), expected, events)
	if err != nil {
		return AppendResult{}, fmt.Errorf("encode append: %w", err)
	}
	var res AppendResult
	err = c.send(ctx, http.MethodPost, c.streamURL(topic, stream), body, func(raw []byte) error {
		return decodeAppendResult(raw, &res)
	})
	return res, err
}

// ReadOptions selects a page of a stream.
type ReadOptions struct {
	// From is the first version; nil means the start (forward) or the
	// last event (backward).
	From *int64
	// Limit is the page size; 0 means the server's default (100).
	Limit int
	// Backward reads towards version 0.
	Backward bool
}

// ReadResult is one page of a stream.
type ReadResult struct {
	Stream string `json:"stream"`
	// Version is the stream's current version.
	Version int64 `json:"version"`
	// StreamStart is the first version still stored (above 0 when
	// retention deleted older events).
	StreamStart int64           `json:"streamStart"`
	Events      []RecordedEvent `json:"events"`
	// Next is the From of the next page; nil at the end.
	Next *int64 `json:"next"`
}

// Read returns one page of a stream; a *StreamNotFoundError if it has no
// events.
func (c *Client) Read(ctx context.Context, topic, stream string, o ReadOptions) (ReadResult, error) {
	q := url.Values{}
	if o.From != nil {
		q.Set("from", strconv.FormatInt(*o.From, 10))
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Backward {
		q.Set("direction", "backward")
	}
	u := c.streamURL(topic, stream)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var res ReadResult
	err := c.do(ctx, http.MethodGet, u, nil, &res)
	if errors.Is(err, ErrStreamNotFound) {
		return res, &StreamNotFoundError{Topic: topic, Stream: stream}
	}
	return res, err
}

// ReadAll returns every event of a stream from version from on, following
// pages.
func (c *Client) ReadAll(ctx context.Context, topic, stream string, from int64) ([]RecordedEvent, int64, error) {
	var out []RecordedEvent
	for {
		page, err := c.Read(ctx, topic, stream, ReadOptions{From: &from, Limit: 1000})
		if err != nil {
			return out, -1, err
		}
		out = append(out, page.Events...)
		if page.Next == nil {
			return out, page.Version, nil
		}
		from = *page.Next
	}
}

func (c *Client) do(ctx context.Context, method, u string, body []byte, out any) error {
	return c.send(ctx, method, u, body, func(raw []byte) error { return json.Unmarshal(raw, out) })
}

// send makes one request and hands a 2xx answer's body to decode.
func (c *Client) send(ctx context.Context, method, u string, body []byte, decode func([]byte) error) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	if body != nil {
		req.Header["Content-Type"] = jsonContentType
	}
	resp, err := c.roundTrip(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	raw, err := readResponse(resp)
	if err != nil {
		return fmt.Errorf("%s %s: read response: %w", method, u, err)
	}
	if resp.StatusCode/100 == 2 {
		if err := decode(raw); err != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, u, err)
		}
		return nil
	}
	return decodeError(resp.StatusCode, raw)
}

// roundTrip sends req through the client's transport.
func (c *Client) roundTrip(req *http.Request) (*http.Response, error) {
	if c.rt != nil {
		return c.rt.RoundTrip(req)
	}
	return c.hc.Do(req)
}

// maxResponse bounds the answers the client reads.
const maxResponse = 256 << 20

// readResponse reads an answer's body, in one allocation when the server
// said its length.
func readResponse(resp *http.Response) ([]byte, error) {
	if n := resp.ContentLength; n >= 0 && n <= maxResponse {
		raw := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, raw); err != nil {
			return nil, err
		}
		return raw, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, maxResponse))
}

func decodeError(status int, raw []byte) error {
	// Every error body is {"error": {"code", "message", ...}}; a
	// wrong_expected_version conflict adds stream, expected and actual.
	var e struct {
		Error struct {
			Code     string          `json:"code"`
			Message  string          `json:"message"`
			Stream   string          `json:"stream"`
			Expected json.RawMessage `json:"expected"`
			Actual   int64           `json:"actual"`
		} `json:"error"`
	}
	if err := json.Unmarshal(raw, &e); err == nil && status == http.StatusConflict && e.Error.Code == "wrong_expected_version" {
		return &WrongExpectedVersionError{Stream: e.Error.Stream, Expected: parseExpected(e.Error.Expected), Actual: e.Error.Actual}
	}
	apiErr := &APIError{Status: status, Code: e.Error.Code, Message: e.Error.Message}
	if apiErr.Code == "" {
		apiErr.Message = strings.TrimSpace(string(raw))
	}
	if apiErr.Code == "stream_not_found" {
		return ErrStreamNotFound // Read names the stream
	}
	return apiErr
}

// BaseURL returns the server URL the client was made with.
func (c *Client) BaseURL() string { return c.base }
