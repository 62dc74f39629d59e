//go:build powerloss_skipfsync

package commitlog

// skipRollDirSync makes a segment roll skip the fsync of the partition
// directory that makes the new segment's entry durable: a deliberate bug
// for test/powerloss, which must report the records acknowledged in the
// new segment as lost after a power cut. Never build a release with it.
const skipRollDirSync = true
