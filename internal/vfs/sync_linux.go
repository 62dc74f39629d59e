package vfs

import (
	"os"

	"golang.org/x/sys/unix"
)

// Sync is fdatasync(2): the data and the metadata needed to read it back
// (the size), not timestamps. An fsync would also commit the inode's mtime,
// which every write changes, so it would cost a journal commit even for
// writes into blocks that already hold durable zeros.
func (f osFile) Sync() error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = ignoringEINTR(func() error { return unix.Fdatasync(int(fd)) })
	}); err != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: err}
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}

func ignoringEINTR(fn func() error) error {
	for {
		if err := fn(); err != unix.EINTR {
			return err
		}
	}
}

// StartWriteback is sync_file_range(SYNC_FILE_RANGE_WRITE). Without a WAIT
// flag it leaves the descriptor's writeback-error state alone, so the next
// Sync still reports any error of this writeback.
func (f osFile) StartWriteback(off, n int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = ignoringEINTR(func() error { return unix.SyncFileRange(int(fd), off, n, unix.SYNC_FILE_RANGE_WRITE) })
	}); err != nil {
		return err
	}
	if serr != nil {
		return &os.PathError{Op: "sync_file_range", Path: f.Name(), Err: serr}
	}
	return nil
}
