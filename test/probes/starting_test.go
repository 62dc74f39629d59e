package probes

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// Item 9: event-store routes answer 503 while the server is starting, not
// 404. A server is killed holding data in 300 partitions, so the next
// start scans every unclean partition's tail before it opens the event
// store; meanwhile its HTTP listener is up, and appends and reads of a
// stream answer 503 not_ready with Retry-After and a message, until the
// start completes and the same requests succeed.
func TestProbeEventStoreNotReadyWhileStarting(t *testing.T) {
	dir := t.TempDir()
	first := eddytest.Start(t, eddytest.DataDir(dir))
	createTopic(t, first, "wide", 300, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(first.KafkaAddr()), kgo.DefaultProduceTopic("wide"),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var recs []*kgo.Record
	for range 3000 {
		recs = append(recs, &kgo.Record{Value: []byte("x")})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()
	first.Kill() // no clean-shutdown markers: every partition is scanned

	httpAddr := eddytest.FreeAddr(t)
	p := eddytest.Spawn(t, eddytest.DataDir(dir), eddytest.Args("--http-addr", httpAddr))
	base := "http://" + httpAddr + "/v1/topics/ledger/streams/acct-1"
	client := &http.Client{Timeout: 5 * time.Second}
	var notReady, appended bool
	deadline := time.Now().Add(60 * time.Second)
	for !appended {
		if time.Now().After(deadline) {
			t.Fatalf("no append succeeded within 60 s\n%s", tail(p.Output()))
		}
		resp, err := client.Post(base, "application/json", strings.NewReader(`{"events":[{"id":"e-1","type":"Opened","data":{}}]}`))
		if err != nil {
			time.Sleep(5 * time.Millisecond) // listener not up yet
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusServiceUnavailable:
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Code != "not_ready" || !strings.Contains(e.Error.Message, "starting") {
				t.Fatalf("503 while starting with body %s; want code not_ready and a message saying it is starting", body)
			}
			if ra := resp.Header.Get("Retry-After"); ra == "" {
				t.Fatal("503 while starting without Retry-After")
			}
			if !notReady {
				notReady = true
				t.Logf("append while starting: 503 %s: %q (Retry-After %s)", e.Error.Code, e.Error.Message, resp.Header.Get("Retry-After"))
				// A read of a stream answers the same.
				r2, err := client.Get(base)
				if err == nil {
					b2, _ := io.ReadAll(r2.Body)
					r2.Body.Close()
					if r2.StatusCode != http.StatusServiceUnavailable && p.FindLog("eddy started") == nil {
						t.Fatalf("read while starting: %d %s, want 503", r2.StatusCode, b2)
					}
				}
			}
			time.Sleep(5 * time.Millisecond)
		case http.StatusOK, http.StatusCreated:
			appended = true
		default:
			t.Fatalf("append during start: %d %s", resp.StatusCode, body)
		}
	}
	if !notReady {
		t.Fatalf("the start finished before an event-store route was seen answering 503 (start line: %v)", p.FindLog("eddy started"))
	}
	started, err := p.WaitLog("eddy started", 10*time.Second)
	if err != nil {
		t.Fatalf("no start line: %v", err)
	}
	t.Logf("start took %v", started["startup"])
	if code, err := httpGet("http://" + httpAddr + "/readyz"); err != nil || code != 200 {
		t.Fatalf("/readyz after start: %d %v", code, err)
	}
}
