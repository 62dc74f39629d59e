package httpapi

// Event-store routes (docs/http-api.md): append to and read a stream, and
// Server-Sent-Events subscriptions to a stream or a whole topic.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/registry"
)

// StreamsOptions tunes the event-store routes.
type StreamsOptions struct {
	// MaxBodyBytes bounds an append request body; default 16 MiB. (The
	// topic's max.message.bytes bounds the stored batch.)
	MaxBodyBytes int64
	// Heartbeat is the idle interval of SSE comment lines; default 15 s.
	Heartbeat time.Duration
	// Subscribe tunes subscriptions (buffer, slow-subscriber timeout).
	Subscribe eventstore.SubscribeOptions
}

// RegisterStreams adds the event-store routes for es.
func (s *Server) RegisterStreams(es *eventstore.Store, o StreamsOptions) {
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 16 << 20
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	if o.Subscribe.SlowTimeout <= 0 {
		o.Subscribe.SlowTimeout = 10 * time.Second
	}
	h := &streamRoutes{s: s, es: es, o: o, closing: make(chan struct{})}
	// Subscriptions never finish on their own: end them when the server
	// shuts down so Shutdown does not wait for them until its timeout.
	var once sync.Once
	s.srv.RegisterOnShutdown(func() { once.Do(func() { close(h.closing) }) })
	s.Handle("POST /v1/topics/{topic}/streams/{stream}", h.append)
	s.Handle("GET /v1/topics/{topic}/streams/{stream}", h.read)
	s.Handle("GET /v1/topics/{topic}/streams/{stream}/subscribe", h.subscribeStream)
	s.Handle("GET /v1/topics/{topic}/subscribe", h.subscribeTopic)
	s.Handle("GET /v1/views/{name}/subscribe", h.subscribeView)
	s.Handle("GET /v1/topics/{topic}/streams", h.searchStreams)
}

type streamRoutes struct {
	s       *Server
	es      *eventstore.Store
	o       StreamsOptions
	closing chan struct{}
}

// AppendRequest is the body of POST /v1/topics/{topic}/streams/{stream}.
type AppendRequest struct {
	// ExpectedVersion: "any" (default), "no_stream", "exists" or a number.
	ExpectedVersion *eventstore.ExpectedVersion `json:"expectedVersion"`
	Events          []eventstore.EventData      `json:"events"`
}

func (h *streamRoutes) append(w http.ResponseWriter, r *http.Request) error {
	topic, stream := r.PathValue("topic"), r.PathValue("stream")
	if err := eventstore.ValidateStream(stream); err != nil {
		return err
	}
	body, err := readBody(w, r, h.o.MaxBodyBytes)
	if err != nil {
		return err
	}
	req, ok := decodeAppendFast(body)
	if !ok {
		if req, err = decodeAppendStd(body); err != nil {
			return err
		}
	}
	exp := eventstore.Any
	if req.ExpectedVersion != nil {
		exp = *req.ExpectedVersion
	}
	res, err := h.es.Append(r.Context(), topic, stream, exp, req.Events)
	if err != nil {
		return err
	}
	var buf [128]byte
	out := appendAppendResult(buf[:0], res)
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(out)
	return nil
}

// decodeAppendStd decodes an append body with encoding/json: the
// reference for the bodies decodeAppendFast does not take, with the error
// messages of the API.
func decodeAppendStd(body []byte) (AppendRequest, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req AppendRequest
	if err := dec.Decode(&req); err != nil {
		if errors.Is(err, eventstore.ErrInvalidExpectedVersion) {
			return req, err
		}
		return req, BadRequest("body", "malformed JSON (%v); send {\"expectedVersion\": \"any\"|\"no_stream\"|\"exists\"|N, \"events\": [{\"id\", \"type\", \"data\", \"metadata\"}]}", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return req, BadRequest("body", "trailing data after the JSON object")
	}
	return req, nil
}

// writeCompactJSON is WriteJSON without indentation, for the event-store
// hot paths (appends, reads).
func writeCompactJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		WriteJSON(w, status, v)
		return
	}
	w.Header()["Content-Type"] = jsonContentType
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func queryInt(r *http.Request, name string, def, min int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < min {
		return 0, BadRequest(name, "%q is not an integer >= %d", v, min)
	}
	return n, nil
}

func (h *streamRoutes) read(w http.ResponseWriter, r *http.Request) error {
	topic, stream := r.PathValue("topic"), r.PathValue("stream")
	if err := eventstore.ValidateStream(stream); err != nil {
		return err
	}
	o := eventstore.ReadOptions{From: -1}
	switch d := r.URL.Query().Get("direction"); d {
	case "", "forward":
	case "backward":
		o.Backward = true
	default:
		return BadRequest("direction", "%q; use forward or backward", d)
	}
	var err error
	if o.From, err = queryInt(r, "from", -1, 0); err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", eventstore.DefaultReadLimit, 1)
	if err != nil {
		return err
	}
	if limit > eventstore.MaxReadLimit {
		return BadRequest("limit", "%d is above the maximum %d", limit, eventstore.MaxReadLimit)
	}
	o.Limit = int(limit)
	page, err := h.es.Read(r.Context(), topic, stream, o)
	if err != nil {
		return err
	}
	writeCompactJSON(w, http.StatusOK, page)
	return nil
}

// sse writes Server-Sent Events with heartbeats.
type sse struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	o       StreamsOptions
	closing <-chan struct{}
	// schemas, when set (decode=schema), decodes wire-format values.
	schemas *registry.Registry
}

func (h *streamRoutes) startSSE(w http.ResponseWriter) *sse {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	e := &sse{w: w, rc: http.NewResponseController(w), o: h.o, closing: h.closing}
	_ = e.rc.Flush()
	return e
}

func (e *sse) write(s string) error {
	// A reader that stops reading blocks the write; the deadline ends the
	// connection instead of holding it forever.
	_ = e.rc.SetWriteDeadline(time.Now().Add(e.o.Subscribe.SlowTimeout + 5*time.Second))
	if _, err := io.WriteString(e.w, s); err != nil {
		return err
	}
	return e.rc.Flush()
}

// run pumps a subscription into the response until it ends.
func (e *sse) run(r *http.Request, sub *eventstore.Subscription) {
	// The connection may serve further requests: clear the deadline.
	defer func() { _ = e.rc.SetWriteDeadline(time.Time{}) }()
	hb := time.NewTicker(e.o.Heartbeat)
	defer hb.Stop()
	last := ""
	for {
		select {
		case d, ok := <-sub.C:
			if !ok {
				err := sub.Err()
				if r.Context().Err() != nil {
					return
				}
				reason := "error"
				if errors.Is(err, eventstore.ErrSlowSubscriber) {
					reason = "slow_subscriber"
				} else if errors.Is(err, eventstore.ErrClosed) {
					reason = "server_closing"
				}
				b, _ := json.Marshal(map[string]string{"reason": reason, "message": fmt.Sprint(err), "resumeFrom": last})
				_ = e.write("event: dropped\ndata: " + string(b) + "\n\n")
				return
			}
			b, err := e.marshal(d.Event)
			if err != nil {
				return
			}
			if err := e.write("id: " + d.Resume + "\ndata: " + string(b) + "\n\n"); err != nil {
				return
			}
			last = d.Resume
		case <-hb.C:
			if err := e.write(": heartbeat\n\n"); err != nil {
				return
			}
		case <-e.closing:
			_ = e.write("event: dropped\ndata: {\"reason\":\"server_closing\",\"resumeFrom\":" + strconv.Quote(last) + "}\n\n")
			return
		case <-r.Context().Done():
			return
		}
	}
}

func lastEventID(r *http.Request) string {
	if v := r.Header.Get("Last-Event-ID"); v != "" {
		return strings.TrimSpace(v)
	}
	return r.URL.Query().Get("lastEventId")
}

func (h *streamRoutes) subscribeStream(w http.ResponseWriter, r *http.Request) error {
	topic, stream := r.PathValue("topic"), r.PathValue("stream")
	if err := eventstore.ValidateStream(stream); err != nil {
		return err
	}
	from, err := queryInt(r, "from", 0, 0)
	if err != nil {
		return err
	}
	if id := lastEventID(r); id != "" {
		v, err := strconv.ParseInt(id, 10, 64)
		if err != nil || v < 0 {
			return BadRequest("Last-Event-ID", "%q is not a stream version", id)
		}
		from = v + 1
	}
	o, err := h.subscribeOptions(r)
	if err != nil {
		return err
	}
	sub, err := h.es.SubscribeStream(r.Context(), topic, stream, from, o.Subscribe)
	if err != nil {
		return err
	}
	h.startSSE(w).run(r, sub)
	return nil
}

func (h *streamRoutes) subscribeTopic(w http.ResponseWriter, r *http.Request) error {
	topic := r.PathValue("topic")
	from, err := queryInt(r, "from", 0, 0)
	if err != nil {
		return err
	}
	var cur eventstore.Cursor
	if id := lastEventID(r); id != "" {
		if cur, err = eventstore.ParseCursor(id); err != nil {
			return BadRequest("Last-Event-ID", "%v", err)
		}
	}
	o, err := h.subscribeOptions(r)
	if err != nil {
		return err
	}
	var reg *registry.Registry
	switch d := r.URL.Query().Get("decode"); d {
	case "":
	case "schema":
		reg = h.s.schemas.Load()
	default:
		return BadRequest("decode", "%q: the only decoding is schema (values in the schema registry's wire format)", d)
	}
	sub, err := h.es.SubscribeTopic(r.Context(), topic, cur, from, o.Subscribe)
	if err != nil {
		return err
	}
	e := h.startSSE(w)
	e.schemas = reg
	e.run(r, sub)
	return nil
}
