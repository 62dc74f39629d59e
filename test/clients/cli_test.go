package clients

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

var totalLagRE = regexp.MustCompile(`(?m)^Total lag: (\d+)$`)

// groupLag runs `eddy group describe` and returns the total lag, or -1
// when the group cannot be described.
func groupLag(t *testing.T, s *eddytest.Process, group string) (int64, string) {
	t.Helper()
	r := runCmd(t, 30*time.Second, "", eddytest.Binary(), "group", "describe", group, "--brokers", s.KafkaAddr())
	m := totalLagRE.FindStringSubmatch(r.stdout)
	if r.err != nil || m == nil {
		return -1, r.stdout + r.stderr
	}
	n, _ := strconv.ParseInt(m[1], 10, 64)
	return n, r.stdout
}

// waitLag waits until the group's total lag is want (commits made on
// close may land a moment after a client exits).
func waitLag(t *testing.T, s *eddytest.Process, group string, want int64) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		lag, out := groupLag(t, s, group)
		if lag == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s: total lag %d, want %d:\n%s", group, lag, want, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCLIShellPipes(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	script := fmt.Sprintf(`set -eo pipefail
seq 1 1000 | %[1]s produce nums --brokers %[2]s
%[1]s consume nums --from-beginning --exit-at-end --brokers %[2]s | awk '{ s += $1 } END { print NR, s }'
%[1]s topic list --brokers %[2]s | grep -x nums`, eddytest.Binary(), s.KafkaAddr())
	r := mustCmd(t, s, 60*time.Second, "", "bash", "-c", script)
	if r.stdout != "1000 500500\nnums\n" {
		t.Errorf("pipeline printed %q, want \"1000 500500\\nnums\\n\"", r.stdout)
	}
	if r.stderr != "" {
		t.Errorf("pipeline wrote diagnostics: %q", r.stderr)
	}
}

func TestCLIExitCodes(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	r := runCmd(t, 30*time.Second, "", eddytest.Binary(), "produce")
	if r.code != 2 || r.stdout != "" || !strings.Contains(r.stderr, "produce") {
		t.Errorf("usage error: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	r = runCmd(t, 30*time.Second, "", eddytest.Binary(), "consume", "nope", "--brokers", s.KafkaAddr())
	if r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, `topic "nope" does not exist`) {
		t.Errorf("missing topic: exit %d stdout %q stderr %q", r.code, r.stdout, r.stderr)
	}
	down := eddytest.FreeAddr(t)
	r = runCmd(t, 30*time.Second, "", eddytest.Binary(), "topic", "list", "--brokers", down, "--timeout", "3s")
	if r.code != 1 || !strings.Contains(r.stderr, "is the server running") {
		t.Errorf("server down: exit %d stderr %q", r.code, r.stderr)
	}
}

// startConsumer starts `eddy consume args...` and returns the process and
// a reader of its stdout.
func startConsumer(t *testing.T, s *eddytest.Process, args ...string) (*exec.Cmd, *bufio.Reader, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(eddytest.Binary(), append([]string{"consume"}, append(args, "--brokers", s.KafkaAddr())...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := startChild(t, cmd)
	return cmd, bufio.NewReader(out), stderr
}

// startChild starts cmd, whose pipes are already set up, with the clean
// environment and stderr captured, and kills it by PID when the test ends
// if the test has not waited for it.
func startChild(t *testing.T, cmd *exec.Cmd) *strings.Builder {
	t.Helper()
	cmd.Env = eddytest.CleanEnv()
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return stderr
}

// readLines reads n lines from r, failing the test after timeout.
func readLines(t *testing.T, r *bufio.Reader, n int, timeout time.Duration) []string {
	t.Helper()
	type res struct {
		lines []string
		err   error
	}
	ch := make(chan res, 1)
	go func() {
		var out []string
		for len(out) < n {
			l, err := r.ReadString('\n')
			if err != nil {
				ch <- res{out, err}
				return
			}
			out = append(out, strings.TrimSuffix(l, "\n"))
		}
		ch <- res{out, nil}
	}()
	select {
	case got := <-ch:
		if got.err != nil {
			t.Fatalf("read %d of %d lines: %v", len(got.lines), n, got.err)
		}
		return got.lines
	case <-time.After(timeout):
		t.Fatalf("no %d lines within %v", n, timeout)
		return nil
	}
}

// interrupt sends SIGINT and waits for a clean exit.
func interrupt(t *testing.T, cmd *exec.Cmd, stdout io.Reader, stderr *strings.Builder) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("eddy consume after SIGINT: %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("eddy consume still running 20s after SIGINT")
	}
}

func TestCLIConsumeFollowsAndExitsOnSIGINT(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "live", "--partitions", "2")
	eddy(t, s, "old\n", "produce", "live")

	cmd, out, stderr := startConsumer(t, s, "live", "--from-beginning", "--format", "{{.Partition}}/{{.Offset}} {{.Key}} {{.Value}}")
	if got := readLines(t, out, 1, 30*time.Second); !strings.HasSuffix(got[0], " old") {
		t.Fatalf("first line %q", got[0])
	}
	// Records produced while it runs arrive without restarting it.
	eddy(t, s, "a:new1\nb:new2\n", "produce", "live", "--key-separator", ":")
	got := readLines(t, out, 2, 30*time.Second)
	joined := strings.Join(got, "|")
	if !strings.Contains(joined, " a new1") || !strings.Contains(joined, " b new2") {
		t.Errorf("followed records %q", got)
	}
	interrupt(t, cmd, out, stderr)
}

func TestCLIConsumeGroupCommitsOnSIGINT(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "gsig", "--partitions", "2")
	eddy(t, s, "1\n2\n3\n4\n5\n", "produce", "gsig")

	cmd, out, stderr := startConsumer(t, s, "gsig", "--group", "sig", "--from-beginning")
	readLines(t, out, 5, 30*time.Second)
	interrupt(t, cmd, out, stderr)
	waitLag(t, s, "sig", 0)

	// A new run of the group starts after what the first printed.
	eddy(t, s, "6\n", "produce", "gsig")
	r := eddy(t, s, "", "consume", "gsig", "--group", "sig", "--from-beginning", "--count", "1")
	if r.stdout != "6\n" {
		t.Errorf("second group run read %q, want only the new record", r.stdout)
	}
}

func TestCLIProduceExitsOnSIGINT(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "typed", "--partitions", "1")
	cmd := exec.Command(eddytest.Binary(), "produce", "typed", "--brokers", s.KafkaAddr())
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := startChild(t, cmd)
	// Lines typed into a producer that keeps running are sent at once.
	if _, err := io.WriteString(stdin, "first\nsecond\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := eddy(t, s, "", "consume", "typed", "--from-beginning", "--exit-at-end")
		if r.stdout == "first\nsecond\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("records typed into a running producer not readable; topic holds %q", r.stdout)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("eddy produce after SIGINT: %v (stderr %q)", err, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("eddy produce still running 20s after SIGINT")
	}
	stdin.Close()
}

func TestCLIGroupSharesWithLibrdkafkaConsumer(t *testing.T) {
	t.Parallel()
	needPython(t, "confluent_kafka")
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "mixed", "--partitions", "4")

	// eddy consume joins first and owns every partition.
	cmd, out, stderr := startConsumer(t, s, "mixed", "--group", "mix", "--from-beginning")
	waitDescribe(t, s, "mix", "State: Stable", "Members: 1")

	// A librdkafka consumer (range,roundrobin) joins the same group: the
	// members must agree on a protocol and split the partitions.
	py := exec.Command(pythonBin, "testdata/confluent_client.py", "consume", s.KafkaAddr(), "mixed", "mix", "20")
	py.Env = eddytest.CleanEnv()
	var pyOut, pyErr strings.Builder
	py.Stdout, py.Stderr = &pyOut, &pyErr
	if err := py.Start(); err != nil {
		t.Fatal(err)
	}
	pyDone := make(chan error, 1)
	go func() { pyDone <- py.Wait() }()
	t.Cleanup(func() {
		if py.ProcessState == nil {
			_ = py.Process.Kill()
			<-pyDone
		}
	})
	desc := waitDescribe(t, s, "mix", "State: Stable", "Members: 2")
	if !strings.Contains(desc, "Protocol: consumer/range") && !strings.Contains(desc, "Protocol: consumer/roundrobin") {
		t.Errorf("mixed group protocol:\n%s", desc)
	}

	for p := range 4 {
		var in strings.Builder
		for i := range 10 {
			fmt.Fprintf(&in, "%d\n", p*10+i)
		}
		eddy(t, s, in.String(), "produce", "mixed", "--partition", strconv.Itoa(p))
	}
	select {
	case err := <-pyDone:
		if err != nil {
			t.Fatalf("confluent consumer: %v\n%s", err, pyErr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("confluent consumer did not get its 20 records; it printed %q\nstderr %s", pyOut.String(), pyErr.String())
	}
	got := readLines(t, out, 20, 30*time.Second)
	interrupt(t, cmd, out, stderr)

	seen := map[string]int{}
	for _, v := range append(got, lines(pyOut.String())...) {
		seen[v]++
	}
	for i := range 40 {
		if seen[strconv.Itoa(i)] != 1 {
			t.Errorf("value %d read %d times (eddy %q, confluent %q)", i, seen[strconv.Itoa(i)], got, pyOut.String())
		}
	}
}

// waitDescribe waits until `eddy group describe` shows every want string,
// and returns that output.
func waitDescribe(t *testing.T, s *eddytest.Process, group string, want ...string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := runCmd(t, 30*time.Second, "", eddytest.Binary(), "group", "describe", group, "--brokers", s.KafkaAddr())
		ok := r.err == nil
		for _, w := range want {
			ok = ok && strings.Contains(r.stdout, w)
		}
		if ok {
			return r.stdout
		}
		if time.Now().After(deadline) {
			t.Fatalf("group %s never showed %q:\n%s%s", group, want, r.stdout, r.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestCLIConsumeSurvivesServerRestart(t *testing.T) {
	t.Parallel()
	s := eddytest.Start(t)
	eddy(t, s, "", "topic", "create", "durable", "--partitions", "1")
	eddy(t, s, "before\n", "produce", "durable")
	cmd, out, stderr := startConsumer(t, s, "durable", "--from-beginning")
	if got := readLines(t, out, 1, 30*time.Second); got[0] != "before" {
		t.Fatalf("read %q", got)
	}

	s.Restart()
	eddy(t, s, "after\n", "produce", "durable")
	// The running consumer reconnects and continues after what it read.
	if got := readLines(t, out, 1, 60*time.Second); got[0] != "after" {
		t.Errorf("after the restart read %q, want \"after\"", got)
	}
	interrupt(t, cmd, out, stderr)
}
