package httpapi

import (
	"net/http"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// StreamPage is the body of GET /v1/topics/{topic}/streams: streams whose
// id starts with prefix, in byte order, a page at a time.
type StreamPage struct {
	Streams []eventstore.StreamHead `json:"streams"`
	// Next is the after= of the next page; absent on the last page.
	Next string `json:"next,omitempty"`
}

// searchStreams is GET /v1/topics/{topic}/streams?prefix=&after=&limit=.
func (h *streamRoutes) searchStreams(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit, err := queryInt(r, "limit", 100, 1)
	if err != nil {
		return err
	}
	if limit > eventstore.MaxStreamsPage {
		return BadRequest("limit", "%d is over %d", limit, eventstore.MaxStreamsPage)
	}
	found, more, err := h.es.Streams(r.PathValue("topic"), q.Get("prefix"), q.Get("after"), int(limit))
	if err != nil {
		return err
	}
	page := StreamPage{Streams: found}
	if page.Streams == nil {
		page.Streams = []eventstore.StreamHead{}
	}
	if more && len(found) > 0 {
		page.Next = found[len(found)-1].Stream
	}
	writeCompactJSON(w, http.StatusOK, page)
	return nil
}
