package main

import (
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/vfs"

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

// openNode opens the node `eddy serve` would run for cfg, its logs on fs
// (nil: the OS).
func openNode(cfg config.Config, log *slog.Logger, fs vfs.FS) (*node.Node, error) {
	nc := nodeConfig(cfg, log)
	nc.FS = fs
	return node.Open(nc)
}

// checkUnlocked fails the test if dir's LOCK is still held, or still there:
// a node that closed removes it.
func checkUnlocked(t *testing.T, dir string) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, node.LockFileName), os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) {
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatalf("data dir still locked: %v", err)
	}
	_ = unix.Flock(int(f.Fd()), unix.LOCK_UN)
	t.Fatalf("LOCK left in %s after a clean close", dir)
}
