package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/views"
)

// View is the JSON form of a view in the /v1/views routes.
type View struct {
	Name       string `json:"name"`
	Source     string `json:"source"`
	Filter     string `json:"filter"`
	Partitions int32  `json:"partitions"`
}

// ViewRequest is the body of PUT /v1/views/{name}.
type ViewRequest struct {
	Source string `json:"source"`
	Filter string `json:"filter"`
}

func viewOf(info broker.TopicInfo) View {
	return View{Name: info.Name, Source: info.ViewSource(), Filter: info.Overrides[views.FilterConfig], Partitions: info.Partitions}
}

// RegisterViews adds the view routes over b:
//
//	PUT    /v1/views/{name}  {"source": "orders", "filter": "value.total > 1000"}
//	GET    /v1/views
//	GET    /v1/views/{name}
//	DELETE /v1/views/{name}
//
// PUT creates the view (201) or changes the filter of an existing view of
// the same source (200). A filter that does not compile, does not return a
// bool or costs too much is a 400 invalid_filter whose message points at
// the column.
func (s *Server) RegisterViews(b *broker.Broker) {
	h := &viewRoutes{b: b}
	s.Handle("PUT /v1/views/{name}", h.put)
	s.Handle("GET /v1/views", h.list)
	s.Handle("GET /v1/views/{name}", h.get)
	s.Handle("DELETE /v1/views/{name}", h.del)
}

type viewRoutes struct{ b *broker.Broker }

func (h *viewRoutes) view(name string) (broker.TopicInfo, error) {
	info, err := h.b.Topic(name)
	if err != nil {
		return info, err
	}
	if info.ViewSource() == "" {
		return info, fmt.Errorf("%w: %s is a topic, not a view", ErrNotFound, name)
	}
	return info, nil
}

func (h *viewRoutes) put(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	body, err := readBody(w, r, 1<<20)
	if err != nil {
		return err
	}
	var req ViewRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return BadRequest("body", "want {\"source\": \"topic\", \"filter\": \"CEL expression\"}: %v", err)
	}
	if req.Source == "" {
		return BadRequest("source", "required: the topic the view reads")
	}
	if req.Filter == "" {
		return BadRequest("filter", "required: a CEL expression returning bool")
	}
	// A view shows its source's records: READ on the source. Creating it
	// is creating a topic (CREATE on the cluster or the view); changing
	// its filter is a config change (ALTER_CONFIGS on the view).
	if !Allowed(r, opRead, rtTopic, req.Source) {
		return Forbidden(opRead, rtTopic, req.Source)
	}
	cur, curErr := h.view(name)
	switch {
	case curErr == nil && !Allowed(r, opAlterConfigs, rtTopic, name):
		return Forbidden(opAlterConfigs, rtTopic, name)
	case curErr != nil && !AllowedCluster(r, opCreate) && !Allowed(r, opCreate, rtTopic, name):
		return Forbidden(opCreate, rtTopic, name)
	}
	if err := curErr; err == nil {
		if cur.ViewSource() != req.Source {
			return fmt.Errorf("%w: view %s reads %s; a view's source cannot change (delete it first)", ErrConflict, name, cur.ViewSource())
		}
		if err := h.b.AlterTopicConfigs(name, []broker.ConfigOp{{Name: views.FilterConfig, Op: broker.OpSet, Value: req.Filter}}, false); err != nil {
			return err
		}
		info, err := h.view(name)
		if err != nil {
			return err
		}
		writeCompactJSON(w, http.StatusOK, viewOf(info))
		return nil
	} else if !errors.Is(err, broker.ErrUnknownTopic) {
		if errors.Is(err, ErrNotFound) {
			return fmt.Errorf("%w: %s is a topic", broker.ErrTopicExists, name)
		}
		return err
	}
	info, err := h.b.CreateView(name, req.Source, req.Filter, -1, false)
	if err != nil {
		return err
	}
	writeCompactJSON(w, http.StatusCreated, viewOf(info))
	return nil
}

func (h *viewRoutes) list(w http.ResponseWriter, r *http.Request) error {
	out := []View{}
	for _, info := range h.b.Views() {
		if Allowed(r, opDescribe, rtTopic, info.Name) {
			out = append(out, viewOf(info))
		}
	}
	writeCompactJSON(w, http.StatusOK, out)
	return nil
}

func (h *viewRoutes) get(w http.ResponseWriter, r *http.Request) error {
	info, err := h.view(r.PathValue("name"))
	if err != nil {
		return err
	}
	writeCompactJSON(w, http.StatusOK, viewOf(info))
	return nil
}

func (h *viewRoutes) del(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if _, err := h.view(name); err != nil {
		return err
	}
	if err := h.b.DeleteTopic(name); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// subscribeOptions returns the subscription options of a request: the
// routes' defaults plus the filter query parameter, compiled.
func (h *streamRoutes) subscribeOptions(r *http.Request) (StreamsOptions, error) {
	o := h.o
	if expr := r.URL.Query().Get("filter"); expr != "" {
		p, err := filter.Compile(expr)
		if err != nil {
			return o, BadRequest("filter", "%v", err)
		}
		o.Subscribe.Filter = p
	}
	return o, nil
}

// subscribeView is GET /v1/views/{name}/subscribe: the view's records as
// a topic subscription (with an optional further filter).
func (h *streamRoutes) subscribeView(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	info, err := h.es.Broker().Topic(name)
	if err != nil {
		return err
	}
	if info.ViewSource() == "" {
		return fmt.Errorf("%w: %s is a topic, not a view (subscribe at /v1/topics/%s/subscribe)", ErrNotFound, name, name)
	}
	r.SetPathValue("topic", name)
	return h.subscribeTopic(w, r)
}
