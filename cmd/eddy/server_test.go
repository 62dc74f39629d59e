package main

import "testing"

// startServer starts a real `eddy serve` child process (the binary TestMain
// built) on a fresh data directory and loopback port-0 listeners, and
// returns its Kafka address. The process is killed by PID at cleanup.
func startServer(t *testing.T) string {
	t.Helper()
	return startEddy(t, t.TempDir()).started("kafka_addr")
}
