package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// eddyBin is the path of an `eddy` binary built once for this package's
// tests from the code under test, for tests that need a real process
// (signals, exit codes, a second process on the same data directory).
var eddyBin string

// TestMain builds the eddy binary into a temporary directory, runs the
// tests, and removes it. This is the package's only TestMain; add other
// package-wide setup here.
func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "eddy-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "eddy tests: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	eddyBin = filepath.Join(dir, "eddy")
	build := exec.Command("go", "build", "-o", eddyBin, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "eddy tests: go build:", err)
		return 1
	}
	return m.Run()
}
