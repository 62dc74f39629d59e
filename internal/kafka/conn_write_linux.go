package kafka

import (
	"errors"
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxIovecs keeps one writev within the kernel's IOV_MAX (1024); a reply
// with more pieces is left to the writer goroutine.
const maxIovecs = 512

// writeNonBlocking makes one writev attempt on nc's socket without
// waiting for room: it returns the bytes written (0 when the socket buffer
// is full). Connections that are not plain sockets write nothing.
func writeNonBlocking(nc net.Conn, bufs net.Buffers) (int, error) {
	sc, ok := nc.(syscall.Conn)
	if !ok || len(bufs) > maxIovecs {
		return 0, nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return 0, nil
	}
	var n int
	var werr error
	if err := rc.Write(func(fd uintptr) bool {
		for {
			n, werr = unix.Writev(int(fd), bufs)
			if werr != unix.EINTR {
				return true // one attempt: never wait for writability
			}
		}
	}); err != nil {
		return 0, err
	}
	if errors.Is(werr, unix.EAGAIN) {
		return 0, nil
	}
	if werr != nil {
		return 0, werr
	}
	return max(n, 0), nil
}
