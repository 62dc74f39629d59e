//go:build powerloss_skipsharesync

package share

// skipLogSync makes the share-state log skip the fdatasync after each
// frame: a deliberate bug for test/powerloss, which must report
// acknowledged share-group records delivered again after a power cut.
// Never build a release with it.
const skipLogSync = true
