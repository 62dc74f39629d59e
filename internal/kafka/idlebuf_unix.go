//go:build linux || darwin || freebsd || netbsd || openbsd

package kafka

import "syscall"

// socketEmpty reports whether the socket fd has nothing to read right now
// (a non-blocking peek would block).
func socketEmpty(fd uintptr) bool {
	var b [1]byte
	_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	return err == syscall.EAGAIN || err == syscall.EWOULDBLOCK
}
