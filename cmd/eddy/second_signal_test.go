package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestServeSecondSignalExitsAtOnce: while a graceful shutdown is held open
// by an HTTP request that never finishes (and the shutdown timeout is a
// minute away), a second SIGTERM must end the process at once with
// 128+SIGTERM, and the next start must recover the logs and still hold
// the acknowledged record.
func TestServeSecondSignalExitsAtOnce(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--shutdown-timeout", "60s"))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.DefaultProduceTopic("second-signal"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("acked")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	cl.Close()

	// A request whose body never arrives keeps the HTTP drain busy.
	conn, err := net.Dial("tcp", p.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /v1/topics/held/streams/s HTTP/1.1\r\nHost: eddy\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
	// 2: the held request and the scrape that reads the gauge.
	waitMetric(t, p.HTTPURL(), "eddy_http_requests_in_flight 2")

	p.Signal(syscall.SIGTERM)
	if _, err := p.WaitLog("shutting down", 10*time.Second); err != nil {
		t.Fatal(err)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(10 * time.Second); code != 128+int(syscall.SIGTERM) {
		t.Fatalf("exit code %d after a second SIGTERM, want %d\n%s", code, 128+int(syscall.SIGTERM), p.Output())
	}
	if p.FindLog("eddy stopped cleanly") != nil {
		t.Fatal("the process finished a clean shutdown; the second signal was not what ended it")
	}

	again := eddytest.Start(t, eddytest.DataDir(p.DataDir()))
	if again.FindLog("recovered log tail") == nil {
		t.Fatalf("restart after the hard exit did not recover the log tail:\n%s", again.Output())
	}
	cl, err = kgo.NewClient(kgo.SeedBrokers(again.KafkaAddr()), kgo.ConsumeTopics("second-signal"),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	fetches := cl.PollFetches(ctx)
	if err := fetches.Err(); err != nil {
		t.Fatal(err)
	}
	if recs := fetches.Records(); len(recs) != 1 || string(recs[0].Value) != "acked" {
		t.Fatalf("after restart got %d records, want the one acknowledged", len(recs))
	}
}

// waitMetric polls /metrics until a line starting with prefix appears.
func waitMetric(t *testing.T, base, prefix string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/metrics")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, line := range strings.Split(string(body), "\n") {
				if strings.HasPrefix(line, prefix) {
					return
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("metric %q never appeared", prefix)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
