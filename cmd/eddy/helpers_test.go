package main

import (
	"regexp"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// regexpLine reports whether any line of s matches the pattern.
func regexpLine(s, pattern string) bool {
	re := regexp.MustCompile(pattern)
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			return true
		}
	}
	return false
}

// startServer starts a real `eddy serve` child process (the binary TestMain
// built) on a fresh data directory and loopback port-0 listeners, and
// returns its Kafka address. The process is killed by PID at cleanup.
func startServer(t *testing.T) string {
	t.Helper()
	return eddytest.Start(t).KafkaAddr()
}
