package main

import (
	"log/slog"
	"runtime/debug"
	"testing"

	"github.com/eddy-streaming/eddy/internal/config"
)

// TestApplyMemoryLimit: memory-limit becomes the runtime's soft limit and
// the returned func restores the previous one; GOMEMLIMIT in the
// environment, or memory-limit 0, leaves the limit alone.
func TestApplyMemoryLimit(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	before := debug.SetMemoryLimit(-1)
	noEnv := func(string) (string, bool) { return "", false }
	cfg := config.Default()
	if cfg.MemoryLimit != 512<<20 {
		t.Fatalf("default memory-limit %d, want 512 MiB", cfg.MemoryLimit)
	}
	cfg.MemoryLimit = 300 << 20
	restore := applyMemoryLimit(cfg, noEnv, log)
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Fatalf("limit %d after applyMemoryLimit, want %d", got, 300<<20)
	}
	restore()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("limit %d after restore, want %d", got, before)
	}
	withEnv := func(k string) (string, bool) { return "200MiB", k == "GOMEMLIMIT" }
	applyMemoryLimit(cfg, withEnv, log)()
	cfg.MemoryLimit = 0
	applyMemoryLimit(cfg, noEnv, log)()
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Fatalf("limit %d with GOMEMLIMIT set or memory-limit 0, want %d untouched", got, before)
	}
}

// TestMemoryLimitSetting: the key parses byte sizes, prints back, and
// refuses tiny limits.
func TestMemoryLimitSetting(t *testing.T) {
	for raw, want := range map[string]int64{"1GiB": 1 << 30, "0": 0, "64MiB": 64 << 20} {
		l, err := config.Load(nil, func(k string) (string, bool) {
			return raw, k == config.EnvVar("memory-limit")
		})
		if err != nil {
			t.Fatalf("memory-limit=%s: %v", raw, err)
		}
		if l.Config.MemoryLimit != want {
			t.Fatalf("memory-limit=%s: %d, want %d", raw, l.Config.MemoryLimit, want)
		}
	}
	if _, err := config.Load(nil, func(k string) (string, bool) { return "1MiB", k == config.EnvVar("memory-limit") }); err == nil {
		t.Fatal("memory-limit=1MiB accepted")
	}
}
