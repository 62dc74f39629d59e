package powerloss

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// shareWorkload consumes a topic through a share group over the HTTP queue
// API (docs/queues.md), accepting every record it receives, and checks that
// no acknowledged record is ever delivered again and that a record's
// delivery count never goes back (acquisitions are durable before the
// records are returned).
type shareWorkload struct {
	group string
	topic string

	mu       sync.Mutex
	acked    map[shareKey]bool  // acknowledged records
	delivery map[shareKey]int64 // highest delivery count seen
	count    int64
	redeliv  int64 // since the last check
	lost     int64 // over the run
}

type shareKey struct {
	partition int32
	offset    int64
	value     string
}

func (w *shareWorkload) name() string { return "share group " + w.group }

func (w *shareWorkload) setup(ctx context.Context, e *env) error {
	w.acked, w.delivery = map[shareKey]bool{}, map[shareKey]int64{}
	// The topic belongs to a produce workload. The group starts at the
	// earliest offset, so a share-partition state lost in a cut shows as
	// acknowledged records delivered again (from "latest" it would skip
	// records unnoticed).
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, w.group
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "share.auto.offset.reset", kmsg.StringPtr("earliest")
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, e.admCl)
	if err != nil {
		return fmt.Errorf("set %s share.auto.offset.reset: %w", w.group, err)
	}
	if code := resp.Resources[0].ErrorCode; code != 0 {
		return fmt.Errorf("set %s share.auto.offset.reset: error code %d", w.group, code)
	}
	return nil
}

type shareRecord struct {
	AckID         string `json:"ackId"`
	Partition     int32  `json:"partition"`
	Offset        int64  `json:"offset"`
	DeliveryCount int64  `json:"deliveryCount"`
	Value         string `json:"value"`
}

func (w *shareWorkload) post(ctx context.Context, e *env, path string, body any, out any) (int, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.httpURL+"/v1/share-groups/"+w.group+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, fmt.Errorf("POST %s: %s: %s", path, resp.Status, rb)
	}
	return resp.StatusCode, json.Unmarshal(rb, out)
}

func (w *shareWorkload) run(ctx context.Context, e *env) {
	for ctx.Err() == nil {
		var got struct {
			Records []shareRecord `json:"records"`
		}
		if _, err := w.post(ctx, e, "/receive", map[string]any{"topics": []string{w.topic}, "max": 50, "waitMs": 200}, &got); err != nil {
			sleepCtx(ctx, 20*time.Millisecond)
			continue
		}
		if len(got.Records) == 0 {
			continue
		}
		ids := make([]string, 0, len(got.Records))
		byID := map[string]shareKey{}
		w.mu.Lock()
		for _, rec := range got.Records {
			k := shareKey{rec.Partition, rec.Offset, rec.Value}
			if w.acked[k] {
				w.redeliv++
			}
			if prev := w.delivery[k]; rec.DeliveryCount <= prev {
				w.redeliv++ // counted as a finding; its text is in check
			}
			w.delivery[k] = max(w.delivery[k], rec.DeliveryCount)
			ids = append(ids, rec.AckID)
			byID[rec.AckID] = k
		}
		w.mu.Unlock()
		var res struct {
			Results []struct {
				AckID string `json:"ackId"`
				Error *struct {
					Code string `json:"code"`
				} `json:"error"`
			} `json:"results"`
		}
		if _, err := w.post(ctx, e, "/ack", map[string]any{"ackIds": ids, "type": "accept"}, &res); err != nil {
			continue
		}
		w.mu.Lock()
		for _, r := range res.Results {
			if r.Error == nil {
				if k, ok := byID[r.AckID]; ok {
					w.acked[k] = true
					w.count++
				}
			}
		}
		w.mu.Unlock()
	}
}

func (w *shareWorkload) check(ctx context.Context, e *env, final bool, r *report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.redeliv > 0 {
		r.problem("%s before cut %d: %d deliveries of records already acknowledged or with a delivery count that went back", w.group, e.life, w.redeliv)
		w.lost += w.redeliv
		w.redeliv = 0
	}
	if final {
		r.note("%s: %d records acknowledged over HTTP", w.group, w.count)
		r.add(w.count, w.lost, 0, 0)
	}
}
