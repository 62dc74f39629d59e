//go:build !(linux || darwin || freebsd || netbsd || openbsd)

package kafka

// socketEmpty is false where the socket cannot be peeked at: readers keep
// their buffers.
func socketEmpty(uintptr) bool { return false }
