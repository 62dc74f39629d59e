// Package eddytest runs the real eddy binary for tests: it builds
// cmd/eddy once per test binary and starts `eddy serve` child processes on a
// data directory and loopback listeners, so that tests can drive a server the
// way users and client libraries do (signals, exit codes, restarts, external
// Kafka clients). It is test support only; no production code imports it.
//
// Every server listens on 127.0.0.1 port 0 and logs JSON to stderr. Start
// waits for the "eddy started" log line, reads the bound addresses from it,
// and then waits until GET /readyz answers 200. The process is killed by PID
// when the test ends if it still runs. Output (stdout and stderr) is kept for
// failure messages, and JSON log lines are parsed for FindLog and WaitLog.
//
// A Process belongs to the test that started it: its methods may be called
// from several goroutines, but Start, Stop, Restart and Wait report through
// that test's testing.TB and so must not outlive it.
//
// Usage:
//
//	func TestMain(m *testing.M) { os.Exit(eddytest.BuildBinary(m)) }
//
//	func TestSomething(t *testing.T) {
//		p := eddytest.Start(t, eddytest.Args("--default-partitions", "3"))
//		cl, _ := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()))
//		...
//		p.Restart() // same data directory and addresses
//	}
package eddytest

import (
	"bufio"
	"bytes"
	"crypto/tls"
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
)

// Timeouts for starting and stopping a server. They are generous because
// the test machine is shared and the race detector slows the child down.
const (
	startTimeout = 20 * time.Second
	stopTimeout  = 30 * time.Second
)

// binary is the path BuildBinary built the eddy binary at.
var binary string

// BuildBinary builds the eddy binary from the code under test into a
// temporary directory, runs the package's tests with m.Run, removes the
// binary and returns the exit code for os.Exit. Call it from TestMain.
func BuildBinary(m *testing.M) int {
	dir, err := os.MkdirTemp("", "eddy-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "eddytest: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "eddy")
	build := exec.Command("go", "build", "-o", bin, "github.com/eddy-streaming/eddy/cmd/eddy")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "eddytest: go build ./cmd/eddy:", err)
		return 1
	}
	binary = bin
	return m.Run()
}

// Binary returns the path of the eddy binary BuildBinary built, or "" when
// TestMain did not call BuildBinary.
func Binary() string { return binary }

// CleanEnv returns the environment without EDDY_* variables, so that a
// developer's settings cannot change what a child process does.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "EDDY_") {
			env = append(env, kv)
		}
	}
	return env
}

// FreeAddr returns a loopback host:port that nothing listened on a moment
// ago, for tests that need an address where no server answers.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Option configures Start and Spawn.
type Option func(*options)

type options struct {
	dataDir string
	binary  string
	args    []string
	tls     *tls.Config
}

// HTTPTLS makes the harness reach the HTTP listener over HTTPS with cfg
// (for servers started with http-tls-cert or tls-cert).
func HTTPTLS(cfg *tls.Config) Option { return func(o *options) { o.tls = cfg } }

// WithBinary runs the eddy binary at path instead of the one BuildBinary
// built (e.g. one built with other build tags).
func WithBinary(path string) Option { return func(o *options) { o.binary = path } }

// DataDir runs the server on dir instead of a fresh t.TempDir().
func DataDir(dir string) Option { return func(o *options) { o.dataDir = dir } }

// Args appends flags to the `eddy serve` command line. A flag given here
// overrides the harness's own (e.g. --kafka-addr), since the last one wins.
func Args(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// Process is an `eddy serve` child process. It may be restarted; output
// accumulates across runs, while log lookups and the exit status refer to
// the current run.
type Process struct {
	t       testing.TB
	dataDir string
	binary  string
	args    []string
	tls     *tls.Config

	mu        sync.Mutex
	kafkaAddr string       // bound address, once a run has started
	httpAddr  string       // bound address, once a run has started
	srAddr    string       // schema registry's bound address, once a run has started
	output    bytes.Buffer // stdout and stderr of every run
	run       *run
}

// run is one execution of the process.
type run struct {
	cmd     *exec.Cmd
	logs    []map[string]any // guarded by Process.mu
	change  chan struct{}    // closed and replaced on every line and at exit; guarded by Process.mu
	exited  chan struct{}
	exitErr error // set before exited is closed
}

// Start starts `eddy serve` and waits until it has logged its start line
// and /readyz answers 200, failing the test otherwise. The data directory
// is a fresh t.TempDir() unless DataDir says otherwise.
func Start(t testing.TB, opts ...Option) *Process {
	t.Helper()
	p := Spawn(t, opts...)
	if err := p.waitReady(); err != nil {
		t.Fatalf("eddy serve did not start: %v\noutput:\n%s", err, p.Output())
	}
	return p
}

// Spawn starts `eddy serve` without waiting for it, for tests of failed
// starts; use WaitLog or Wait to follow it.
func Spawn(t testing.TB, opts ...Option) *Process {
	t.Helper()
	o := options{binary: binary}
	for _, opt := range opts {
		opt(&o)
	}
	if o.binary == "" {
		t.Fatal("eddytest: no eddy binary; call eddytest.BuildBinary from TestMain")
	}
	if o.dataDir == "" {
		o.dataDir = t.TempDir()
	}
	p := &Process{t: t, dataDir: o.dataDir, binary: o.binary, args: o.args, tls: o.tls,
		kafkaAddr: "127.0.0.1:0", httpAddr: "127.0.0.1:0", srAddr: "127.0.0.1:0"}
	t.Cleanup(p.Kill)
	if err := p.spawn(); err != nil {
		t.Fatal(err)
	}
	return p
}

// spawn starts a new run on the process's data directory and addresses.
func (p *Process) spawn() error {
	p.mu.Lock()
	args := append([]string{"serve",
		"--data-dir", p.dataDir,
		"--kafka-addr", p.kafkaAddr,
		"--http-addr", p.httpAddr,
		"--schema-registry-addr", p.srAddr,
		"--log-format", "json",
		"--shutdown-timeout", "10s",
	}, p.args...)
	p.mu.Unlock()
	cmd := exec.Command(p.binary, args...)
	cmd.Env = CleanEnv()
	cmd.Stdout = outputWriter{p}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return fmt.Errorf("stderr pipe: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start eddy serve: %w", err)
	}
	r := &run{cmd: cmd, change: make(chan struct{}), exited: make(chan struct{})}
	p.mu.Lock()
	p.run = r
	p.mu.Unlock()
	go p.read(r, stderr)
	return nil
}

// outputWriter appends the child's stdout to the process output.
type outputWriter struct{ p *Process }

func (w outputWriter) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.output.Write(b)
}

// read collects r's stderr lines until the child exits, then reaps it.
func (p *Process) read(r *run, stderr io.Reader) {
	sc := bufio.NewScanner(stderr)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var m map[string]any
		_ = json.Unmarshal(line, &m) // non-JSON lines (e.g. "eddy: ...") stay in the output only
		p.mu.Lock()
		p.output.Write(line)
		p.output.WriteByte('\n')
		if m != nil {
			r.logs = append(r.logs, m)
		}
		close(r.change)
		r.change = make(chan struct{})
		p.mu.Unlock()
	}
	_, _ = io.Copy(io.Discard, stderr) // a line over 1 MiB stops the scanner; keep the pipe drained
	err := r.cmd.Wait()
	p.mu.Lock()
	r.exitErr = err
	close(r.change)
	r.change = make(chan struct{})
	p.mu.Unlock()
	close(r.exited)
}

// current returns the current run.
func (p *Process) current() *run {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.run
}

// waitReady waits for the start line, records the bound addresses and
// waits until /readyz answers 200.
func (p *Process) waitReady() error {
	deadline := time.Now().Add(startTimeout)
	l, err := p.WaitLog("eddy started", startTimeout)
	if err != nil {
		return err
	}
	kafkaAddr, _ := l["kafka_addr"].(string)
	httpAddr, _ := l["http_addr"].(string)
	if kafkaAddr == "" || httpAddr == "" {
		return fmt.Errorf("start line lacks kafka_addr or http_addr: %v", l)
	}
	p.mu.Lock()
	p.kafkaAddr, p.httpAddr = kafkaAddr, httpAddr
	if sr, _ := l["schema_registry_addr"].(string); sr != "" {
		p.srAddr = sr
	}
	p.mu.Unlock()

	r := p.current()
	client := &http.Client{Timeout: time.Second}
	scheme := "http://"
	if p.tls != nil {
		client.Transport = &http.Transport{TLSClientConfig: p.tls}
		scheme = "https://"
	}
	for {
		resp, err := client.Get(scheme + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("/readyz not 200 within %v (last: %v)", startTimeout, err)
		}
		select {
		case <-r.exited:
			return fmt.Errorf("process exited (%v) before /readyz answered 200", r.exitErr)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// KafkaAddr returns the Kafka listener's address, host:port.
func (p *Process) KafkaAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.kafkaAddr
}

// HTTPAddr returns the HTTP listener's address, host:port.
func (p *Process) HTTPAddr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.httpAddr
}

// SchemaRegistryURL returns the schema registry listener's base URL,
// "http://host:port".
func (p *Process) SchemaRegistryURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return "http://" + p.srAddr
}

// HTTPURL returns the HTTP listener's base URL, "http://host:port"
// ("https://" with HTTPTLS).
func (p *Process) HTTPURL() string {
	if p.tls != nil {
		return "https://" + p.HTTPAddr()
	}
	return "http://" + p.HTTPAddr()
}

// ListenerAddr returns the bound address of the Kafka listener called
// name (from the start line's kafka_listeners), or "".
func (p *Process) ListenerAddr(name string) string {
	l := p.FindLog("eddy started")
	if l == nil {
		return ""
	}
	m, _ := l["kafka_listeners"].(map[string]any)
	s, _ := m[name].(string)
	return s
}

// DataDir returns the server's data directory.
func (p *Process) DataDir() string { return p.dataDir }

// PID returns the process id of the current run.
func (p *Process) PID() int { return p.current().cmd.Process.Pid }

// Output returns everything the process wrote to stdout and stderr so far,
// over all runs.
func (p *Process) Output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.output.String()
}

// Logs returns a copy of the current run's JSON log lines so far.
func (p *Process) Logs() []map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]map[string]any(nil), p.run.logs...)
}

// FindLog returns the current run's first JSON log line whose msg is msg,
// or nil.
func (p *Process) FindLog(msg string) map[string]any {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.findLogLocked(msg)
}

func (p *Process) findLogLocked(msg string) map[string]any {
	for _, l := range p.run.logs {
		if l["msg"] == msg {
			return l
		}
	}
	return nil
}

// WaitLog waits until the current run logs a line whose msg is msg and
// returns it, or returns an error after timeout or when the process exits
// without logging it.
func (p *Process) WaitLog(msg string, timeout time.Duration) (map[string]any, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		r := p.run
		ch := r.change
		l := p.findLogLocked(msg)
		p.mu.Unlock()
		if l != nil {
			return l, nil
		}
		select {
		case <-r.exited:
			if l := p.FindLog(msg); l != nil {
				return l, nil
			}
			return nil, fmt.Errorf("process exited (%v) before logging %q", r.exitErr, msg)
		case <-deadline.C:
			return nil, fmt.Errorf("no %q log line within %v", msg, timeout)
		case <-ch:
		}
	}
}

// Started returns a string field of the current run's start line (e.g.
// "version", "kafka_addr", "http_addr", "data_dir"), or "" if there is none.
func (p *Process) Started(key string) string {
	l := p.FindLog("eddy started")
	if l == nil {
		return ""
	}
	s, _ := l[key].(string)
	return s
}

// Signal sends sig to the current run, failing the test if it cannot.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.current().cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %v: %v", sig, err)
	}
}

// Wait waits up to timeout for the current run to exit and returns its exit
// code, failing the test if it does not exit in time.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	r := p.current()
	select {
	case <-r.exited:
	case <-time.After(timeout):
		p.t.Fatalf("eddy serve did not exit within %v\noutput:\n%s", timeout, p.Output())
	}
	var ee *exec.ExitError
	if errors.As(r.exitErr, &ee) {
		return ee.ExitCode()
	}
	if r.exitErr != nil {
		p.t.Fatalf("wait: %v", r.exitErr)
	}
	return 0
}

// Stop ends the server gracefully with SIGTERM and waits for it to exit,
// failing the test if it does not exit in time or exits non-zero.
func (p *Process) Stop() {
	p.t.Helper()
	r := p.current()
	p.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(stopTimeout):
		p.Kill()
		p.t.Fatalf("eddy serve did not exit %v after SIGTERM:\n%s", stopTimeout, p.Output())
	}
	if r.exitErr != nil {
		p.t.Errorf("eddy serve exited with %v after SIGTERM:\n%s", r.exitErr, p.Output())
	}
}

// Kill ends the current run with SIGKILL (by PID) if it still runs and
// waits for it to exit. Start registers it as a test cleanup.
func (p *Process) Kill() {
	r := p.current()
	if r == nil {
		return
	}
	select {
	case <-r.exited:
		return
	default:
	}
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// Restart stops the server gracefully and starts it again on the same data
// directory and addresses, waiting until it is ready.
func (p *Process) Restart() {
	p.t.Helper()
	p.Stop()
	if err := p.spawn(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.waitReady(); err != nil {
		p.t.Fatalf("eddy serve did not restart: %v\noutput:\n%s", err, p.Output())
	}
}

// Respawn starts the server again after its run ended (after Kill, to
// test crash recovery) on the same data directory and addresses, waiting
// until it is ready.
func (p *Process) Respawn() {
	p.t.Helper()
	if err := p.spawn(); err != nil {
		p.t.Fatal(err)
	}
	if err := p.waitReady(); err != nil {
		p.t.Fatalf("eddy serve did not start again: %v\noutput:\n%s", err, p.Output())
	}
}
