package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// runBench runs `eddy bench ARGS --json` in-process against addr and
// decodes the result.
func runBench(t *testing.T, addr string, args ...string) (benchResult, string) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(append(append([]string{"bench"}, args...), "--brokers", addr, "--json", "--timeout", "10s"))
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("eddy bench %s: %v\nstderr: %s", strings.Join(args, " "), err, errOut.String())
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("decode %q: %v", out.String(), err)
	}
	return res, errOut.String()
}

func TestBenchScenarios(t *testing.T) {
	srv := kafkatest.Start(t)

	prod, _ := runBench(t, srv.Addr, "produce", "--topic", "b", "--partitions", "3", "--producers", "2",
		"--records", "3000", "--record-size", "200", "--linger", "1ms")
	if prod.Records != 3000 || prod.Bytes != 3000*200 || prod.Errors != 0 || prod.Truncated {
		t.Fatalf("produce result: %+v", prod)
	}
	if prod.Partitions != 3 || prod.Latency == nil || prod.Latency.Count != 3000 || prod.Latency.P99ms <= 0 {
		t.Fatalf("produce partitions/latency: %+v %+v", prod, prod.Latency)
	}
	if prod.RecordsPerSec <= 0 || prod.MBPerSec <= 0 {
		t.Fatalf("produce rates: %+v", prod)
	}

	// The non-adaptive partitioner moves to a random partition after
	// each 64 KiB: 2 MB land on several of the 8 partitions.
	uni, _ := runBench(t, srv.Addr, "produce", "--topic", "u", "--partitions", "8", "--records", "2000",
		"--record-size", "1000", "--partitioner", "uniform")
	if uni.Records != 2000 || uni.Errors != 0 {
		t.Fatalf("produce --partitioner uniform: %+v", uni)
	}
	ends, err := kadm.NewClient(srv.Client(t)).ListEndOffsets(context.Background(), "u")
	if err != nil {
		t.Fatal(err)
	}
	var used, total int64
	ends.Each(func(o kadm.ListedOffset) {
		total += o.Offset
		if o.Offset > 0 {
			used++
		}
	})
	if total != 2000 || used < 2 {
		t.Fatalf("--partitioner uniform: %d records over %d partitions, want 2000 over several", total, used)
	}

	cons, _ := runBench(t, srv.Addr, "consume", "--topic", "b")
	if cons.Records != 3000 || cons.Bytes != 3000*200 || cons.Truncated || cons.RecordSize != 200 {
		t.Fatalf("consume result: %+v", cons)
	}
	grp, _ := runBench(t, srv.Addr, "consume", "--topic", "b", "--members", "2", "--records", "2000")
	if grp.Records < 2000 || grp.Truncated {
		t.Fatalf("group consume result: %+v", grp)
	}

	e2e, _ := runBench(t, srv.Addr, "e2e", "--topic", "e", "--rate", "2000", "--records", "1000", "--warmup", "100")
	if e2e.Records != 1000 || e2e.Latency == nil || e2e.Latency.Count != 1000 || e2e.Truncated {
		t.Fatalf("e2e result: %+v %+v", e2e, e2e.Latency)
	}
	// 1,100 records at 2,000/s take about 0.55 s to send.
	if e2e.Seconds < 0.4 || e2e.Latency.MaxMs <= 0 {
		t.Fatalf("e2e did not pace its sends: %+v", e2e)
	}
}

func TestBenchDurationCapsAndProgress(t *testing.T) {
	srv := kafkatest.Start(t)
	start := time.Now()
	res, stderr := runBench(t, srv.Addr, "produce", "--topic", "cap", "--records", "1000000000",
		"--duration", "1500ms", "--progress", "500ms", "--topic-config", "eddy.fsync=never")
	if el := time.Since(start); el > 20*time.Second {
		t.Fatalf("--duration 1.5s run took %s", el)
	}
	if !res.Truncated || res.Records == 0 || res.Records >= 1000000000 || res.Errors != 0 {
		t.Fatalf("capped result: %+v", res)
	}
	if !strings.Contains(stderr, "eddy bench produce:") || !strings.Contains(stderr, "records/s now") {
		t.Fatalf("no progress line on stderr: %q", stderr)
	}
}

func TestBenchHumanSummaryAndErrors(t *testing.T) {
	srv := kafkatest.Start(t)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "produce", "--brokers", srv.Addr, "--records", "100", "--topic", "h", "--progress", "0"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	if !regexpLine(out.String(), `^produce: 100 records \(.*\) in [0-9.]+s: [0-9]+ records/s, [0-9.]+ MB/s$`) ||
		!strings.Contains(out.String(), "ack latency (ms): p50") {
		t.Fatalf("summary:\n%s", out.String())
	}

	for _, args := range [][]string{
		{"bench", "produce", "--producers", "0"},
		{"bench", "produce", "--acks", "1"}, // idempotence needs acks=all
		{"bench", "e2e", "--record-size", "4"},
		{"bench", "consume", "--members", "-1"},
		{"bench", "produce", "--duration", "0s"},
		{"bench", "produce", "--partitioner", "murmur2"},
	} {
		root := newRootCmd()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(append(args, "--brokers", srv.Addr))
		err := root.Execute()
		if _, ok := errors.AsType[usageError](err); !ok {
			t.Errorf("%v: got %v, want a usage error", args, err)
		}
	}

	// A --duration that ends during the setup says so, rather than
	// blaming the broker.
	root = newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "produce", "--brokers", srv.Addr, "--topic", "late", "--duration", "1ns", "--progress", "0"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "--duration 1ns ran out") {
		t.Fatalf("setup cut by --duration: %v", err)
	}
	// So does one interrupted (SIGINT, SIGTERM: the run's context ends).
	root = newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "produce", "--brokers", srv.Addr, "--topic", "late", "--duration", "1m", "--progress", "0"})
	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if err := root.ExecuteContext(gone); err == nil || !strings.Contains(err.Error(), "list topics: interrupted") {
		t.Fatalf("setup interrupted: %v", err)
	}

	// Consuming a missing topic is an error, not a hang.
	root = newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "consume", "--brokers", srv.Addr, "--topic", "nothing-here"})
	if err := root.Execute(); err == nil {
		t.Fatal("consume of a missing topic succeeded")
	}
}

func TestLatencyHist(t *testing.T) {
	var h latencyHist
	for i := 1; i <= 10000; i++ {
		h.Record(time.Duration(i) * time.Microsecond)
	}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 5 * time.Millisecond}, {0.99, 9900 * time.Microsecond}, {1, 10 * time.Millisecond}} {
		got := h.Quantile(c.q)
		if d := float64(got-c.want) / float64(c.want); d > 0.01 || d < -0.01 {
			t.Errorf("q%.2f = %s, want %s ±1%%", c.q, got, c.want)
		}
	}
	for _, v := range []int64{0, 1, 255, 256, 257, 1 << 20, 1<<40 + 12345} {
		b := histBucket(v)
		if got := histValue(b); float64(got-v) > 0.01*float64(v)+1 || float64(v-got) > 0.01*float64(v)+1 {
			t.Errorf("bucket value of %d = %d", v, got)
		}
	}
}

// TestBenchAppend runs eddy bench append against a real eddy serve child:
// the events it reports are the events the topic holds (read back over the
// Kafka protocol with eddy bench consume), in both stream modes.
func TestBenchAppend(t *testing.T) {
	p := eddytest.Start(t)
	http, kafka := p.HTTPURL(), p.KafkaAddr()
	own, _ := runBench(t, kafka, "append", "--server", http, "--topic", "ba", "--clients", "4", "--appends", "200", "--record-size", "50")
	if own.Records != 200 || own.Bytes != 200*50 || own.Errors != 0 || own.Truncated || own.Latency == nil || own.Latency.Count != 200 {
		t.Fatalf("own-stream result: %+v %+v", own, own.Latency)
	}
	many, _ := runBench(t, kafka, "append", "--server", http, "--topic", "ba", "--events", "10", "--streams", "5", "--appends", "30")
	if many.Records != 300 || many.Errors != 0 || many.Settings["appends"] != float64(30) {
		t.Fatalf("random-stream result: %+v", many)
	}
	// Two warm-up appends, 200 and 300 events.
	cons, _ := runBench(t, kafka, "consume", "--topic", "ba", "--records", "502")
	if cons.Records != 502 || cons.Truncated {
		t.Fatalf("consumed %+v, want the 502 appended events", cons)
	}

	// Appends the server refuses (200 events of 10 kB: over the topic's
	// max.message.bytes) are counted and fail the command, naming the first.
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "append", "--server", http, "--topic", "ba", "--events", "200", "--record-size", "10000",
		"--appends", "3", "--clients", "1", "--json", "--progress", "0"})
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), "append: 3 append(s) failed") || !strings.Contains(err.Error(), "413") {
		t.Fatalf("oversized appends: %v", err)
	}
	var refused benchResult
	if jerr := json.Unmarshal(out.Bytes(), &refused); jerr != nil || refused.Errors != 3 || refused.Records != 0 {
		t.Fatalf("oversized appends result %q: %+v, %v", out.String(), refused, jerr)
	}

	// Bad flags are usage errors; an unreachable server is an error.
	for _, args := range [][]string{
		{"bench", "append", "--clients", "0"},
		{"bench", "append", "--events", "0"},
		{"bench", "append", "--streams", "-1"},
		{"bench", "append", "--server", ""},
	} {
		root := newRootCmd()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(args)
		if _, ok := errors.AsType[usageError](root.Execute()); !ok {
			t.Errorf("%v: want a usage error", args)
		}
	}
	root = newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"bench", "append", "--server", "127.0.0.1:1", "--timeout", "2s"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "first append") {
		t.Fatalf("unreachable server: %v", err)
	}
}
