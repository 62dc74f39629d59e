package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/httpapi"
)

func TestViewsHTTP(t *testing.T) {
	e := startStreams(t, httpapi.StreamsOptions{Heartbeat: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// An event-store topic with orders of varying totals and types.
	post := func(stream string, i int) {
		t.Helper()
		typ := "OrderPlaced"
		if i%4 == 0 {
			typ = "OrderCancelled"
		}
		body := fmt.Sprintf(`{"events":[{"id":"e%d","type":%q,"data":{"total":%d}}]}`, i, typ, i*100)
		if code, out := e.do(t, "POST", "/v1/topics/shop/streams/"+stream, body); code != 200 {
			t.Fatalf("append: %d %v", code, out)
		}
	}
	for i := 0; i < 20; i++ {
		post(fmt.Sprintf("order-%d", i%3), i)
	}

	// Bad definitions: 400 with the column; unknown source 400; a topic name 409.
	for _, tc := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/views/big", `{"source":"shop","filter":"value.total >"}`, 400, "column 14"},
		{"/v1/views/big", `{"source":"shop","filter":"value.total"}`, 400, "want bool"},
		{"/v1/views/big", `{"source":"shop","filter":"headers.all(a, headers.all(b, headers.all(c, key.contains(a+b+c))))"}`, 400, "estimated cost"},
		{"/v1/views/big", `{"source":"nope","filter":"true"}`, 400, "no such topic"},
		{"/v1/views/big", `{"source":"shop"}`, 400, "filter"},
		{"/v1/views/shop", `{"source":"shop","filter":"true"}`, 409, "topic"},
		{"/v1/views/big", `not json`, 400, "source"},
	} {
		code, out := e.do(t, "PUT", tc.path, tc.body)
		msg := fmt.Sprint(out)
		if code != tc.code || !strings.Contains(msg, tc.want) {
			t.Errorf("PUT %s %s: %d %s, want %d %q", tc.path, tc.body, code, msg, tc.code, tc.want)
		}
	}
	code, out := e.do(t, "PUT", "/v1/views/big", `{"source":"shop","filter":"value.total > 1000"}`)
	if code != 201 || out["source"] != "shop" || out["partitions"] != float64(1) {
		t.Fatalf("create: %d %v", code, out)
	}
	code, out = e.do(t, "GET", "/v1/views/big", "")
	if code != 200 || out["filter"] != "value.total > 1000" {
		t.Fatalf("get: %d %v", code, out)
	}
	if code, _ := e.do(t, "GET", "/v1/views/shop", ""); code != 404 {
		t.Fatalf("get of a topic: %d", code)
	}

	// SSE of the view: only totals over 1000, in order.
	readIDs := func(url string, n int) []string {
		t.Helper()
		sctx, scancel := context.WithCancel(ctx)
		defer scancel()
		r := openSSE(t, sctx, url, "")
		var ids []string
		for len(ids) < n {
			ev := r.next(t)
			var body eventstore.Event
			if err := json.Unmarshal([]byte(ev.data), &body); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, body.ID)
		}
		return ids
	}
	if got := strings.Join(readIDs(e.base+"/v1/views/big/subscribe", 9), ","); got != "e11,e12,e13,e14,e15,e16,e17,e18,e19" {
		t.Fatalf("view subscription: %s", got)
	}
	// Topic and stream subscriptions with a filter over CloudEvents attributes.
	if got := strings.Join(readIDs(e.base+"/v1/topics/shop/subscribe?filter="+urlQuery(`ce.type == "OrderCancelled"`), 5), ","); got != "e0,e4,e8,e12,e16" {
		t.Fatalf("filtered topic subscription: %s", got)
	}
	if got := strings.Join(readIDs(e.base+"/v1/topics/shop/streams/order-0/subscribe?filter="+urlQuery(`value.total >= 900 && ce.type == "OrderPlaced"`), 3), ","); got != "e9,e15,e18" {
		t.Fatalf("filtered stream subscription: %s", got)
	}
	if code, out := e.do(t, "GET", "/v1/topics/shop/subscribe?filter="+urlQuery("value.total +"), ""); code != 400 || !strings.Contains(fmt.Sprint(out), "column") {
		t.Fatalf("bad subscription filter: %d %v", code, out)
	}

	// PUT again changes the filter; a different source is a conflict.
	code, out = e.do(t, "PUT", "/v1/views/big", `{"source":"shop","filter":"value.total > 1800"}`)
	if code != 200 || out["filter"] != "value.total > 1800" {
		t.Fatalf("update: %d %v", code, out)
	}
	if got := strings.Join(readIDs(e.base+"/v1/views/big/subscribe", 1), ","); got != "e19" {
		t.Fatalf("after update: %s", got)
	}
	if code, _ := e.do(t, "PUT", "/v1/views/big", `{"source":"other","filter":"true"}`); code != 409 {
		t.Fatalf("source change: %d", code)
	}
	lresp, err := http.Get(e.base + "/v1/views")
	if err != nil {
		t.Fatal(err)
	}
	lbody, _ := io.ReadAll(lresp.Body)
	lresp.Body.Close()
	if lresp.StatusCode != 200 || !strings.Contains(string(lbody), `"name":"big"`) {
		t.Fatalf("list: %d %s", lresp.StatusCode, lbody)
	}
	dreq, _ := http.NewRequest("DELETE", e.base+"/v1/views/big", nil)
	dresp, err := http.DefaultClient.Do(dreq)
	if err != nil || dresp.StatusCode != 204 {
		t.Fatalf("delete: %v %v", err, dresp)
	}
	dresp.Body.Close()
	if code, _ := e.do(t, "GET", "/v1/views/big", ""); code != 404 {
		t.Fatalf("get after delete: %d", code)
	}
	if _, err := e.b.Topic("shop"); err != nil {
		t.Fatalf("source gone: %v", err)
	}
}

func urlQuery(s string) string { return url.QueryEscape(s) }
