package eddytest

import (
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(BuildBinary(m)) }

// TestStartRestartStop checks the contract the harness users rely on:
// addresses from the start line, readiness, a restart on the same data
// directory and addresses, and a graceful stop.
func TestStartRestartStop(t *testing.T) {
	dir := t.TempDir()
	p := Start(t, DataDir(dir), Args("--default-partitions", "2"))
	kafka, httpAddr := p.KafkaAddr(), p.HTTPAddr()
	if kafka == "" || kafka != p.Started("kafka_addr") || strings.HasSuffix(kafka, ":0") {
		t.Fatalf("KafkaAddr %q, start line %q", kafka, p.Started("kafka_addr"))
	}
	if httpAddr == "" || p.HTTPURL() != "http://"+p.Started("http_addr") {
		t.Fatalf("HTTPURL %q, start line %q", p.HTTPURL(), p.Started("http_addr"))
	}
	if p.DataDir() != dir {
		t.Errorf("DataDir %q, want %q", p.DataDir(), dir)
	}
	if got := readyz(t, p); got != http.StatusOK {
		t.Fatalf("/readyz = %d after Start", got)
	}
	if len(p.Logs()) == 0 || p.FindLog("eddy started") == nil {
		t.Fatalf("no parsed start line; output:\n%s", p.Output())
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) == 0 {
		t.Fatalf("data dir %s empty after Start (%v)", dir, err)
	}

	pid := p.PID()
	p.Restart()
	if p.PID() == pid {
		t.Errorf("Restart kept pid %d", pid)
	}
	if p.KafkaAddr() != kafka || p.HTTPAddr() != httpAddr {
		t.Errorf("Restart moved listeners: kafka %s→%s, http %s→%s", kafka, p.KafkaAddr(), httpAddr, p.HTTPAddr())
	}
	if got := readyz(t, p); got != http.StatusOK {
		t.Fatalf("/readyz = %d after Restart", got)
	}
	if strings.Count(p.Output(), `"msg":"eddy started"`) != 2 {
		t.Errorf("output does not hold both runs' start lines:\n%s", p.Output())
	}

	p.Stop()
	if p.FindLog("eddy stopped cleanly") == nil {
		t.Errorf("no clean-stop line after Stop:\n%s", p.Output())
	}
	if code := p.Wait(time.Second); code != 0 {
		t.Errorf("exit code %d after Stop", code)
	}
}

// TestSpawnFailureAndKill checks a start that fails (exit code and output
// are visible) and that Kill ends a running server with SIGKILL.
func TestSpawnFailureAndKill(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	bad := Spawn(t, Args("--kafka-addr", ln.Addr().String()))
	if code := bad.Wait(20 * time.Second); code != 1 {
		t.Errorf("listener in use: exit %d, want 1\n%s", code, bad.Output())
	}
	if !strings.Contains(bad.Output(), "address already in use") {
		t.Errorf("output does not name the cause:\n%s", bad.Output())
	}
	if _, err := bad.WaitLog("eddy started", time.Second); err == nil {
		t.Error("WaitLog found a start line in a failed start")
	}

	p := Start(t)
	p.Kill()
	if code := p.Wait(time.Second); code != -1 {
		t.Errorf("exit code %d after Kill, want -1 (signalled)", code)
	}
	if p.FindLog("eddy stopped cleanly") != nil {
		t.Error("clean-stop line after SIGKILL")
	}
	p.Kill() // idempotent once the process is gone
	if _, err := net.DialTimeout("tcp", p.KafkaAddr(), time.Second); err == nil {
		t.Error("Kafka listener still accepts after Kill")
	}
}

func readyz(t *testing.T, p *Process) int {
	t.Helper()
	resp, err := http.Get(p.HTTPURL() + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
