//go:build !unix

package kafka

// diskSpace reports the filesystem's size as unknown (-1) where statfs is
// not available.
func diskSpace(string) (total, usable int64) { return -1, -1 }
