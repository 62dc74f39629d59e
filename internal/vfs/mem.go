package vfs

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Op names a filesystem operation for fault injection.
type Op uint8

// Operations a FaultFunc can fail.
const (
	OpOpen           Op = iota + 1 // OpenFile and Open
	OpRead                         // Read and ReadAt
	OpWrite                        // Write and WriteAt
	OpSync                         // File.Sync
	OpTruncate                     // File.Truncate
	OpRemove                       // Remove and RemoveAll
	OpRename                       // Rename
	OpMkdir                        // MkdirAll
	OpSyncDir                      // SyncDir
	OpStat                         // Stat, File.Stat and ReadDir
	OpSyncVolume                   // Volume.Sync (syncfs)
	OpAllocate                     // File.Allocate
	OpFillZeros                    // File.FillZeros
	OpWaitWriteback                // File.WaitWriteback
	OpStartWriteback               // File.StartWriteback
)

var opNames = [...]string{"", "open", "read", "write", "sync", "truncate", "remove", "rename", "mkdir", "syncdir", "stat", "syncfs", "allocate", "fill zeros", "wait writeback", "start writeback"}

// String returns the operation name used in injected errors.
func (o Op) String() string {
	if int(o) < len(opNames) && o != 0 {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// FaultFunc is consulted before every operation of a MemFS; a non-nil
// result fails the operation with that error (wrapped in *os.PathError).
// A failed write stores the first half of its bytes first, as a short write
// on a full disk does. A failed File.Sync persists nothing and, like Linux
// after an fsync error, marks the unsynced bytes clean: a later successful
// Sync does not persist them (a crash shows zeros there) unless they are
// written again. The func may also sleep, to simulate a slow disk (see
// SyncDelay). It is called without MemFS locks held.
type FaultFunc func(op Op, path string) error

// SyncDelay returns a FaultFunc that delays every File.Sync and Volume.Sync
// by d and fails nothing: the "slow fsync" disk for backpressure tests.
func SyncDelay(d time.Duration) FaultFunc {
	return func(op Op, _ string) error {
		if op == OpSync || op == OpSyncVolume {
			time.Sleep(d)
		}
		return nil
	}
}

// MemFS is an in-memory FS that can simulate power loss and inject faults.
//
// Durability model: file data becomes durable at File.Sync; a directory
// entry created, renamed or removed becomes durable at SyncDir of its
// directory. CrashClone returns the filesystem as it would be found after a
// power cut: only durable entries, each holding only its synced bytes (a file
// created and synced but whose directory was not synced vanishes; one whose
// entry was synced but whose data was not is empty). Directories themselves
// are durable as soon as MkdirAll returns, and RemoveAll is durable at once
// (a simplification: the engine syncs the parent after both anyway).
//
// MemFS is safe for concurrent use.
type MemFS struct {
	mu       sync.Mutex
	dirs     map[string]*memDir
	fault    FaultFunc
	failNext map[Op][]error
	wbErrors uint64 // failed syncs so far: the superblock's errseq, for volumes
}

type memDir struct {
	cur     map[string]*memNode
	durable map[string]*memNode
}

type memNode struct {
	mu      sync.Mutex
	data    []byte
	synced  []byte
	lost    []span // byte ranges whose dirty pages a failed fsync dropped
	wbErr   error  // a failed volume sync's error, reported by the next Sync
	modTime time.Time
}

type span struct{ from, to int64 }

// NewMem returns an empty MemFS.
func NewMem() *MemFS {
	fs := &MemFS{dirs: map[string]*memDir{}, failNext: map[Op][]error{}}
	fs.dirs["/"] = newMemDir()
	fs.dirs["."] = newMemDir()
	return fs
}

// NewCrashableMem is NewMem; the name matches the style guide's examples.
func NewCrashableMem() *MemFS { return NewMem() }

func newMemDir() *memDir {
	return &memDir{cur: map[string]*memNode{}, durable: map[string]*memNode{}}
}

// SetFault installs f (nil removes it).
func (fs *MemFS) SetFault(f FaultFunc) {
	fs.mu.Lock()
	fs.fault = f
	fs.mu.Unlock()
}

// FailNext makes the next operation of kind op, on any path, fail with err.
// Calls queue up.
func (fs *MemFS) FailNext(op Op, err error) {
	fs.mu.Lock()
	fs.failNext[op] = append(fs.failNext[op], err)
	fs.mu.Unlock()
}

// FailNextSync makes the next File.Sync fail with err.
func (fs *MemFS) FailNextSync(err error) { fs.FailNext(OpSync, err) }

func (fs *MemFS) check(op Op, path string) error {
	fs.mu.Lock()
	var err error
	if q := fs.failNext[op]; len(q) > 0 {
		err = q[0]
		fs.failNext[op] = q[1:]
	}
	f := fs.fault
	fs.mu.Unlock()
	if err == nil && f != nil {
		err = f(op, path)
	}
	if err != nil {
		return &os.PathError{Op: op.String(), Path: path, Err: err}
	}
	return nil
}

// CrashClone returns a new MemFS holding what survives a power cut now:
// durable directory entries with their synced bytes. The receiver is
// unchanged and may keep being used (or dropped).
func (fs *MemFS) CrashClone() *MemFS {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	c := NewMem()
	nodes := map[*memNode]*memNode{}
	for path, d := range fs.dirs {
		nd := newMemDir()
		for name, n := range d.durable {
			cn, ok := nodes[n]
			if !ok {
				n.mu.Lock()
				data := append([]byte(nil), n.synced...)
				mod := n.modTime
				n.mu.Unlock()
				cn = &memNode{data: data, synced: append([]byte(nil), data...), modTime: mod}
				nodes[n] = cn
			}
			nd.cur[name], nd.durable[name] = cn, cn
		}
		c.dirs[path] = nd
	}
	return c
}

func clean(name string) (dir, base string) {
	p := filepath.Clean(name)
	return filepath.Dir(p), filepath.Base(p)
}

func (fs *MemFS) lookupLocked(name string) (*memDir, string, *memNode, error) {
	dir, base := clean(name)
	d, ok := fs.dirs[dir]
	if !ok {
		return nil, "", nil, os.ErrNotExist
	}
	return d, base, d.cur[base], nil
}

// OpenFile opens a file with os.OpenFile flag semantics (O_CREATE, O_EXCL,
// O_TRUNC, O_APPEND, O_RDONLY/O_WRONLY/O_RDWR).
func (fs *MemFS) OpenFile(name string, flag int, perm os.FileMode) (File, error) {
	if err := fs.check(OpOpen, name); err != nil {
		return nil, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, base, n, err := fs.lookupLocked(name)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: name, Err: err}
	}
	if _, isDir := fs.dirs[filepath.Clean(name)]; isDir {
		if flag&(os.O_WRONLY|os.O_RDWR) != 0 {
			return nil, &os.PathError{Op: "open", Path: name, Err: syscall.EISDIR}
		}
		return &memFile{fs: fs, name: name, dir: true, n: &memNode{}}, nil
	}
	switch {
	case n == nil && flag&os.O_CREATE == 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrNotExist}
	case n != nil && flag&os.O_CREATE != 0 && flag&os.O_EXCL != 0:
		return nil, &os.PathError{Op: "open", Path: name, Err: os.ErrExist}
	case n == nil:
		n = &memNode{modTime: time.Now()}
		d.cur[base] = n
	}
	if flag&os.O_TRUNC != 0 {
		n.mu.Lock()
		n.data = n.data[:0]
		n.clipLost(0)
		n.modTime = time.Now()
		n.mu.Unlock()
	}
	return &memFile{
		fs:       fs,
		n:        n,
		name:     name,
		readable: flag&os.O_WRONLY == 0,
		writable: flag&(os.O_WRONLY|os.O_RDWR) != 0,
		append:   flag&os.O_APPEND != 0,
	}, nil
}

// Open opens a file read-only.
func (fs *MemFS) Open(name string) (File, error) { return fs.OpenFile(name, os.O_RDONLY, 0) }

// Remove deletes a file or an empty directory.
func (fs *MemFS) Remove(name string) error {
	if err := fs.check(OpRemove, name); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := filepath.Clean(name)
	if _, ok := fs.dirs[p]; ok {
		for other := range fs.dirs {
			if filepath.Dir(other) == p && other != p {
				return &os.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
			}
		}
		if len(fs.dirs[p].cur) > 0 {
			return &os.PathError{Op: "remove", Path: name, Err: syscall.ENOTEMPTY}
		}
		delete(fs.dirs, p)
		return nil
	}
	d, base, n, err := fs.lookupLocked(name)
	if err != nil || n == nil {
		return &os.PathError{Op: "remove", Path: name, Err: os.ErrNotExist}
	}
	delete(d.cur, base)
	return nil
}

// RemoveAll deletes a path and everything below it; it is durable at once.
func (fs *MemFS) RemoveAll(name string) error {
	if err := fs.check(OpRemove, name); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := filepath.Clean(name)
	for dp := range fs.dirs {
		if dp == p || strings.HasPrefix(dp, p+string(filepath.Separator)) {
			delete(fs.dirs, dp)
		}
	}
	if d, base, n, err := fs.lookupLocked(name); err == nil && n != nil {
		delete(d.cur, base)
		delete(d.durable, base)
	}
	return nil
}

// Rename moves a file; the change is durable after SyncDir of both
// directories.
func (fs *MemFS) Rename(oldname, newname string) error {
	if err := fs.check(OpRename, oldname); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	od, obase, n, err := fs.lookupLocked(oldname)
	if err != nil || n == nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: os.ErrNotExist}
	}
	nd, nbase, _, err := fs.lookupLocked(newname)
	if err != nil {
		return &os.LinkError{Op: "rename", Old: oldname, New: newname, Err: err}
	}
	delete(od.cur, obase)
	nd.cur[nbase] = n
	return nil
}

// MkdirAll creates a directory and its parents (durable at once).
func (fs *MemFS) MkdirAll(dir string, perm os.FileMode) error {
	if err := fs.check(OpMkdir, dir); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	for p := filepath.Clean(dir); ; p = filepath.Dir(p) {
		if _, ok := fs.dirs[p]; ok {
			break
		}
		if d, base, n, err := fs.lookupLocked(p); err == nil && n != nil {
			_ = d
			return &os.PathError{Op: "mkdir", Path: base, Err: syscall.ENOTDIR}
		}
		fs.dirs[p] = newMemDir()
		if filepath.Dir(p) == p {
			break
		}
	}
	return nil
}

// ReadDir returns the sorted names of files and subdirectories in dir.
func (fs *MemFS) ReadDir(dir string) ([]string, error) {
	if err := fs.check(OpStat, dir); err != nil {
		return nil, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	p := filepath.Clean(dir)
	d, ok := fs.dirs[p]
	if !ok {
		return nil, &os.PathError{Op: "readdir", Path: dir, Err: os.ErrNotExist}
	}
	var names []string
	for name := range d.cur {
		names = append(names, name)
	}
	for other := range fs.dirs {
		if other != p && filepath.Dir(other) == p {
			names = append(names, filepath.Base(other))
		}
	}
	sort.Strings(names)
	return names, nil
}

// Stat describes a file or directory.
func (fs *MemFS) Stat(name string) (os.FileInfo, error) {
	if err := fs.check(OpStat, name); err != nil {
		return nil, err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if _, ok := fs.dirs[filepath.Clean(name)]; ok {
		return memInfo{name: filepath.Base(name), dir: true}, nil
	}
	_, _, n, err := fs.lookupLocked(name)
	if err != nil || n == nil {
		return nil, &os.PathError{Op: "stat", Path: name, Err: os.ErrNotExist}
	}
	return n.info(filepath.Base(name)), nil
}

// SyncDir makes dir's current entries durable.
func (fs *MemFS) SyncDir(dir string) error {
	if err := fs.check(OpSyncDir, dir); err != nil {
		return err
	}
	fs.mu.Lock()
	defer fs.mu.Unlock()
	d, ok := fs.dirs[filepath.Clean(dir)]
	if !ok {
		return &os.PathError{Op: "syncdir", Path: dir, Err: os.ErrNotExist}
	}
	d.durable = make(map[string]*memNode, len(d.cur))
	for k, v := range d.cur {
		d.durable[k] = v
	}
	return nil
}

func (n *memNode) info(name string) memInfo {
	n.mu.Lock()
	defer n.mu.Unlock()
	return memInfo{name: name, size: int64(len(n.data)), mod: n.modTime}
}

// clipLost forgets dropped-page ranges at or beyond size. n.mu held.
func (n *memNode) clipLost(size int64) {
	out := n.lost[:0]
	for _, s := range n.lost {
		if s.from < size {
			s.to = min(s.to, size)
			out = append(out, s)
		}
	}
	n.lost = out
}

// rewrote forgets dropped-page ranges overwritten by [from, to). n.mu held.
func (n *memNode) rewrote(from, to int64) {
	var out []span
	for _, s := range n.lost {
		if s.to <= from || s.from >= to {
			out = append(out, s)
			continue
		}
		if s.from < from {
			out = append(out, span{s.from, from})
		}
		if s.to > to {
			out = append(out, span{to, s.to})
		}
	}
	n.lost = out
}

type memInfo struct {
	name string
	size int64
	mod  time.Time
	dir  bool
}

func (i memInfo) Name() string { return i.name }
func (i memInfo) Size() int64  { return i.size }
func (i memInfo) Mode() os.FileMode {
	if i.dir {
		return os.ModeDir | 0o755
	}
	return 0o644
}
func (i memInfo) ModTime() time.Time { return i.mod }
func (i memInfo) IsDir() bool        { return i.dir }
func (i memInfo) Sys() any           { return nil }

type memFile struct {
	fs       *MemFS
	n        *memNode
	name     string
	dir      bool
	readable bool
	writable bool
	append   bool

	mu     sync.Mutex // guards pos and closed
	pos    int64
	closed bool
}

func (f *memFile) isClosed() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.closed
}

func (f *memFile) pathErr(op string, err error) error {
	return &os.PathError{Op: op, Path: f.name, Err: err}
}

func (f *memFile) Name() string { return f.name }

func (f *memFile) Read(p []byte) (int, error) {
	f.mu.Lock()
	pos := f.pos
	f.mu.Unlock()
	n, err := f.ReadAt(p, pos)
	f.mu.Lock()
	f.pos += int64(n)
	f.mu.Unlock()
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (f *memFile) ReadAt(p []byte, off int64) (int, error) {
	if f.isClosed() {
		return 0, f.pathErr("read", os.ErrClosed)
	}
	if !f.readable || f.dir {
		return 0, f.pathErr("read", syscall.EBADF)
	}
	if err := f.fs.check(OpRead, f.name); err != nil {
		return 0, err
	}
	if off < 0 {
		return 0, f.pathErr("read", syscall.EINVAL)
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if off >= int64(len(f.n.data)) {
		return 0, io.EOF
	}
	n := copy(p, f.n.data[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (f *memFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pos := f.pos
	if f.append {
		f.n.mu.Lock()
		pos = int64(len(f.n.data))
		f.n.mu.Unlock()
	}
	if f.closed {
		return 0, f.pathErr("write", os.ErrClosed)
	}
	n, err := f.writeAt(p, pos)
	f.pos = pos + int64(n)
	return n, err
}

func (f *memFile) WriteAt(p []byte, off int64) (int, error) {
	if f.append {
		return 0, f.pathErr("write", errors.New("WriteAt on O_APPEND file"))
	}
	if f.isClosed() {
		return 0, f.pathErr("write", os.ErrClosed)
	}
	return f.writeAt(p, off)
}

func (f *memFile) writeAt(p []byte, off int64) (int, error) {
	if !f.writable {
		return 0, f.pathErr("write", syscall.EBADF)
	}
	if off < 0 {
		return 0, f.pathErr("write", syscall.EINVAL)
	}
	ferr := f.fs.check(OpWrite, f.name)
	if ferr != nil {
		p = p[:len(p)/2]
	}
	f.n.put(p, off)
	return len(p), ferr
}

// put stores p at off, growing the file with zeros as needed.
func (n *memNode) put(p []byte, off int64) {
	n.mu.Lock()
	defer n.mu.Unlock()
	end := off + int64(len(p))
	if end > int64(len(n.data)) {
		if end > int64(cap(n.data)) {
			grown := make([]byte, len(n.data), max(end, 2*int64(cap(n.data))))
			copy(grown, n.data)
			n.data = grown
		}
		old := len(n.data)
		n.data = n.data[:end]
		clear(n.data[old:])
	}
	copy(n.data[off:], p)
	n.rewrote(off, end)
	n.modTime = time.Now()
}

func (f *memFile) Seek(offset int64, whence int) (int64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var base int64
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		base = f.pos
	case io.SeekEnd:
		f.n.mu.Lock()
		base = int64(len(f.n.data))
		f.n.mu.Unlock()
	default:
		return 0, f.pathErr("seek", syscall.EINVAL)
	}
	if base+offset < 0 {
		return 0, f.pathErr("seek", syscall.EINVAL)
	}
	f.pos = base + offset
	return f.pos, nil
}

func (f *memFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return f.pathErr("close", os.ErrClosed)
	}
	f.closed = true
	return nil
}

func (f *memFile) Sync() error {
	if f.isClosed() {
		return f.pathErr("sync", os.ErrClosed)
	}
	if f.dir {
		return nil
	}
	err := f.fs.check(OpSync, f.name)
	f.n.mu.Lock()
	if err == nil && f.n.wbErr != nil {
		// Like Linux's per-file errseq: a writeback error that a volume
		// sync hit is reported to the file's next fsync as well.
		err = &os.PathError{Op: "sync", Path: f.name, Err: f.n.wbErr}
	}
	f.n.wbErr = nil
	f.n.mu.Unlock()
	if err != nil {
		f.fs.noteWritebackError()
	}
	f.n.sync(err)
	return err
}

// noteWritebackError counts a failed sync for the volumes' error reporting.
func (fs *MemFS) noteWritebackError() {
	fs.mu.Lock()
	fs.wbErrors++
	fs.mu.Unlock()
}

// sync persists the node's data, or after a failed sync (err != nil) marks
// its dirty bytes lost: Linux marks the dirty pages clean after a failed
// writeback, so they stay readable now but a later fsync will not persist
// them.
func (n *memNode) sync(err error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if err != nil {
		if int64(len(n.synced)) < int64(len(n.data)) || !equalPrefix(n.synced, n.data) {
			n.lost = append(n.lost, span{firstDiff(n.synced, n.data), int64(len(n.data))})
		}
		return
	}
	synced := append(n.synced[:0:0], n.data...)
	for _, s := range n.lost {
		from, to := min(s.from, int64(len(synced))), min(s.to, int64(len(synced)))
		clear(synced[from:to])
	}
	n.synced = synced
}

// dirtyBytes is how many bytes of the node a sync would write.
func (n *memNode) dirtyBytes() int64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	if equalPrefix(n.synced, n.data) {
		return 0
	}
	return int64(len(n.data)) - firstDiff(n.synced, n.data)
}

func equalPrefix(a, b []byte) bool { return len(a) == len(b) && string(a) == string(b) }

func firstDiff(a, b []byte) int64 {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return int64(i)
		}
	}
	return int64(n)
}

// Allocate checks its arguments and injected faults; a MemFS has no blocks
// to reserve, so it changes nothing.
func (f *memFile) Allocate(off, n int64) error {
	if f.isClosed() {
		return f.pathErr("allocate", os.ErrClosed)
	}
	if !f.writable {
		return f.pathErr("allocate", syscall.EBADF)
	}
	if off < 0 || n <= 0 {
		return f.pathErr("allocate", syscall.EINVAL)
	}
	return f.fs.check(OpAllocate, f.name)
}

// StartWriteback checks its arguments and injected faults and otherwise
// changes nothing: starting writeback makes nothing durable.
func (f *memFile) StartWriteback(off, n int64) error {
	if err := f.checkRange("sync_file_range", off, n); err != nil {
		return err
	}
	return f.fs.check(OpStartWriteback, f.name)
}

// checkRange refuses a closed file and a negative range for the syscall
// named op.
func (f *memFile) checkRange(op string, off, n int64) error {
	if f.isClosed() {
		return f.pathErr(op, os.ErrClosed)
	}
	if off < 0 || n < 0 {
		return f.pathErr(op, syscall.EINVAL)
	}
	return nil
}

// WaitWriteback checks injected faults and otherwise changes nothing: it
// makes no byte durable against a crash. An injected EIO models a failed
// writeback: the dirty bytes are marked lost (clean but not on disk), and
// the file's next Sync reports the error again, as Linux reports it to
// every descriptor.
func (f *memFile) WaitWriteback(off, n int64) error {
	if err := f.checkRange("sync_file_range", off, n); err != nil {
		return err
	}
	err := f.fs.check(OpWaitWriteback, f.name)
	if err != nil && errors.Is(err, syscall.EIO) {
		f.failWriteback(err)
	}
	return err
}

// failWriteback models a writeback that failed with err outside Sync: the
// dirty bytes are marked lost, and the file's next Sync reports the error
// again, as Linux reports it to every descriptor.
func (f *memFile) failWriteback(err error) {
	f.fs.noteWritebackError()
	f.n.sync(err)
	f.n.mu.Lock()
	f.n.wbErr = syscall.EIO
	f.n.mu.Unlock()
}

// DropCache models posix_fadvise(POSIX_FADV_DONTNEED): dirty bytes stay,
// and bytes that a failed fsync marked clean without persisting them (the
// lost spans) are replaced by what the disk holds, the synced bytes, or
// zeros past them. Synced bytes read the same either way.
func (f *memFile) DropCache(off, n int64) error {
	if err := f.checkRange("fadvise", off, n); err != nil {
		return err
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	end := min(off+n, int64(len(f.n.data)))
	for _, s := range f.n.lost {
		from, to := max(s.from, off), min(s.to, end)
		for i := from; i < to; i++ {
			f.n.data[i] = 0
			if i < int64(len(f.n.synced)) {
				f.n.data[i] = f.n.synced[i]
			}
		}
	}
	return nil
}

// FillZeros writes zeros over [off, off+n) and syncs the file, as the OS
// implementation's fdatasync does (it makes every dirty byte of the file
// durable). An injected EIO models a failed fdatasync: the zeros are
// written, the dirty bytes are marked lost, and the file's next Sync
// reports the error again (Linux reports a writeback error to every open
// descriptor). Any other injected error (ENOSPC) writes nothing.
func (f *memFile) FillZeros(off, n int64) error {
	if f.isClosed() {
		return f.pathErr("fill zeros", os.ErrClosed)
	}
	if !f.writable {
		return f.pathErr("fill zeros", syscall.EBADF)
	}
	if off < 0 || n <= 0 || off%ZeroFillAlign != 0 || n%ZeroFillAlign != 0 {
		return f.pathErr("fill zeros", syscall.EINVAL)
	}
	err := f.fs.check(OpFillZeros, f.name)
	if err != nil && !errors.Is(err, syscall.EIO) {
		return err
	}
	f.n.put(make([]byte, n), off)
	if err != nil {
		f.failWriteback(err)
		return err
	}
	f.n.sync(nil)
	return nil
}

func (f *memFile) Truncate(size int64) error {
	if f.isClosed() {
		return f.pathErr("truncate", os.ErrClosed)
	}
	if !f.writable {
		return f.pathErr("truncate", syscall.EBADF)
	}
	if err := f.fs.check(OpTruncate, f.name); err != nil {
		return err
	}
	if size < 0 {
		return f.pathErr("truncate", syscall.EINVAL)
	}
	f.n.mu.Lock()
	defer f.n.mu.Unlock()
	if size <= int64(len(f.n.data)) {
		f.n.data = f.n.data[:size]
	} else {
		f.n.data = append(f.n.data, make([]byte, size-int64(len(f.n.data)))...)
	}
	f.n.clipLost(size)
	f.n.modTime = time.Now()
	return nil
}

func (f *memFile) Stat() (os.FileInfo, error) {
	if f.isClosed() {
		return nil, f.pathErr("stat", os.ErrClosed)
	}
	if err := f.fs.check(OpStat, f.name); err != nil {
		return nil, err
	}
	if f.dir {
		return memInfo{name: filepath.Base(f.name), dir: true}, nil
	}
	return f.n.info(filepath.Base(f.name)), nil
}
