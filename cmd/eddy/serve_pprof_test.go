package main

import (
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestServePprof: --pprof-addr serves /debug/pprof/ on its own listener
// while the server runs and stops with it; without it nothing listens; a
// non-loopback address is refused unless --pprof-allow-remote says so.
func TestServePprof(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--pprof-addr", "127.0.0.1:0"))
	l := p.FindLog("pprof listening")
	addr, _ := l["addr"].(string)
	if addr == "" {
		t.Fatalf("no pprof listening line with an addr:\n%s", p.Output())
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/debug/pprof/cmdline: %s", resp.Status)
	}
	// The HTTP API's mux does not serve the profiles.
	resp, err = http.Get(p.HTTPURL() + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Fatalf("HTTP API /debug/pprof/cmdline: %s, want 404", resp.Status)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, p.Output())
	}
	if _, err := (&http.Client{Timeout: time.Second}).Get("http://" + addr + "/debug/pprof/"); err == nil {
		t.Fatal("pprof still answers after the server stopped")
	}

	off := eddytest.Start(t)
	if l := off.FindLog("pprof listening"); l != nil {
		t.Fatalf("pprof listens by default: %v", l)
	}

	bad := eddytest.Spawn(t, eddytest.Args("--pprof-addr", "0.0.0.0:0"))
	if code := bad.Wait(20 * time.Second); code != 2 || !strings.Contains(bad.Output(), "pprof-allow-remote") {
		t.Fatalf("pprof on 0.0.0.0: exit %d, want 2 naming pprof-allow-remote\n%s", code, bad.Output())
	}
}
