package queues

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/httpapi"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/share"
)

func openNode(t *testing.T) *node.Node {
	t.Helper()
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Share.SweepInterval = 20 * time.Millisecond
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close(context.Background()) })
	return n
}

func postJSON(t *testing.T, url string, body any, out any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(url, "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("decode %s answer: %v", url, err)
		}
	}
	return resp.StatusCode
}

// TestHTTPQueueWithKafkaConsumer: the HTTP queue API and a Kafka share
// consumer take records from the same group at once; together they see
// every record once.
func TestHTTPQueueWithKafkaConsumer(t *testing.T) {
	n := openNode(t)
	base := "http://" + n.HTTP.Addr().String() + "/v1/share-groups/g"
	kaddr := n.Kafka.Addr().String()
	admin, err := kgo.NewClient(kgo.SeedBrokers(kaddr), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	newTopic(t, admin, "t", 2, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest")
	const total = 400
	produce(t, admin, "t", total, func(i int) int32 { return int32(i % 2) })

	// Bad requests say what to fix.
	var eb httpapi.ErrorBody
	if st := postJSON(t, base+"/receive", map[string]any{"topics": []string{}}, &eb); st != 400 || eb.Error.Code != "bad_request" {
		t.Fatalf("empty topics: %d %+v", st, eb)
	}
	if st := postJSON(t, base+"/ack", map[string]any{"ackIds": []string{"x"}, "type": "maybe"}, &eb); st != 400 {
		t.Fatalf("bad type: %d %+v", st, eb)
	}

	var mu sync.Mutex
	seen := map[string]int{}
	viaHTTP, viaKafka := 0, 0
	done := func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) >= total }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		cl, err := kgo.NewClient(kgo.SeedBrokers(kaddr), kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(100*time.Millisecond), kgo.ShareMaxRecords(20))
		if err != nil {
			t.Error(err)
			return
		}
		defer cl.Close()
		for !done() && ctx.Err() == nil {
			pctx, pc := context.WithTimeout(ctx, 200*time.Millisecond)
			fs := cl.PollFetches(pctx)
			pc()
			fs.EachRecord(func(r *kgo.Record) {
				mu.Lock()
				seen[string(r.Value)]++
				viaKafka++
				mu.Unlock()
				r.Ack(kgo.AckAccept)
			})
		}
		cl.FlushAcks(context.Background())
	}()
	go func() {
		defer wg.Done()
		for !done() && ctx.Err() == nil {
			var rr httpapi.ReceiveResponse
			if st := postJSON(t, base+"/receive", map[string]any{"topics": []string{"t"}, "max": 20, "waitMs": 100}, &rr); st != 200 {
				t.Errorf("receive status %d", st)
				return
			}
			var ids []string
			for _, r := range rr.Records {
				ids = append(ids, r.AckID)
				mu.Lock()
				seen[*r.Value]++
				viaHTTP++
				mu.Unlock()
				if r.DeliveryCount != 1 || *r.Key != *r.Value {
					t.Errorf("http record %+v", r)
				}
			}
			if len(ids) == 0 {
				continue
			}
			var ar httpapi.AckResponse
			if st := postJSON(t, base+"/ack", map[string]any{"ackIds": ids, "type": "accept"}, &ar); st != 200 || ar.Failed != 0 {
				t.Errorf("ack: %d %+v", st, ar)
			}
			// The same ack again: those records are no longer held.
			if postJSON(t, base+"/ack", map[string]any{"ackIds": ids[:1], "type": "accept"}, &ar); ar.Failed != 1 || ar.Results[0].Error.Code != "invalid_record_state" {
				t.Errorf("second ack of %s: %+v", ids[0], ar)
			}
		}
	}()
	wg.Wait()
	if len(seen) != total {
		t.Fatalf("saw %d of %d records", len(seen), total)
	}
	for v, c := range seen {
		if c != 1 {
			t.Fatalf("record %s seen %d times", v, c)
		}
	}
	if viaHTTP == 0 || viaKafka == 0 {
		t.Fatalf("http took %d, kafka %d: both should take some", viaHTTP, viaKafka)
	}
	t.Logf("http %d, kafka %d", viaHTTP, viaKafka)

	// /v1/status reports the share group.
	resp, err := http.Get("http://" + n.HTTP.Addr().String() + "/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st httpapi.Status
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	if len(st.ShareGroups) != 1 || st.ShareGroups[0].Group != "g" || st.ShareGroups[0].Acknowledged != total {
		t.Fatalf("status share groups: %+v", st.ShareGroups)
	}
	// And /metrics the per-group series.
	mresp, err := http.Get("http://" + n.HTTP.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer mresp.Body.Close()
	body, _ := io.ReadAll(mresp.Body)
	if !bytes.Contains(body, []byte(`eddy_share_group_acknowledged_records_total{group="g"} 400`)) {
		t.Fatalf("metrics lack the share group's acknowledged count")
	}
}
