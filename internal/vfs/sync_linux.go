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
	return f.syscall("fdatasync", func(fd int) error { return unix.Fdatasync(fd) })
}

// StartWriteback is sync_file_range(SYNC_FILE_RANGE_WRITE): it starts
// writing a range of the page cache to disk without waiting. Without a WAIT
// flag it leaves the descriptor's writeback-error state alone, so the next
// Sync still reports any error of this writeback.
func (f osFile) StartWriteback(off, n int64) error {
	return f.syscall("sync_file_range", func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	})
}

// WaitWriteback is sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER).
func (f osFile) WaitWriteback(off, n int64) error {
	return f.syscall("sync_file_range", func(fd int) error {
		return unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	})
}

// DropCache is posix_fadvise(POSIX_FADV_DONTNEED).
func (f osFile) DropCache(off, n int64) error {
	return f.syscall("fadvise", func(fd int) error {
		return unix.Fadvise(fd, off, n, unix.FADV_DONTNEED)
	})
}

// Allocate reserves blocks with fallocate(FALLOC_FL_KEEP_SIZE).
func (f osFile) Allocate(off, n int64) error {
	return f.syscall("fallocate", func(fd int) error {
		return unix.Fallocate(fd, unix.FALLOC_FL_KEEP_SIZE, off, n)
	})
}

// syscall runs fn on the file's descriptor, retrying on EINTR, and names
// op and the file in its error.
func (f osFile) syscall(op string, fn func(fd int) error) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: err}
	}
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = ignoringEINTR(func() error { return fn(int(fd)) }) }); err != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: err}
	}
	if serr != nil {
		return &os.PathError{Op: op, Path: f.Name(), Err: serr}
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
