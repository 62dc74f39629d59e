//go:build !unix

package main

import "log/slog"

// raiseFileLimit is a no-op where there is no RLIMIT_NOFILE.
func raiseFileLimit(*slog.Logger) uint64 { return 0 }

// connectionLimit returns maxConns unchanged where there is no
// RLIMIT_NOFILE.
func connectionLimit(maxConns int, _ uint64, _ *slog.Logger) int { return maxConns }
