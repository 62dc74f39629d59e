package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

	"go.uber.org/goleak"
)

// eddyProc is a child `eddy serve` started from the binary TestMain built,
// logging JSON to a pipe the test reads.
type eddyProc struct {
	cmd     *exec.Cmd
	dataDir string

	mu     sync.Mutex
	logs   []map[string]any
	stderr bytes.Buffer
	change chan struct{} // closed and replaced on every new line or exit

	exited  chan struct{}
	exitErr error
}

// startEddy starts `eddy serve` on dataDir with loopback port-0 listeners
// and JSON logs, plus args, and waits for its start line. The process is
// killed (by PID) at the end of the test if it is still running.
func startEddy(t *testing.T, dataDir string, args ...string) *eddyProc {
	t.Helper()
	p := spawnEddy(t, dataDir, args...)
	if _, err := p.waitLog("eddy started", 20*time.Second); err != nil {
		t.Fatalf("eddy serve did not start: %v\nstderr:\n%s", err, p.output())
	}
	return p
}

// spawnEddy starts `eddy serve` without waiting for anything.
func spawnEddy(t *testing.T, dataDir string, args ...string) *eddyProc {
	t.Helper()
	full := append([]string{"serve",
		"--data-dir", dataDir,
		"--kafka-addr", "127.0.0.1:0",
		"--http-addr", "127.0.0.1:0",
		"--log-format", "json",
		"--shutdown-timeout", "10s",
	}, args...)
	cmd := exec.Command(eddyBin, full...)
	cmd.Env = cleanEnv()
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &eddyProc{cmd: cmd, dataDir: dataDir, change: make(chan struct{}), exited: make(chan struct{})}
	go p.read(pipe)
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = cmd.Process.Kill()
			<-p.exited
		}
	})
	return p
}

// cleanEnv is the test's environment without EDDY_* variables, so a
// developer's settings cannot change what the child does.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDDY_") {
			env = append(env, kv)
		}
	}
	return env
}

func (p *eddyProc) read(r io.Reader) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		_ = json.Unmarshal(line, &m) // non-JSON lines (e.g. "eddy: ...") stay in stderr only
		p.mu.Lock()
		p.stderr.Write(line)
		p.stderr.WriteByte('\n')
		if m != nil {
			p.logs = append(p.logs, m)
		}
		close(p.change)
		p.change = make(chan struct{})
		p.mu.Unlock()
	}
	err := p.cmd.Wait()
	p.mu.Lock()
	p.exitErr = err
	close(p.change)
	p.change = make(chan struct{})
	p.mu.Unlock()
	close(p.exited)
}

func (p *eddyProc) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// findLog returns the first log line whose msg is msg, or nil.
func (p *eddyProc) findLog(msg string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, l := range p.logs {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// waitLog waits until a log line with msg appears.
func (p *eddyProc) waitLog(msg string, timeout time.Duration) (map[string]any, error) {
	deadline := time.After(timeout)
	for {
		p.mu.Lock()
		ch := p.change
		p.mu.Unlock()
		if l := p.findLog(msg); l != nil {
			return l, nil
		}
		select {
		case <-p.exited:
			if l := p.findLog(msg); l != nil {
				return l, nil
			}
			return nil, fmt.Errorf("process exited (%v) before logging %q", p.exitErr, msg)
		case <-deadline:
			return nil, fmt.Errorf("no %q log line within %v", msg, timeout)
		case <-ch:
		}
	}
}

// started returns a field of the start line, e.g. "http_addr".
func (p *eddyProc) started(field string) string {
	l := p.findLog("eddy started")
	if l == nil {
		return ""
	}
	s, _ := l[field].(string)
	return s
}

func (p *eddyProc) httpURL() string { return "http://" + p.started("http_addr") }

// wait waits for the process to exit and returns its exit code.
func (p *eddyProc) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("eddy serve did not exit within %v\nstderr:\n%s", timeout, p.output())
	}
	var ee *exec.ExitError
	if errors.As(p.exitErr, &ee) {
		return ee.ExitCode()
	}
	if p.exitErr != nil {
		t.Fatalf("wait: %v", p.exitErr)
	}
	return 0
}

func (p *eddyProc) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v: %v", sig, err)
	}
}

// runEddy runs a short-lived eddy command and returns stdout, stderr and
// the exit code.
func runEddy(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, eddyBin, args...)
	cmd.Env = append(cleanEnv(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out.String(), errb.String(), 0
	case errors.As(err, &ee):
		return out.String(), errb.String(), ee.ExitCode()
	default:
		t.Fatalf("run eddy %v: %v", args, err)
		return "", "", -1
	}
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func TestServePrintConfig(t *testing.T) {
	cfgFile := filepath.Join(t.TempDir(), "eddy.yaml")
	if err := os.WriteFile(cfgFile, []byte("default-partitions: 4\nlog-level: error\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runEddy(t, []string{"EDDY_LOG_LEVEL=warn", "EDDY_FSYNC=never"},
		"serve", "--print-config", "--config", cfgFile, "--fsync", "interval")
	if code != 0 {
		t.Fatalf("exit %d, stderr: %s", code, errOut)
	}
	for _, want := range []string{
		"default-partitions: 4", "# file " + cfgFile, // file over default
		"log-level: warn", "# env EDDY_LOG_LEVEL", // env over file
		"fsync: interval", "# flag --fsync", // flag over env
		"data-dir: eddy-data",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("--print-config output lacks %q:\n%s", want, out)
		}
	}
}

func TestServeInvalidConfigExits2(t *testing.T) {
	tests := []struct {
		name string
		env  []string
		args []string
		want []string
	}{
		{"bad flag value", nil, []string{"--fsync", "sometimes", "--default-partitions", "0"},
			[]string{`fsync (from flag --fsync): "sometimes" is not allowed; use always, interval or never`, "default-partitions (from flag --default-partitions): 0 is out of range"}},
		{"bad env value", []string{"EDDY_SHUTDOWN_TIMEOUT=forever"}, nil,
			[]string{`shutdown-timeout (from env EDDY_SHUTDOWN_TIMEOUT): "forever": want a duration`}},
		{"unknown flag", nil, []string{"--no-such-flag"}, []string{"unknown flag: --no-such-flag"}},
		{"missing config file", nil, []string{"--config", "/nonexistent/eddy.yaml"}, []string{"read config file"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			_, errOut, code := runEddy(t, tt.env, append([]string{"serve", "--data-dir", dir}, tt.args...)...)
			if code != 2 {
				t.Errorf("exit %d, want 2; stderr: %s", code, errOut)
			}
			for _, w := range tt.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr lacks %q:\n%s", w, errOut)
				}
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("invalid config touched the data dir: %v", entries)
			}
		})
	}
}

func TestServeLockRefusesSecondServer(t *testing.T) {
	dir := t.TempDir()
	first := startEddy(t, dir)

	second := spawnEddy(t, dir)
	if code := second.wait(t, 20*time.Second); code == 0 {
		t.Fatalf("second eddy serve on the same data dir exited 0\nstderr:\n%s", second.output())
	}
	want := fmt.Sprintf("data directory is in use by another eddy serve (pid %d)", first.cmd.Process.Pid)
	if !strings.Contains(second.output(), want) {
		t.Errorf("second server's message lacks %q:\n%s", want, second.output())
	}
	// The first server is untouched and still healthy.
	if code, _ := httpGet(t, first.httpURL()+"/readyz"); code != 200 {
		t.Errorf("first server /readyz = %d after the refused start", code)
	}
	first.signal(t, syscall.SIGTERM)
	if code := first.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("first server exit %d\n%s", code, first.output())
	}
	// Once the owner is gone the directory can be used again.
	third := startEddy(t, dir)
	third.signal(t, syscall.SIGINT)
	if code := third.wait(t, 20*time.Second); code != 0 {
		t.Fatalf("third server exit %d\n%s", code, third.output())
	}
}

func TestLockDataDirInProcess(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in
	// the same process conflicts just as another process would.
	if _, err := lockDataDir(dir); !errors.Is(err, errDataDirLocked) {
		t.Fatalf("second lock: %v, want errDataDirLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := startEddy(t, t.TempDir())
			if code, body := httpGet(t, p.httpURL()+"/healthz"); code != 200 {
				t.Fatalf("/healthz = %d %s", code, body)
			}
			if code, body := httpGet(t, p.httpURL()+"/readyz"); code != 200 {
				t.Fatalf("/readyz = %d %s", code, body)
			}
			p.signal(t, sig)
			if code := p.wait(t, 20*time.Second); code != 0 {
				t.Fatalf("exit %d after %v, want 0\n%s", code, sig, p.output())
			}
			if p.findLog("eddy stopped cleanly") == nil {
				t.Errorf("no clean-stop log line:\n%s", p.output())
			}
		})
	}
}

func TestServeStartLineAndStatus(t *testing.T) {
	dir := t.TempDir()
	p := startEddy(t, dir)
	for _, f := range []string{"version", "http_addr", "data_dir"} {
		if p.started(f) == "" {
			t.Errorf("start line lacks %s:\n%s", f, p.output())
		}
	}
	out, errOut, code := runEddy(t, nil, "status", "--server", p.started("http_addr"))
	if code != 0 {
		t.Fatalf("eddy status exit %d: %s", code, errOut)
	}
	abs, _ := filepath.Abs(dir)
	for _, want := range []string{"ready, up", "data dir   " + abs, "http " + p.started("http_addr")} {
		if !strings.Contains(out, want) {
			t.Errorf("eddy status output lacks %q:\n%s", want, out)
		}
	}
	out, _, code = runEddy(t, nil, "status", "--json", "--http-addr", p.httpURL())
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["data_dir"] != abs {
		t.Errorf("eddy status --json: exit %d, %s", code, out)
	}
	p.signal(t, syscall.SIGTERM)
	p.wait(t, 20*time.Second)
	if _, errOut, code := runEddy(t, nil, "status", "--server", p.started("http_addr")); code != 1 || !strings.Contains(errOut, "cannot reach eddy") {
		t.Errorf("status of a stopped server: exit %d, %s", code, errOut)
	}
}

func TestServeListenerAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	for _, flag := range []string{"--kafka-addr", "--http-addr"} {
		p := spawnEddy(t, dir, flag, ln.Addr().String())
		if code := p.wait(t, 20*time.Second); code != 1 {
			t.Errorf("%s in use: exit %d, want 1\n%s", flag, code, p.output())
		}
		if !strings.Contains(p.output(), "address already in use") {
			t.Errorf("%s in use: message does not say so:\n%s", flag, p.output())
		}
	}
	// The failed starts released the data directory.
	p := startEddy(t, dir)
	p.signal(t, syscall.SIGTERM)
	if code := p.wait(t, 20*time.Second); code != 0 {
		t.Errorf("start after failed starts: exit %d\n%s", code, p.output())
	}
}
