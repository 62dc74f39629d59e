package share

import (
	"os"
	"syscall"
)

// fdatasync flushes f's data (and the size, if it changed) to stable
// storage.
func fdatasync(f *os.File) error {
	for {
		err := syscall.Fdatasync(int(f.Fd()))
		if err != syscall.EINTR {
			return err
		}
	}
}
