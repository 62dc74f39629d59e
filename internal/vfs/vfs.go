// Package vfs is the small filesystem interface that Eddy's storage engine
// runs on. Production code uses [OS]; tests use an in-memory implementation
// that can simulate power loss (keeping only what was fsynced) and inject
// faults (EIO, ENOSPC) on chosen operations.
//
// Every method is safe for concurrent use on distinct files. A single File is
// not safe for concurrent writes; concurrent ReadAt calls are allowed.
//
// Usage:
//
//	fs := vfs.OS()
//	f, err := fs.OpenFile(filepath.Join(dir, "00000000000000000000.log"), os.O_RDWR|os.O_CREATE, 0o644)
//	...
//	_, err = f.Write(batch)
//	err = f.Sync()
//	err = fs.SyncDir(dir) // make the new directory entry durable
//
// In tests, NewMem returns a MemFS: CrashClone gives the filesystem a power
// cut would leave (only fsynced data and directory entries), FailNext and
// SetFault inject errors (EIO, ENOSPC, short writes, fsyncgate semantics),
// and SyncDelay makes fsync slow:
//
//	mem := vfs.NewMem()
//	mem.FailNext(vfs.OpSync, syscall.EIO)
//	... run the engine on mem ...
//	after := mem.CrashClone() // reopen the engine on this
package vfs

import (
	"io"
	"os"
)

// File is an open file. It mirrors the subset of *os.File the engine needs.
type File interface {
	io.Reader
	io.ReaderAt
	io.Writer
	io.WriterAt
	io.Seeker
	io.Closer
	// Sync flushes the file's data to stable storage (fsync). After a failed
	// Sync the caller must treat every byte written since the last successful
	// Sync as lost: the kernel may have dropped the dirty pages (the Linux
	// "fsyncgate" lesson).
	Sync() error
	// Truncate changes the file's size. It is not durable until Sync.
	Truncate(size int64) error
	// Stat returns the file's metadata; Size() is the current logical size.
	Stat() (os.FileInfo, error)
	// Name returns the path the file was opened with.
	Name() string
}

// FS is a filesystem. Paths are ordinary OS paths joined with filepath.Join.
type FS interface {
	// OpenFile opens a file with os.OpenFile flag semantics.
	OpenFile(name string, flag int, perm os.FileMode) (File, error)
	// Open opens a file read-only.
	Open(name string) (File, error)
	// Remove deletes a file or an empty directory. The removal is durable only
	// after SyncDir of the parent.
	Remove(name string) error
	// RemoveAll deletes a path and everything below it.
	RemoveAll(name string) error
	// Rename atomically replaces newname with oldname. It is durable only after
	// SyncDir of the parent directory.
	Rename(oldname, newname string) error
	// MkdirAll creates a directory and its parents.
	MkdirAll(dir string, perm os.FileMode) error
	// ReadDir returns the names of the entries in dir, sorted.
	ReadDir(dir string) ([]string, error)
	// Stat describes a path.
	Stat(name string) (os.FileInfo, error)
	// SyncDir fsyncs a directory so that entries created, renamed or removed
	// in it survive power loss.
	SyncDir(dir string) error
}

// Allocator is implemented by files that can reserve disk blocks ahead of
// writes without changing their size (fallocate(2) with
// FALLOC_FL_KEEP_SIZE). Appends into reserved blocks skip the filesystem's
// per-write block reservation, which on ext4 makes page-cache appends much
// cheaper. Truncating the file to its size releases reserved blocks past
// the end.
type Allocator interface {
	// Allocate reserves blocks for [off, off+n). It does not change the
	// file's size or content.
	Allocate(off, n int64) error
}

// ZeroFiller is implemented by files that can write zeros past their end
// and make them durable without the caller's writes sharing the cost.
// Overwriting blocks that already hold durable zeros changes no metadata
// (no size change, no extent conversion), so a later fdatasync of data
// written there needs no journal commit: the "zero-filled ahead" trick of
// PostgreSQL's WAL (wal_init_zero).
type ZeroFiller interface {
	// FillZeros writes zeros over [off, off+n), which must lie past the
	// data the caller writes meanwhile, and makes them and the new size
	// durable. off and n must be multiples of ZeroFillAlign. Like any
	// fsync of the file, it also makes the file's other dirty data
	// durable; a failure is reported again by the file's next Sync.
	FillZeros(off, n int64) error
}

// ZeroFillAlign is the alignment of ZeroFiller ranges: a page, so that no
// page holds both zeros being filled and data being appended.
const ZeroFillAlign = 4096

// WritebackStarter is implemented by files that can start writing a range
// of their page cache to disk without waiting for it (sync_file_range(2)
// with SYNC_FILE_RANGE_WRITE). It is a hint: it makes nothing durable,
// and a writeback error it provokes is still reported by the file's next
// Sync.
type WritebackStarter interface {
	// StartWriteback starts the writeback of the dirty pages of
	// [off, off+n).
	StartWriteback(off, n int64) error
}

// WritebackWaiter is implemented by files that can write a range of their
// dirty pages to disk and wait for it (sync_file_range(2) with
// SYNC_FILE_RANGE_WAIT_BEFORE|WRITE|WAIT_AFTER). It makes nothing durable
// against power loss (no metadata, no disk cache flush), but once it
// returns nil the range's pages are clean copies of what the disk holds.
// It reports a writeback error of the file that happened since this
// descriptor was opened and consumes it for this descriptor only: call it
// on a descriptor of its own, opened before the writes it checks, so that
// the writer's next Sync still reports the error.
type WritebackWaiter interface {
	// WaitWriteback writes the dirty pages of [off, off+n) and waits for
	// their writeback.
	WaitWriteback(off, n int64) error
}

// CacheDropper is implemented by files that can drop a range of their
// pages from the operating system's page cache (posix_fadvise(2) with
// POSIX_FADV_DONTNEED). Only clean pages are dropped: dirty pages and pages
// under writeback stay. A later read of a dropped range reads the disk.
// Call it only for bytes known durable: a page whose writeback failed is
// clean but not on disk, and dropping it loses its content.
type CacheDropper interface {
	// DropCache drops the clean cached pages of [off, off+n).
	DropCache(off, n int64) error
}
