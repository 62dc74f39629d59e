package httpapi

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/eddy-streaming/eddy/internal/share"
)

// RegisterQueues adds the share-group queue routes (docs/queues.md):
//
//	POST /v1/share-groups/{group}/receive  {"topics": [...], "max": N, "waitMs": W}
//	POST /v1/share-groups/{group}/ack      {"ackIds": [...], "type": "accept"|"release"|"reject"|"renew"}
//
// with the semantics of ShareFetch and ShareAcknowledge on the same groups.
func (s *Server) RegisterQueues(c *share.Coordinator) {
	s.queues.Store(c)
	q := &queueRoutes{c: c}
	s.Handle("POST /v1/share-groups/{group}/receive", q.receive)
	s.Handle("POST /v1/share-groups/{group}/ack", q.ack)
}

type queueRoutes struct{ c *share.Coordinator }

type receiveRequest struct {
	Topics []string `json:"topics"`
	Max    int      `json:"max"`
	WaitMs int      `json:"waitMs"`
}

// ReceivedRecord is one record of a receive answer. Key, value and header
// values are UTF-8 strings, or base64 when Encoding is "base64".
type ReceivedRecord struct {
	AckID         string            `json:"ackId"`
	Topic         string            `json:"topic"`
	Partition     int32             `json:"partition"`
	Offset        int64             `json:"offset"`
	Timestamp     time.Time         `json:"timestamp"`
	DeliveryCount int16             `json:"deliveryCount"`
	Key           *string           `json:"key"`
	Value         *string           `json:"value"`
	Headers       map[string]string `json:"headers,omitempty"`
	Encoding      string            `json:"encoding,omitempty"`
}

// ReceiveResponse is the body of a receive answer.
type ReceiveResponse struct {
	Records []ReceivedRecord `json:"records"`
	// LockMs is how long the records stay locked to this receive.
	LockMs int64 `json:"lockMs"`
}

const maxQueueBody = 1 << 20

func decodeBody(r *http.Request, w http.ResponseWriter, v any, shape string) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxQueueBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return BadRequest("body", "malformed JSON (%v); send %s", err, shape)
	}
	if _, err := dec.Token(); err != io.EOF {
		return BadRequest("body", "trailing data after the JSON object")
	}
	return nil
}

func (q *queueRoutes) receive(w http.ResponseWriter, r *http.Request) error {
	group := r.PathValue("group")
	var req receiveRequest
	if err := decodeBody(r, w, &req, `{"topics": ["orders"], "max": 10, "waitMs": 1000}`); err != nil {
		return err
	}
	if len(req.Topics) == 0 {
		return BadRequest("topics", "name at least one topic")
	}
	for _, t := range req.Topics {
		if !Allowed(r, opRead, rtTopic, t) { // READ on each topic, as ShareFetch
			return Forbidden(opRead, rtTopic, t)
		}
	}
	if req.Max == 0 {
		req.Max = 100
	}
	if req.Max < 0 || req.Max > 10000 {
		return BadRequest("max", "must be in [1, 10000], got %d", req.Max)
	}
	if req.WaitMs < 0 || req.WaitMs > 60000 {
		return BadRequest("waitMs", "must be in [0, 60000], got %d", req.WaitMs)
	}
	ds, err := q.c.Receive(r.Context(), group, req.Topics, req.Max, time.Duration(req.WaitMs)*time.Millisecond)
	if err != nil && len(ds) == 0 {
		return err
	}
	resp := ReceiveResponse{Records: []ReceivedRecord{}, LockMs: q.c.LockDuration(group).Milliseconds()}
	for _, d := range ds {
		resp.Records = append(resp.Records, toReceived(d))
	}
	WriteJSON(w, http.StatusOK, resp)
	return nil
}

func toReceived(d share.Delivery) ReceivedRecord {
	rec := d.Record
	out := ReceivedRecord{
		AckID: encodeAckID(d.Topic, d.Partition, rec.Offset, d.Deliveries), Topic: d.Topic, Partition: d.Partition,
		Offset: rec.Offset, Timestamp: rec.Timestamp.UTC(), DeliveryCount: d.Deliveries,
	}
	text := utf8.Valid(rec.Key) && utf8.Valid(rec.Value)
	for _, h := range rec.Headers {
		text = text && utf8.Valid(h.Value)
	}
	enc := func(b []byte) string {
		if text {
			return string(b)
		}
		return base64.StdEncoding.EncodeToString(b)
	}
	if !text {
		out.Encoding = "base64"
	}
	if rec.Key != nil {
		k := enc(rec.Key)
		out.Key = &k
	}
	if rec.Value != nil {
		v := enc(rec.Value)
		out.Value = &v
	}
	if len(rec.Headers) > 0 {
		out.Headers = map[string]string{}
		for _, h := range rec.Headers {
			out.Headers[h.Key] = enc(h.Value)
		}
	}
	return out
}

// An ack id is base64url("topic\x00partition\x00offset\x00delivery").
func encodeAckID(topic string, part int32, off int64, d int16) string {
	return base64.RawURLEncoding.EncodeToString([]byte(fmt.Sprintf("%s\x00%d\x00%d\x00%d", topic, part, off, d)))
}

func decodeAckID(id string) (share.TP, int64, int16, error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err == nil {
		f := strings.Split(string(b), "\x00")
		if len(f) == 4 {
			p, e1 := strconv.ParseInt(f[1], 10, 32)
			o, e2 := strconv.ParseInt(f[2], 10, 64)
			d, e3 := strconv.ParseInt(f[3], 10, 16)
			if e1 == nil && e2 == nil && e3 == nil {
				return share.TP{Topic: f[0], Partition: int32(p)}, o, int16(d), nil
			}
		}
	}
	return share.TP{}, 0, 0, BadRequest("ackIds", "%q is not an ack id from a receive answer", id)
}

type ackRequest struct {
	AckIDs []string `json:"ackIds"`
	Type   string   `json:"type"`
}

// AckResult is the outcome for one ack id.
type AckResult struct {
	AckID string       `json:"ackId"`
	Error *ErrorDetail `json:"error,omitempty"`
}

// AckResponse is the body of an ack answer: one result per ack id, and
// how many failed.
type AckResponse struct {
	Results []AckResult `json:"results"`
	Failed  int         `json:"failed"`
}

func (q *queueRoutes) ack(w http.ResponseWriter, r *http.Request) error {
	group := r.PathValue("group")
	var req ackRequest
	if err := decodeBody(r, w, &req, `{"ackIds": ["..."], "type": "accept"}`); err != nil {
		return err
	}
	var ty share.AckType
	switch req.Type {
	case "accept", "":
		ty = share.AckAccept
	case "release":
		ty = share.AckRelease
	case "reject":
		ty = share.AckReject
	case "renew":
		ty = share.AckRenew
	default:
		return BadRequest("type", "must be accept, release, reject or renew, got %q", req.Type)
	}
	if len(req.AckIDs) == 0 {
		return BadRequest("ackIds", "name at least one ack id")
	}
	type parsed struct {
		tp  share.TP
		off int64
		d   int16
	}
	ps := make([]parsed, len(req.AckIDs))
	for i, id := range req.AckIDs {
		tp, off, d, err := decodeAckID(id)
		if err != nil {
			return err
		}
		ps[i] = parsed{tp, off, d}
	}
	if !q.c.Exists(group) {
		return fmt.Errorf("%w: %s", share.ErrGroupNotFound, group)
	}
	resp := AckResponse{Results: make([]AckResult, len(ps))}
	for i, p := range ps {
		resp.Results[i].AckID = req.AckIDs[i]
		if err := q.c.AckDelivery(r.Context(), group, p.tp, p.off, p.d, ty); err != nil {
			_, code := StatusOf(err)
			resp.Results[i].Error = &ErrorDetail{Code: code, Message: err.Error()}
			resp.Failed++
		}
	}
	WriteJSON(w, http.StatusOK, resp)
	return nil
}
