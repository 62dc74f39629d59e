package main

import (
	"os"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestMain builds the eddy binary once for this package's tests that need a
// real process (signals, exit codes, a second process on the same data
// directory), runs the tests, and removes it. This is the package's only
// TestMain; add other package-wide setup here.
func TestMain(m *testing.M) {
	os.Exit(eddytest.BuildBinary(m))
}
