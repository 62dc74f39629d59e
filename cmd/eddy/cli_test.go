package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// cliResult is what one in-process run of the eddy command produced.
type cliResult struct {
	stdout, stderr string
	err            error
}

// code is the exit status main would use.
func (r cliResult) code() int {
	if r.err == nil {
		return 0
	}
	return exitCode(r.err)
}

// runCLI runs `eddy args... --brokers addr` in-process with stdin as input.
func runCLI(t *testing.T, addr, stdin string, args ...string) cliResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return runCLIContext(ctx, addr, stdin, args...)
}

// runCLIContext is runCLI under the caller's context; cancelling it is what
// SIGINT does to a consumer.
func runCLIContext(ctx context.Context, addr, stdin string, args ...string) cliResult {
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errb)
	if addr != "" {
		args = append(args, "--brokers", addr)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return cliResult{out.String(), errb.String(), err}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, addr, stdin string, args ...string) cliResult {
	t.Helper()
	r := runCLI(t, addr, stdin, args...)
	if r.err != nil {
		t.Fatalf("eddy %s: %v\nstderr: %s", strings.Join(args, " "), r.err, r.stderr)
	}
	return r
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func sortedLines(s string) []string {
	l := lines(s)
	slices.Sort(l)
	return l
}

func TestTopicLifecycle(t *testing.T) {
	t.Parallel()
	addr := startServer(t)

	r := mustRun(t, addr, "", "topic", "create", "orders", "--partitions", "3", "--config", "retention.ms=3600000")
	if !strings.Contains(r.stderr, `created topic "orders"`) {
		t.Errorf("create: stderr %q lacks confirmation", r.stderr)
	}
	if r.stdout != "" {
		t.Errorf("create wrote data to stdout: %q", r.stdout)
	}
	mustRun(t, addr, "", "topic", "create", "payments")

	if r := runCLI(t, addr, "", "topic", "create", "orders"); r.code() != 1 || !strings.Contains(r.err.Error(), "orders") {
		t.Errorf("creating an existing topic: code %d err %v, want 1 naming the topic", r.code(), r.err)
	}
	mustRun(t, addr, "", "topic", "create", "orders", "--if-not-exists")

	r = mustRun(t, addr, "", "topic", "list")
	if got, want := lines(r.stdout), []string{"orders", "payments"}; !slices.Equal(got, want) {
		t.Errorf("list = %q, want %q", got, want)
	}
	r = mustRun(t, addr, "", "topic", "list", "--long")
	if !strings.Contains(r.stdout, "TOPIC") || !regexpLine(r.stdout, `^orders\s+3\s+1$`) {
		t.Errorf("list --long:\n%s", r.stdout)
	}

	r = mustRun(t, addr, "", "topic", "describe", "orders")
	if !strings.Contains(r.stdout, "Partitions: 3") || !strings.Contains(r.stdout, "retention.ms=3600000") {
		t.Errorf("describe:\n%s", r.stdout)
	}
	for p := range 3 {
		if !regexpLine(r.stdout, fmt.Sprintf(`^%d\s+\S+\s+\[.*\]\s+\[.*\]\s+0\s+0\s+0$`, p)) {
			t.Errorf("describe lacks an empty partition %d row:\n%s", p, r.stdout)
		}
	}

	mustRun(t, addr, "", "topic", "alter", "orders", "--partitions", "5", "--config", "retention.ms=60000", "--config", "segment.bytes=1048576")
	r = mustRun(t, addr, "", "topic", "describe", "orders")
	if !strings.Contains(r.stdout, "Partitions: 5") || !strings.Contains(r.stdout, "retention.ms=60000") || !strings.Contains(r.stdout, "segment.bytes=1048576") {
		t.Errorf("describe after alter:\n%s", r.stdout)
	}
	mustRun(t, addr, "", "topic", "alter", "orders", "--delete-config", "segment.bytes")
	r = mustRun(t, addr, "", "topic", "describe", "orders")
	if strings.Contains(r.stdout, "segment.bytes=") {
		t.Errorf("segment.bytes still set after --delete-config:\n%s", r.stdout)
	}

	mustRun(t, addr, "", "topic", "delete", "orders")
	r = mustRun(t, addr, "", "topic", "list")
	if got := lines(r.stdout); !slices.Equal(got, []string{"payments"}) {
		t.Errorf("list after delete = %q", got)
	}
	if r := runCLI(t, addr, "", "topic", "delete", "orders"); r.code() != 1 || !strings.Contains(r.err.Error(), "does not exist") {
		t.Errorf("deleting a missing topic: code %d err %v", r.code(), r.err)
	}
	mustRun(t, addr, "", "topic", "delete", "orders", "--if-exists")
	if r := runCLI(t, addr, "", "topic", "describe", "orders"); r.code() != 1 || !strings.Contains(r.err.Error(), "does not exist") {
		t.Errorf("describing a missing topic: code %d err %v", r.code(), r.err)
	}
}

func TestProduceConsume(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "events", "--partitions", "3")

	in := "k1:v1\nk2:v2\r\nk3:with:colons\nk1:v4\n:empty-key\nk5:" // last line has no newline
	r := mustRun(t, addr, in, "produce", "events", "--key-separator", ":", "--header", "source=cli", "--header", "trace=a=b")
	if r.stdout != "" {
		t.Errorf("produce wrote to stdout: %q", r.stdout)
	}

	r = mustRun(t, addr, "", "consume", "events", "--from-beginning", "--count", "6",
		"--format", `{{.Key}}={{.Value}}\t{{.Headers}}|{{.Headers.Get "trace"}}`)
	want := []string{
		"=empty-key\tsource=cli,trace=a=b|a=b",
		"k1=v1\tsource=cli,trace=a=b|a=b",
		"k1=v4\tsource=cli,trace=a=b|a=b",
		"k2=v2\tsource=cli,trace=a=b|a=b",
		"k3=with:colons\tsource=cli,trace=a=b|a=b",
		"k5=\tsource=cli,trace=a=b|a=b",
	}
	if got := sortedLines(r.stdout); !slices.Equal(got, want) {
		t.Errorf("consumed\n%q\nwant\n%q", got, want)
	}

	// Records with one key land in one partition, in order.
	r = mustRun(t, addr, "", "consume", "events", "--from-beginning", "--exit-at-end", "--format", "json")
	var recs []jsonRecord
	for _, l := range lines(r.stdout) {
		if !strings.Contains(l, `"headers":[{"key":"source","value":"cli"},{"key":"trace","value":"a=b"}]`) {
			t.Errorf("json line %s lacks the headers", l)
		}
		var jr jsonRecord
		if err := json.Unmarshal([]byte(l), &jr); err != nil {
			t.Fatalf("json line %q: %v", l, err)
		}
		recs = append(recs, jr)
	}
	if len(recs) != 6 {
		t.Fatalf("--exit-at-end printed %d records, want 6:\n%s", len(recs), r.stdout)
	}
	k1 := map[int32][]string{}
	for _, jr := range recs {
		if jr.Topic != "events" || jr.Key == nil || jr.Value == nil || len(jr.Headers) != 2 {
			t.Errorf("json record %+v", jr)
			continue
		}
		ts, err := time.Parse(time.RFC3339, jr.Timestamp)
		if err != nil || time.Since(ts) > time.Minute || time.Since(ts) < -time.Minute {
			t.Errorf("timestamp %q: %v", jr.Timestamp, err)
		}
		if *jr.Key == "k1" {
			k1[jr.Partition] = append(k1[jr.Partition], *jr.Value)
		}
	}
	if len(k1) != 1 {
		t.Errorf("key k1 spread over partitions %v", k1)
	}
	for p, vs := range k1 {
		if !slices.Equal(vs, []string{"v1", "v4"}) {
			t.Errorf("key k1 in partition %d read as %q, want v1 then v4", p, vs)
		}
	}

	// An explicit partition and offset.
	mustRun(t, addr, "a\nb\nc\n", "produce", "events", "--partition", "2")
	r = mustRun(t, addr, "", "consume", "events", "--partition", "2", "--from-beginning", "--exit-at-end", "--format", "{{.Partition}} {{.Offset}} {{.Value}}")
	got := lines(r.stdout)
	if len(got) < 3 || !slices.Equal(got[len(got)-3:], []string{
		fmt.Sprintf("2 %d a", len(got)-3), fmt.Sprintf("2 %d b", len(got)-2), fmt.Sprintf("2 %d c", len(got)-1),
	}) {
		t.Fatalf("partition 2 holds %q, want ... a b c at the end", got)
	}
	base := len(got) - 3
	r = mustRun(t, addr, "", "consume", "events", "--partition", "2", "--offset", fmt.Sprint(base+1), "--count", "2")
	if got := lines(r.stdout); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("--offset %d read %q, want b c", base+1, got)
	}
	r = mustRun(t, addr, "", "consume", "events", "--partition", "2", "--offset", "-1", "--exit-at-end")
	if got := lines(r.stdout); !slices.Equal(got, []string{"c"}) {
		t.Errorf("--offset -1 read %q, want c", got)
	}
	r = mustRun(t, addr, "", "consume", "events", "--exit-at-end")
	if r.stdout != "" {
		t.Errorf("consuming from the end with --exit-at-end printed %q", r.stdout)
	}
}

func TestProduceCodecsAndAcks(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "codecs", "--partitions", "1")
	var want []string
	for _, codec := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		for _, acks := range []string{"all", "1", "0"} {
			v := strings.Repeat(codec+"-"+acks+" ", 50)
			want = append(want, v)
			mustRun(t, addr, v+"\n", "produce", "codecs", "--compression", codec, "--acks", acks)
		}
	}
	r := mustRun(t, addr, "", "consume", "codecs", "--from-beginning", "--count", fmt.Sprint(len(want)))
	if got := lines(r.stdout); !slices.Equal(got, want) {
		t.Errorf("read back %d records, want %d in order:\n%q", len(got), len(want), got)
	}
}

func TestProduceLargeAndEmptyRecords(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "big", "--partitions", "1")
	large := strings.Repeat("x", 900<<10)
	mustRun(t, addr, "\n"+large+"\n\n", "produce", "big")
	r := mustRun(t, addr, "", "consume", "big", "--from-beginning", "--count", "3", "--format", "{{.Offset}} {{len .Value}}")
	if got, want := lines(r.stdout), []string{"0 0", fmt.Sprintf("1 %d", len(large)), "2 0"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestProduceAutoCreatesTopic(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "hello\n", "produce", "fresh-topic")
	r := mustRun(t, addr, "", "consume", "fresh-topic", "--from-beginning", "--count", "1")
	if r.stdout != "hello\n" {
		t.Errorf("consumed %q", r.stdout)
	}
}

func TestConsumeErrors(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "one", "--partitions", "1")
	if r := runCLI(t, addr, "", "consume", "missing", "--count", "1"); r.code() != 1 || !strings.Contains(r.err.Error(), `topic "missing" does not exist`) {
		t.Errorf("missing topic: code %d err %v", r.code(), r.err)
	}
	if r := runCLI(t, addr, "", "consume", "one", "--partition", "7"); r.code() != 1 || !strings.Contains(r.err.Error(), "no partition 7") {
		t.Errorf("missing partition: code %d err %v", r.code(), r.err)
	}
}

func TestProduceMissingSeparator(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "sep", "--partitions", "1")
	r := runCLI(t, addr, "a:1\nno-separator\nb:2\n", "produce", "sep", "--key-separator", ":")
	if r.code() != 1 || !strings.Contains(r.err.Error(), "line 2") {
		t.Fatalf("code %d err %v, want 1 naming line 2", r.code(), r.err)
	}
	r = mustRun(t, addr, "", "consume", "sep", "--from-beginning", "--exit-at-end", "--format", "{{.Key}}={{.Value}}")
	if got := lines(r.stdout); !slices.Equal(got, []string{"a=1"}) {
		t.Errorf("records before the bad line: %q, want only a=1", got)
	}
}

func TestServerDown(t *testing.T) {
	t.Parallel()
	addr := eddytest.FreeAddr(t)
	start := time.Now()
	r := runCLI(t, addr, "", "topic", "list", "--timeout", "2s")
	if r.code() != 1 || !strings.Contains(r.err.Error(), "is the server running") {
		t.Errorf("topic list against %s: code %d err %v", addr, r.code(), r.err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v to give up", d)
	}
	r = runCLI(t, addr, "x\n", "produce", "t", "--timeout", "2s")
	if r.code() != 1 {
		t.Errorf("produce against %s: code %d err %v", addr, r.code(), r.err)
	}
}

func TestUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"topic"},
		{"topic", "frobnicate"},
		{"topic", "create"},
		{"topic", "create", "x", "--partitions", "0"},
		{"topic", "create", "x", "--config", "novalue"},
		{"topic", "alter", "x"},
		{"topic", "list", "extra"},
		{"produce"},
		{"produce", "a", "b"},
		{"produce", "t", "--acks", "2"},
		{"produce", "t", "--compression", "brotli"},
		{"produce", "t", "--header", "=v"},
		{"produce", "t", "--no-such-flag"},
		{"consume", "t", "--offset", "soon"},
		{"consume", "t", "--offset", "3", "--from-beginning"},
		{"consume", "t", "--format", "{{.Value"},
		{"consume", "t", "--group", "g", "--partition", "0"},
		{"consume", "t", "--group", "g", "--offset", "3"},
		{"consume", "t", "--count", "-1"},
		{"topic", "list", "--brokers", " , "},
	} {
		r := runCLI(t, "", "", args...)
		if r.code() != 2 {
			t.Errorf("eddy %s: exit %d (err %v), want 2", strings.Join(args, " "), r.code(), r.err)
		}
	}
}

func TestBrokersFromEnv(t *testing.T) {
	addr := startServer(t)
	t.Setenv(brokersEnv, addr)
	r := runCLI(t, "", "", "topic", "create", "from-env", "--partitions", "1")
	if r.err != nil {
		t.Fatalf("with $%s=%s: %v", brokersEnv, addr, r.err)
	}
	r = runCLI(t, "", "", "topic", "list")
	if got := lines(r.stdout); !slices.Equal(got, []string{"from-env"}) {
		t.Errorf("list = %q (err %v)", got, r.err)
	}
}

func TestProduceErrorsFromServer(t *testing.T) {
	t.Parallel()
	addr := eddytest.Start(t, eddytest.Args("--auto-create-topics=false")).KafkaAddr()
	start := time.Now()
	r := runCLI(t, addr, "x\n", "produce", "not-there")
	if r.code() != 1 || !strings.Contains(r.err.Error(), "UNKNOWN_TOPIC_OR_PARTITION") {
		t.Errorf("produce to a missing topic without auto-create: code %d err %v", r.code(), r.err)
	}
	t.Logf("unknown topic reported after %v", time.Since(start))

	mustRun(t, addr, "", "topic", "create", "small", "--partitions", "1", "--config", "max.message.bytes=1000")
	mustRun(t, addr, "ok\n", "produce", "small")
	r = runCLI(t, addr, strings.Repeat("y", 4000)+"\n", "produce", "small")
	if r.code() != 1 || !strings.Contains(r.err.Error(), "MESSAGE_TOO_LARGE") {
		t.Errorf("produce over max.message.bytes: code %d err %v", r.code(), r.err)
	}
	r = mustRun(t, addr, "", "consume", "small", "--from-beginning", "--exit-at-end")
	if r.stdout != "ok\n" {
		t.Errorf("topic holds %q, want only the small record", r.stdout)
	}
}
