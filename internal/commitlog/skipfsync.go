//go:build !powerloss_skipfsync

package commitlog

// skipRollDirSync is true only in binaries built with -tags
// powerloss_skipfsync (skipfsync_powerloss.go): the power-loss harness
// (test/powerloss) builds such an eddy to prove that it catches a missing
// fsync. As a constant it costs the hot path nothing.
const skipRollDirSync = false
