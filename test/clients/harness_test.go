package clients

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// eddyBin is the eddy binary TestMain builds from the code under test.
var eddyBin string

// pythonBin is Debian's interpreter: the Python Kafka clients come from
// Debian packages, which a pyenv python3 earlier on PATH does not see.
const pythonBin = "/usr/bin/python3"

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "eddy-clients-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "clients: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	eddyBin = filepath.Join(dir, "eddy")
	build := exec.Command("go", "build", "-o", eddyBin, "github.com/eddy-streaming/eddy/cmd/eddy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "clients: go build ./cmd/eddy:", err)
		return 1
	}
	return m.Run()
}

// requireClients reports whether missing clients fail tests instead of
// skipping them.
func requireClients() bool { return os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" }

// needClient skips (or, under EDDY_REQUIRE_CLIENTS=1, fails) the test when
// a client is unavailable; why says what is missing.
func needClient(t *testing.T, ok bool, why string) {
	t.Helper()
	if ok {
		return
	}
	if requireClients() {
		t.Fatalf("EDDY_REQUIRE_CLIENTS=1 but %s", why)
	}
	t.Skipf("%s (install with apt-get install -y kcat python3-kafka python3-confluent-kafka)", why)
}

// needKcat checks for kcat on PATH.
func needKcat(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("kcat")
	needClient(t, err == nil, "kcat is not on PATH")
}

// needPython checks that /usr/bin/python3 can import module.
func needPython(t *testing.T, module string) {
	t.Helper()
	err := exec.Command(pythonBin, "-c", "import "+module).Run()
	needClient(t, err == nil, fmt.Sprintf("%s cannot import %s", pythonBin, module))
}

// freePort returns a loopback host:port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is an `eddy serve` child process.
type server struct {
	t         *testing.T
	dataDir   string
	kafkaAddr string
	httpAddr  string

	cmd    *exec.Cmd
	mu     sync.Mutex
	output bytes.Buffer // the server's stdout and stderr
	exited chan struct{}
}

// startServer starts `eddy serve` on a fresh data directory and free
// loopback ports, waits until /readyz answers 200, and kills the process by
// PID when the test ends.
func startServer(t *testing.T, extra ...string) *server {
	t.Helper()
	s := &server{t: t, dataDir: t.TempDir()}
	// A port found free may be taken (by another test's outgoing
	// connection) before the server binds it; then try other ports.
	for attempt := 1; ; attempt++ {
		s.kafkaAddr, s.httpAddr = freePort(t), freePort(t)
		s.mu.Lock()
		s.output.Reset()
		s.mu.Unlock()
		if err := s.tryStart(extra...); err == nil {
			break
		} else if attempt == 3 || !strings.Contains(s.logs(), "address already in use") {
			t.Fatal(err)
		}
	}
	t.Cleanup(s.kill)
	return s
}

func (s *server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.Write(p)
}

func (s *server) logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.output.String()
}

// start starts the server, failing the test if it does not become ready.
func (s *server) start(extra ...string) {
	s.t.Helper()
	if err := s.tryStart(extra...); err != nil {
		s.t.Fatal(err)
	}
}

// tryStart starts the server and waits until /readyz answers 200.
func (s *server) tryStart(extra ...string) error {
	args := append([]string{"serve",
		"--data-dir", s.dataDir,
		"--kafka-addr", s.kafkaAddr,
		"--http-addr", s.httpAddr,
	}, extra...)
	s.cmd = exec.Command(eddyBin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s, s
	s.cmd.Env = cleanEnv()
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("start eddy serve: %w", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) { _ = cmd.Wait(); close(exited) }(s.cmd)

	deadline := time.Now().Add(20 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return fmt.Errorf("eddy serve exited during start (%v):\n%s", s.cmd.ProcessState, s.logs())
		default:
		}
		resp, err := client.Get("http://" + s.httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			s.kill()
			return fmt.Errorf("eddy serve not ready after 20s (last: %v):\n%s", err, s.logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends the server gracefully with SIGTERM and waits for it to exit.
func (s *server) stop() {
	t := s.t
	t.Helper()
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("signal eddy serve: %v", err)
	}
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		s.kill()
		t.Fatalf("eddy serve did not exit 30s after SIGTERM:\n%s", s.logs())
	}
	if !s.cmd.ProcessState.Success() {
		t.Errorf("eddy serve exited with %v after SIGTERM:\n%s", s.cmd.ProcessState, s.logs())
	}
}

// restart stops the server and starts it again on the same data directory
// and ports.
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

// kill ends the process by PID if it still runs.
func (s *server) kill() {
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
}

// cleanEnv is the environment without EDDY_* settings, so that a
// developer's environment does not change what the tests run against.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDDY_") {
			env = append(env, kv)
		}
	}
	return env
}

// result is the outcome of one client process.
type result struct {
	stdout, stderr string
	code           int
	err            error
}

// runCmd runs name with args and stdin, killing it after timeout.
func runCmd(t *testing.T, timeout time.Duration, stdin, name string, args ...string) result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String(), err: err}
	if cmd.ProcessState != nil {
		r.code = cmd.ProcessState.ExitCode()
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("killed after %v: %w", timeout, ctx.Err())
	}
	return r
}

// mustCmd is runCmd that fails the test unless the command exits 0.
func mustCmd(t *testing.T, s *server, timeout time.Duration, stdin, name string, args ...string) result {
	t.Helper()
	r := runCmd(t, timeout, stdin, name, args...)
	if r.err != nil {
		logs := ""
		if s != nil {
			logs = "\nserver log:\n" + s.logs()
		}
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s%s", name, strings.Join(args, " "), r.err, r.stdout, r.stderr, logs)
	}
	return r
}

// eddy runs an eddy client subcommand against s.
func (s *server) eddy(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	return mustCmd(t, s, 60*time.Second, stdin, eddyBin, append(args, "--brokers", s.kafkaAddr)...)
}

// python runs a script from testdata with /usr/bin/python3.
func (s *server) python(t *testing.T, script string, args ...string) result {
	t.Helper()
	return mustCmd(t, s, 90*time.Second, "", pythonBin, append([]string{filepath.Join("testdata", script)}, args...)...)
}

// lines splits output into lines without the trailing empty one.
func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}
