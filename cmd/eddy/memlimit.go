package main

import (
	"log/slog"
	"math"
	"runtime/debug"

	"github.com/eddy-streaming/eddy/internal/config"
)

// applyMemoryLimit sets the Go runtime's soft memory limit to the
// memory-limit setting, unless the GOMEMLIMIT environment variable is set
// (the runtime has applied it already and it wins, as it does for every Go
// program) or the setting is 0. Near the limit the garbage collector runs
// more often instead of letting the heap grow to twice its live size (the
// GOGC=100 default). It is a soft limit: a live heap above it is not an
// error, the collector only works harder (at most about half the CPU). It
// returns a func restoring the previous limit, for in-process servers.
func applyMemoryLimit(cfg config.Config, lookupEnv func(string) (string, bool), log *slog.Logger) (restore func()) {
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" {
		log.Info("memory limit from GOMEMLIMIT; memory-limit ignored", "GOMEMLIMIT", v)
		return func() {}
	}
	if cfg.MemoryLimit <= 0 {
		return func() {}
	}
	prev := debug.SetMemoryLimit(cfg.MemoryLimit)
	return func() {
		if prev <= 0 {
			prev = math.MaxInt64
		}
		debug.SetMemoryLimit(prev)
	}
}
