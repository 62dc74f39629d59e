package main

import (
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
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// runEddy runs a short-lived eddy command and returns stdout, stderr and
// the exit code.
func runEddy(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, eddytest.Binary(), args...)
	cmd.Env = append(eddytest.CleanEnv(), env...)
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
	first := eddytest.Start(t, eddytest.DataDir(dir))

	second := eddytest.Spawn(t, eddytest.DataDir(dir))
	if code := second.Wait(20 * time.Second); code == 0 {
		t.Fatalf("second eddy serve on the same data dir exited 0\nstderr:\n%s", second.Output())
	}
	want := fmt.Sprintf("data directory is in use by another eddy serve (pid %d)", first.PID())
	if !strings.Contains(second.Output(), want) {
		t.Errorf("second server's message lacks %q:\n%s", want, second.Output())
	}
	// The first server is untouched and still healthy.
	if code, _ := httpGet(t, first.HTTPURL()+"/readyz"); code != 200 {
		t.Errorf("first server /readyz = %d after the refused start", code)
	}
	first.Signal(syscall.SIGTERM)
	if code := first.Wait(20 * time.Second); code != 0 {
		t.Fatalf("first server exit %d\n%s", code, first.Output())
	}
	// Once the owner is gone the directory can be used again.
	third := eddytest.Start(t, eddytest.DataDir(dir))
	third.Signal(syscall.SIGINT)
	if code := third.Wait(20 * time.Second); code != 0 {
		t.Fatalf("third server exit %d\n%s", code, third.Output())
	}
}

func TestServeGracefulShutdown(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			p := eddytest.Start(t)
			if code, body := httpGet(t, p.HTTPURL()+"/healthz"); code != 200 {
				t.Fatalf("/healthz = %d %s", code, body)
			}
			if code, body := httpGet(t, p.HTTPURL()+"/readyz"); code != 200 {
				t.Fatalf("/readyz = %d %s", code, body)
			}
			p.Signal(sig)
			if code := p.Wait(20 * time.Second); code != 0 {
				t.Fatalf("exit %d after %v, want 0\n%s", code, sig, p.Output())
			}
			if p.FindLog("eddy stopped cleanly") == nil {
				t.Errorf("no clean-stop log line:\n%s", p.Output())
			}
		})
	}
}

func TestServeStartLineAndStatus(t *testing.T) {
	dir := t.TempDir()
	p := eddytest.Start(t, eddytest.DataDir(dir))
	for _, f := range []string{"version", "http_addr", "data_dir"} {
		if p.Started(f) == "" {
			t.Errorf("start line lacks %s:\n%s", f, p.Output())
		}
	}
	out, errOut, code := runEddy(t, nil, "status", "--server", p.Started("http_addr"))
	if code != 0 {
		t.Fatalf("eddy status exit %d: %s", code, errOut)
	}
	abs, _ := filepath.Abs(dir)
	for _, want := range []string{"ready, up", "http " + p.Started("http_addr")} {
		if !strings.Contains(out, want) {
			t.Errorf("eddy status output lacks %q:\n%s", want, out)
		}
	}
	// Without authentication /v1/status does not show the data
	// directory (the start line does, for the operator).
	if strings.Contains(out, abs) {
		t.Errorf("eddy status output shows the data dir %s:\n%s", abs, out)
	}
	out, _, code = runEddy(t, nil, "status", "--json", "--http-addr", p.HTTPURL())
	var st map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st["ready"] != true || strings.Contains(out, abs) {
		t.Errorf("eddy status --json: exit %d, %s", code, out)
	}
	p.Signal(syscall.SIGTERM)
	p.Wait(20 * time.Second)
	if _, errOut, code := runEddy(t, nil, "status", "--server", p.Started("http_addr")); code != 1 || !strings.Contains(errOut, "cannot reach eddy") {
		t.Errorf("status of a stopped server: exit %d, %s", code, errOut)
	}
}

func TestServeListenerAddressInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	// A data directory that does not exist yet: the failed start removes
	// what it created when nothing else was written (the HTTP listener
	// opens before any storage), and never leaves a LOCK file.
	dir := filepath.Join(t.TempDir(), "new")
	for _, flag := range []string{"--http-addr", "--kafka-addr"} {
		p := eddytest.Spawn(t, eddytest.DataDir(dir), eddytest.Args(flag, ln.Addr().String()))
		if code := p.Wait(20 * time.Second); code != 1 {
			t.Errorf("%s in use: exit %d, want 1\n%s", flag, code, p.Output())
		}
		if !strings.Contains(p.Output(), "address already in use") {
			t.Errorf("%s in use: message does not say so:\n%s", flag, p.Output())
		}
		if _, err := os.Stat(filepath.Join(dir, node.LockFileName)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s in use: LOCK left behind (%v)", flag, err)
		}
		if _, err := os.Stat(dir); flag == "--http-addr" && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s in use: the new data directory was left behind (%v)", flag, err)
		}
	}
	// The failed starts released the data directory.
	p := eddytest.Start(t, eddytest.DataDir(dir))
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(20 * time.Second); code != 0 {
		t.Errorf("start after failed starts: exit %d\n%s", code, p.Output())
	}
}
