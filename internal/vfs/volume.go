package vfs

import "errors"

// VolumeFS is implemented by filesystems that can make every file they hold
// durable in one call. The commit log's group committer uses it to share one
// flush among all the logs of a data directory that wait at the same time:
// on ext4 one syncfs(2) costs one journal commit and one device cache flush,
// where an fsync per file costs one of each per file.
type VolumeFS interface {
	FS
	// OpenVolume returns a handle on the filesystem (volume) that holds dir.
	OpenVolume(dir string) (Volume, error)
}

// Volume is an open handle on one mounted filesystem.
type Volume interface {
	// Sync makes durable every file's data and metadata written to the
	// volume before the call (syncfs(2)). An error means that writeback of
	// some file failed since the handle's previous Sync (or since it was
	// opened); the caller cannot tell which file, so it must treat every
	// file's bytes written since its last successful sync as lost.
	Sync() error
	// DirtyBytes estimates how many bytes a Sync would have to write: data
	// waiting for writeback (on Linux the system-wide Dirty + Writeback
	// counts of /proc/meminfo, an upper bound for the volume). ok is false
	// when it is unknown.
	DirtyBytes() (n int64, ok bool)
	// Close releases the handle.
	Close() error
}

// ErrNoVolume is returned by OpenVolume where volume syncs are not
// supported (non-Linux systems).
var ErrNoVolume = errors.New("volume sync not supported on this system")
