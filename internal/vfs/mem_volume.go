package vfs

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
)

// OpenVolume returns a handle whose Sync persists every file of the MemFS,
// like syncfs(2) on the filesystem holding dir.
func (fs *MemFS) OpenVolume(dir string) (Volume, error) {
	if err := fs.check(OpOpen, dir); err != nil {
		return nil, err
	}
	fs.mu.Lock()
	seen := fs.wbErrors
	fs.mu.Unlock()
	return &memVolume{fs: fs, dir: filepath.Clean(dir), seen: seen}, nil
}

type memVolume struct {
	fs     *MemFS
	dir    string
	closed atomic.Bool
	mu     sync.Mutex
	seen   uint64 // MemFS.wbErrors already reported through this handle
}

// Sync persists every file's data and every directory's entries.
//
// A failure (injected with OpSyncVolume) persists nothing, marks every
// file's unsynced bytes lost, as a failed fsync does for one file, and is
// reported again by each dirty file's next File.Sync: the model of a
// writeback error the caller cannot attribute to one file. Like Linux's
// syncfs, Sync also fails once for every File.Sync that failed since the
// handle's previous Sync.
func (v *memVolume) Sync() error {
	if v.closed.Load() {
		return &os.PathError{Op: "syncfs", Path: v.dir, Err: os.ErrClosed}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	err := v.fs.check(OpSyncVolume, v.dir)
	if err != nil {
		v.fs.noteWritebackError()
	}
	for _, n := range v.fs.nodes() {
		if err != nil && n.dirtyBytes() > 0 {
			n.mu.Lock()
			n.wbErr = errors.Unwrap(err)
			n.mu.Unlock()
		}
		n.sync(err)
	}
	v.fs.mu.Lock()
	earlier := v.fs.wbErrors != v.seen
	v.seen = v.fs.wbErrors
	v.fs.mu.Unlock()
	if err != nil {
		return err
	}
	if earlier {
		return &os.PathError{Op: "syncfs", Path: v.dir, Err: syscall.EIO}
	}
	v.fs.mu.Lock()
	defer v.fs.mu.Unlock()
	for _, d := range v.fs.dirs {
		d.durable = make(map[string]*memNode, len(d.cur))
		for k, n := range d.cur {
			d.durable[k] = n
		}
	}
	return nil
}

// DirtyBytes sums the bytes every file would have to write.
func (v *memVolume) DirtyBytes() (int64, bool) {
	var n int64
	for _, node := range v.fs.nodes() {
		n += node.dirtyBytes()
	}
	return n, true
}

func (v *memVolume) Close() error {
	if v.closed.Swap(true) {
		return &os.PathError{Op: "close", Path: v.dir, Err: os.ErrClosed}
	}
	return nil
}

// nodes returns every file currently linked into the MemFS.
func (fs *MemFS) nodes() []*memNode {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	seen := map[*memNode]bool{}
	var out []*memNode
	for _, d := range fs.dirs {
		for _, n := range d.cur {
			if n != nil && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}
