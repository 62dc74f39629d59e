package powerloss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// eventStoreWorkload appends to event streams over HTTP with expected
// versions, one writer per stream, 1–3 events per append, and checks that
// every acknowledged append is readable at the versions it was given, that
// versions are contiguous, that every append landed whole or not at all,
// and that the per-stream index agrees with the log (the topic read as
// Kafka records, key by key).
type eventStoreWorkload struct {
	topic   string
	streams int

	mu sync.Mutex
	// appends[id of first event] describes every append sent.
	appends map[string]*esAppend
	version map[string]int64 // writer's idea of each stream's version
	// ackedLast is the highest acknowledged version of each stream.
	ackedLast map[string]int64
	acked     int64
}

type esAppend struct {
	stream string
	ids    []string
	acked  bool
	first  int64 // first version, when acked
}

func (w *eventStoreWorkload) name() string { return "eventstore " + w.topic }

func (w *eventStoreWorkload) streamName(i int) string { return fmt.Sprintf("s%d", i) }

func (w *eventStoreWorkload) setup(ctx context.Context, e *env) error {
	w.appends = map[string]*esAppend{}
	w.version, w.ackedLast = map[string]int64{}, map[string]int64{}
	for i := 0; i < w.streams; i++ {
		w.version[w.streamName(i)] = -1
		w.ackedLast[w.streamName(i)] = -1
	}
	seg, streams := "1048576", "true" // an event store keeps everything: few, large segments
	resp, err := e.adm.CreateTopic(ctx, 2, 1, map[string]*string{"segment.bytes": &seg, "eddy.streams": &streams}, w.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", w.topic, err)
	}
	return nil
}

func (w *eventStoreWorkload) run(ctx context.Context, e *env) {
	var wg sync.WaitGroup
	for i := 0; i < w.streams; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.write(ctx, e, w.streamName(i))
		}()
	}
	wg.Wait()
}

type esEvent struct {
	ID   string `json:"id"`
	Type string `json:"type"`
	Data any    `json:"data"`
}

func (w *eventStoreWorkload) write(ctx context.Context, e *env, stream string) {
	url := e.httpURL + "/v1/topics/" + w.topic + "/streams/" + stream
	for seq := 0; ctx.Err() == nil; seq++ {
		n := 1 + e.intN(3)
		a := &esAppend{stream: stream}
		evs := make([]esEvent, n)
		for k := range evs {
			id := fmt.Sprintf("%s-%d-%d-%d", stream, e.life, seq, k)
			a.ids = append(a.ids, id)
			evs[k] = esEvent{ID: id, Type: "T", Data: map[string]any{"k": k, "pad": strings.Repeat("x", e.intN(200))}}
		}
		w.mu.Lock()
		expected := w.version[stream]
		w.appends[a.ids[0]] = a
		w.mu.Unlock()
		var exp any = expected
		if expected < 0 {
			exp = "no_stream"
		}
		body, _ := json.Marshal(map[string]any{"expectedVersion": exp, "events": evs})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := e.http.Do(req)
		if err != nil {
			sleepCtx(ctx, 10*time.Millisecond)
			continue
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var out struct {
			FirstVersion int64 `json:"firstVersion"`
			LastVersion  int64 `json:"lastVersion"`
			Actual       any   `json:"actual"`
		}
		_ = json.Unmarshal(rb, &out)
		w.mu.Lock()
		switch resp.StatusCode {
		case http.StatusOK:
			a.acked, a.first = true, out.FirstVersion
			w.acked++
			w.version[stream] = out.LastVersion
			w.ackedLast[stream] = max(w.ackedLast[stream], out.LastVersion)
		case http.StatusConflict:
			// An earlier unacknowledged append landed: take the server's word.
			if v, ok := out.Actual.(float64); ok {
				w.version[stream] = int64(v)
			}
		}
		w.mu.Unlock()
		if resp.StatusCode >= 500 {
			sleepCtx(ctx, 10*time.Millisecond)
		}
	}
}

// esRead is one event as the stream read returns it.
type esRead struct {
	Version   int64  `json:"version"`
	ID        string `json:"id"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// readStream reads a whole stream through the index.
func (w *eventStoreWorkload) readStream(ctx context.Context, e *env, stream string) ([]esRead, error) {
	var all []esRead
	from := int64(0)
	for {
		url := fmt.Sprintf("%s/v1/topics/%s/streams/%s?from=%d&limit=1000", e.httpURL, w.topic, stream, from)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := e.http.Do(req)
		if err != nil {
			return nil, err
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound && strings.Contains(string(rb), "stream_not_found") {
			return nil, nil
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, rb)
		}
		var page struct {
			Events []esRead `json:"events"`
			Next   *int64   `json:"next"`
		}
		if err := json.Unmarshal(rb, &page); err != nil {
			return nil, fmt.Errorf("GET %s: %w", url, err)
		}
		all = append(all, page.Events...)
		if page.Next == nil || len(page.Events) == 0 {
			return all, nil
		}
		from = *page.Next
	}
}

// currentVersion returns a stream's current version, -1 when it has none.
func (w *eventStoreWorkload) currentVersion(ctx context.Context, e *env, stream string) (int64, error) {
	url := fmt.Sprintf("%s/v1/topics/%s/streams/%s?direction=backward&limit=1", e.httpURL, w.topic, stream)
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	rb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound && strings.Contains(string(rb), "stream_not_found") {
		return -1, nil
	}
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s: %s", url, resp.Status, rb)
	}
	var page struct {
		Version int64 `json:"version"`
	}
	if err := json.Unmarshal(rb, &page); err != nil {
		return 0, fmt.Errorf("GET %s: %w", url, err)
	}
	return page.Version, nil
}

func (w *eventStoreWorkload) check(ctx context.Context, e *env, final bool, r *report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	// Every writer restarts from what survived.
	var lost, dup int64
	logIDs := map[string][]string{}
	if final {
		var err error
		if logIDs, err = w.readLog(ctx, e); err != nil {
			r.problem("%s: read the log: %v", w.topic, err)
		}
	}
	if !final {
		// Cheap: each stream's current version, where the writers resume.
		for i := 0; i < w.streams; i++ {
			stream := w.streamName(i)
			v, err := w.currentVersion(ctx, e, stream)
			if err != nil {
				r.problem("%s/%s: read: %v", w.topic, stream, err)
				continue
			}
			if v < w.ackedLast[stream] {
				r.problem("%s/%s after cut %d: version %d, but version %d was acknowledged", w.topic, stream, e.life, v, w.ackedLast[stream])
			}
			w.version[stream] = v
		}
		return
	}
	for i := 0; i < w.streams; i++ {
		stream := w.streamName(i)
		evs, err := w.readStream(ctx, e, stream)
		if err != nil {
			r.problem("%s/%s: read: %v", w.topic, stream, err)
			continue
		}
		w.version[stream] = int64(len(evs)) - 1
		pos := map[string]int64{} // id → version
		var ids []string
		for j, ev := range evs {
			if ev.Version != int64(j) {
				r.problem("%s/%s: event %d has version %d (versions not contiguous)", w.topic, stream, j, ev.Version)
			}
			if _, seen := pos[ev.ID]; seen {
				dup++
				r.problem("%s/%s: event %s stored twice", w.topic, stream, ev.ID)
			}
			pos[ev.ID] = ev.Version
			ids = append(ids, ev.ID)
		}
		if final && logIDs != nil && strings.Join(ids, ",") != strings.Join(logIDs[stream], ",") {
			r.problem("%s/%s: the index (%d events) disagrees with the log (%d records with this key)", w.topic, stream, len(ids), len(logIDs[stream]))
		}
		if !final {
			continue
		}
		// Each append whole or absent; acknowledged ones where acknowledged.
		for _, a := range w.appends {
			if a.stream != stream {
				continue
			}
			v0, present := pos[a.ids[0]]
			for k, id := range a.ids {
				v, ok := pos[id]
				if ok != present || (ok && v != v0+int64(k)) {
					r.problem("%s/%s: append %v torn or split (event %s at %d, present=%v)", w.topic, stream, a.ids, id, v, ok)
					break
				}
			}
			if a.acked && (!present || v0 != a.first) {
				lost++
				r.problem("%s/%s: acknowledged append %v at version %d lost (found at %d, present=%v)", w.topic, stream, a.ids, a.first, v0, present)
			}
		}
		for _, ev := range evs {
			first := ev.ID[:strings.LastIndexByte(ev.ID, '-')] + "-0"
			if _, ok := w.appends[first]; !ok {
				r.problem("%s/%s: phantom event %s", w.topic, stream, ev.ID)
			}
		}
	}
	if final {
		r.add(w.acked, lost, dup, 0)
	}
}

// readLog reads the topic as Kafka records and returns each stream's event
// ids (header ce_id) in log order.
func (w *eventStoreWorkload) readLog(ctx context.Context, e *env) (map[string][]string, error) {
	ends, err := e.adm.ListEndOffsets(ctx, w.topic)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, p := range []int32{0, 1} {
		end, _ := ends.Lookup(w.topic, p)
		recs, err := readPartition(ctx, e.kafkaAddr, w.topic, p, 0, end.Offset)
		if err != nil {
			return nil, err
		}
		for _, rec := range recs {
			out[string(rec.Key)] = append(out[string(rec.Key)], header(rec, "ce_id"))
		}
	}
	return out, nil
}

func header(r *kgo.Record, key string) string {
	for _, h := range r.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}
