package powerloss

import (
	"context"
	"path/filepath"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// node is a loopback node whose data and entry changes are recorded as
// pending until synced. Every operation that changes a file's bytes or size
// is implemented here at the node level (the bridge prefers node methods),
// so none can reach the backing file unrecorded.
type node struct {
	fs.LoopbackNode
	pl  *FS
	ino uint64 // the backing file's inode
}

var (
	_ fs.NodeCreater        = (*node)(nil)
	_ fs.NodeOpener         = (*node)(nil)
	_ fs.NodeMkdirer        = (*node)(nil)
	_ fs.NodeUnlinker       = (*node)(nil)
	_ fs.NodeRmdirer        = (*node)(nil)
	_ fs.NodeRenamer        = (*node)(nil)
	_ fs.NodeWriter         = (*node)(nil)
	_ fs.NodeWritever       = (*node)(nil)
	_ fs.NodeSetattrer      = (*node)(nil)
	_ fs.NodeAllocater      = (*node)(nil)
	_ fs.NodeFsyncer        = (*node)(nil)
	_ fs.NodeCopyFileRanger = (*node)(nil)
	_ fs.NodeOpendirHandler = (*node)(nil)
)

// backingPath returns the node's path in the backing directory.
func (n *node) backingPath() string {
	return filepath.Join(n.RootData.Path, n.Path(n.Root()))
}

func (n *node) isDir() bool { return n.StableAttr().Mode&syscall.S_IFMT == syscall.S_IFDIR }

// Create creates (or opens) a file; a new file is a new identity, durably
// empty and not durably linked.
func (n *node) Create(ctx context.Context, name string, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	n.pl.entryMu.RLock()
	defer n.pl.entryMu.RUnlock()
	var st syscall.Stat_t
	existed := syscall.Lstat(filepath.Join(n.backingPath(), name), &st) == nil
	ch, fh, fl, errno := n.LoopbackNode.Create(ctx, name, flags, mode, out)
	if errno != 0 {
		return nil, nil, 0, errno
	}
	cn := ch.Operations().(*node)
	switch {
	case !existed:
		n.pl.newFile(cn.ino)
	case flags&syscall.O_TRUNC != 0:
		n.pl.noteChange(cn.ino, 0, maxEnd)
	}
	return ch, wrapHandle(fh), fl, 0
}

// Open opens a file through a handle that reveals its descriptor to Fsync.
func (n *node) Open(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	fh, fl, errno := n.LoopbackNode.Open(ctx, flags)
	if errno != 0 {
		return nil, 0, errno
	}
	if flags&syscall.O_TRUNC != 0 {
		n.pl.noteChange(n.ino, 0, maxEnd)
	}
	return wrapHandle(fh), fl, 0
}

// Mkdir creates a directory: a new identity whose entry is pending.
func (n *node) Mkdir(ctx context.Context, name string, mode uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	n.pl.entryMu.RLock()
	defer n.pl.entryMu.RUnlock()
	ch, errno := n.LoopbackNode.Mkdir(ctx, name, mode, out)
	if errno != 0 {
		return nil, errno
	}
	n.pl.newDir(ch.Operations().(*node).ino)
	return ch, 0
}

// Unlink removes an entry; the durable listing keeps it until the
// directory is synced, and the store keeps the file's durable bytes.
func (n *node) Unlink(ctx context.Context, name string) syscall.Errno {
	n.pl.entryMu.RLock()
	defer n.pl.entryMu.RUnlock()
	return n.LoopbackNode.Unlink(ctx, name)
}

// Rmdir removes a directory entry, pending like Unlink.
func (n *node) Rmdir(ctx context.Context, name string) syscall.Errno {
	n.pl.entryMu.RLock()
	defer n.pl.entryMu.RUnlock()
	return n.LoopbackNode.Rmdir(ctx, name)
}

// Rename moves an entry; each side is pending until its directory is
// synced.
func (n *node) Rename(ctx context.Context, name string, newParent fs.InodeEmbedder, newName string, flags uint32) syscall.Errno {
	n.pl.entryMu.RLock()
	defer n.pl.entryMu.RUnlock()
	return n.LoopbackNode.Rename(ctx, name, newParent, newName, flags)
}

// Symlink is not supported: the store models regular files and
// directories only.
func (n *node) Symlink(ctx context.Context, target, name string, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Mknod is not supported (see Symlink).
func (n *node) Mknod(ctx context.Context, name string, mode, rdev uint32, out *fuse.EntryOut) (*fs.Inode, syscall.Errno) {
	return nil, syscall.ENOTSUP
}

// Tmpfile is not supported: O_TMPFILE files would need linkat tracking.
func (n *node) Tmpfile(ctx context.Context, flags, mode uint32, out *fuse.EntryOut) (*fs.Inode, fs.FileHandle, uint32, syscall.Errno) {
	return nil, nil, 0, syscall.ENOTSUP
}

// CopyFileRange is refused so that callers fall back to reads and writes,
// which are recorded.
func (n *node) CopyFileRange(ctx context.Context, fhIn fs.FileHandle, offIn uint64, out *fs.Inode, fhOut fs.FileHandle, offOut, length, flags uint64) (uint32, syscall.Errno) {
	return 0, syscall.ENOTSUP
}

// Write writes through to the backing file and records the range.
func (n *node) Write(ctx context.Context, f fs.FileHandle, data []byte, off int64) (uint32, syscall.Errno) {
	h, ok := f.(*handle)
	if !ok {
		return 0, syscall.EBADF
	}
	w, errno := h.LoopbackFile.Write(ctx, data, off)
	n.pl.noteWrite(n.ino, off, [][]byte{data}, int64(w))
	return w, errno
}

// Writev is Write for a scattered buffer.
func (n *node) Writev(ctx context.Context, f fs.FileHandle, data [][]byte, off int64) (uint32, syscall.Errno) {
	h, ok := f.(*handle)
	if !ok {
		return 0, syscall.EBADF
	}
	w, errno := h.LoopbackFile.Writev(ctx, data, off)
	n.pl.noteWrite(n.ino, off, data, int64(w))
	return w, errno
}

// Setattr records a size change as pending from the new size on.
func (n *node) Setattr(ctx context.Context, f fs.FileHandle, in *fuse.SetAttrIn, out *fuse.AttrOut) syscall.Errno {
	if sz, ok := in.GetSize(); ok {
		n.pl.noteChange(n.ino, int64(sz), maxEnd)
	}
	return n.LoopbackNode.Setattr(ctx, f, in, out)
}

// Allocate records the allocated range as pending (it may extend the file
// or punch a hole).
func (n *node) Allocate(ctx context.Context, f fs.FileHandle, off, size uint64, mode uint32) syscall.Errno {
	h, ok := f.(*handle)
	if !ok {
		return syscall.EBADF
	}
	errno := h.LoopbackFile.Allocate(ctx, off, size, mode)
	if errno == 0 {
		n.pl.noteChange(n.ino, int64(off), int64(off+size))
	}
	return errno
}

// Fsync makes a file's data and size, or a directory's entries, durable.
func (n *node) Fsync(ctx context.Context, f fs.FileHandle, flags uint32) syscall.Errno {
	if n.isDir() {
		return n.pl.syncDir(n.ino, n.backingPath())
	}
	if h, ok := f.(*handle); ok {
		return n.pl.syncFile(n.ino, h.fd)
	}
	fd, err := syscall.Open(n.backingPath(), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer syscall.Close(fd)
	return n.pl.syncFile(n.ino, fd)
}

// OpendirHandle opens a directory stream without its own fsyncdir, so
// that directory fsyncs reach Fsync.
func (n *node) OpendirHandle(ctx context.Context, flags uint32) (fs.FileHandle, uint32, syscall.Errno) {
	ds, errno := fs.NewLoopbackDirStream(n.backingPath())
	if errno != 0 {
		return nil, 0, errno
	}
	return &dirHandle{ds: ds}, 0, 0
}

// handle is an open file. It keeps the descriptor for Fsync and refuses
// kernel passthrough, which would let I/O bypass the file system.
type handle struct {
	*fs.LoopbackFile
	fd int
}

func wrapHandle(fh fs.FileHandle) fs.FileHandle {
	lf := fh.(*fs.LoopbackFile)
	fd, _ := lf.PassthroughFd()
	return &handle{LoopbackFile: lf, fd: fd}
}

// PassthroughFd refuses passthrough.
func (h *handle) PassthroughFd() (int, bool) { return -1, false }

// Ioctl is refused: no ioctl is needed and some change data.
func (h *handle) Ioctl(ctx context.Context, cmd uint32, arg uint64, input, output []byte) (int32, syscall.Errno) {
	return 0, syscall.ENOTTY
}

// dirHandle is a directory stream with reading only.
type dirHandle struct{ ds fs.DirStream }

var (
	_ fs.FileReaddirenter = (*dirHandle)(nil)
	_ fs.FileSeekdirer    = (*dirHandle)(nil)
	_ fs.FileReleasedirer = (*dirHandle)(nil)
)

// Readdirent returns the next entry.
func (d *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	return d.ds.(fs.FileReaddirenter).Readdirent(ctx)
}

// Seekdir seeks the stream.
func (d *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	return d.ds.(fs.FileSeekdirer).Seekdir(ctx, off)
}

// Releasedir closes the stream.
func (d *dirHandle) Releasedir(ctx context.Context, flags uint32) {
	d.ds.(fs.FileReleasedirer).Releasedir(ctx, flags)
}
