//go:build !powerloss_skipsharesync

package share

// skipLogSync is true only in builds for test/powerloss's proof that it
// catches a share-state log write that was never made durable.
const skipLogSync = false
