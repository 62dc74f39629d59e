// Package probes holds Eddy's hardening regression tests: each sends, as
// an attacker or a buggy client would, the same bytes that once crashed,
// starved, exhausted or corrupted the server (raw Kafka frames built with
// kmsg, raw HTTP) to a real `eddy serve` child process (internal/eddytest),
// checks the answer, and then checks that a canary producer and consumer
// still succeed. Peak resident memory of the child is read from
// /proc/<pid>/status (VmHWM) where a probe has a memory target; the
// results feed the limits table in docs/operations.md.
//
// The package has no non-test code. Probes that need Linux facilities
// (prlimit, tmpfs) are in _linux_test.go files and skip when they cannot
// set them up.
package probes
