package clients

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// pythonBin is Debian's interpreter: the Python Kafka clients come from
// Debian packages, which a pyenv python3 earlier on PATH does not see.
const pythonBin = "/usr/bin/python3"

// TestMain builds the eddy binary the tests run as server and CLI.
func TestMain(m *testing.M) {
	os.Exit(eddytest.BuildBinary(m))
}

// requireClients reports whether missing clients fail tests instead of
// skipping them.
func requireClients() bool { return os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" }

// aptInstall is how the Debian-packaged clients are installed.
const aptInstall = "apt-get install -y kcat python3-kafka python3-confluent-kafka"

// needClient skips (or, under EDDY_REQUIRE_CLIENTS=1, fails) the test when
// a client is unavailable; why says what is missing and install is the
// command (run from the repository root) that provides it.
func needClient(t *testing.T, ok bool, why, install string) {
	t.Helper()
	if ok {
		return
	}
	if requireClients() {
		t.Fatalf("EDDY_REQUIRE_CLIENTS=1 but %s (install with: %s)", why, install)
	}
	t.Skipf("%s (install with: %s)", why, install)
}

// needKcat checks for kcat on PATH.
func needKcat(t *testing.T) {
	t.Helper()
	_, err := exec.LookPath("kcat")
	needClient(t, err == nil, "kcat is not on PATH", aptInstall)
}

// needPython checks that /usr/bin/python3 can import module.
func needPython(t *testing.T, module string) {
	t.Helper()
	err := exec.Command(pythonBin, "-c", "import "+module).Run()
	needClient(t, err == nil, fmt.Sprintf("%s cannot import %s", pythonBin, module), aptInstall)
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
	cmd.Env = eddytest.CleanEnv()
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
func mustCmd(t *testing.T, s *eddytest.Process, timeout time.Duration, stdin, name string, args ...string) result {
	t.Helper()
	r := runCmd(t, timeout, stdin, name, args...)
	if r.err != nil {
		logs := ""
		if s != nil {
			logs = "\nserver log:\n" + s.Output()
		}
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s%s", name, strings.Join(args, " "), r.err, r.stdout, r.stderr, logs)
	}
	return r
}

// eddy runs an eddy client subcommand against s.
func eddy(t *testing.T, s *eddytest.Process, stdin string, args ...string) result {
	t.Helper()
	return mustCmd(t, s, 60*time.Second, stdin, eddytest.Binary(), append(args, "--brokers", s.KafkaAddr())...)
}

// python runs a script from testdata with /usr/bin/python3.
func python(t *testing.T, s *eddytest.Process, script string, args ...string) result {
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
