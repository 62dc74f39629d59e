package powerloss

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// Options configures an FS.
type Options struct {
	// TornWrites makes a power cut keep a random prefix (possibly empty or
	// whole) of every file's last write that was not yet durable, as a
	// disk that wrote some of its sectors before the power went.
	TornWrites bool
	// Seed seeds the torn-write choice; 0 takes one from the clock.
	Seed uint64
	// Debug logs every FUSE request to stderr.
	Debug bool
}

// Stats counts what an FS saw since it was mounted the first time.
type Stats struct {
	Writes    int64 // write requests
	Fsyncs    int64 // fsync/fdatasync of files
	DirFsyncs int64 // fsync of directories
	Cuts      int64 // power cuts
	// LostFiles counts, over all cuts, files that had writes or truncates
	// pending (not durable) when the power went.
	LostFiles int64
	// TornWrites counts cuts that kept a non-empty prefix of a pending write.
	TornWrites int64
	// LazyUnmounts counts unmounts that had to detach the mount lazily
	// (fusermount3 -uz) because a plain unmount kept failing.
	LazyUnmounts int64
}

// span is a byte range [off, end) of a file changed since its last fsync.
type span struct{ off, end int64 }

// fileState is one file identity: its durable size (the size of its store
// file) and the ranges written since it was last made durable.
type fileState struct {
	size  int64
	dirty []span
	// last is the latest pending write and its bytes, kept for torn writes.
	last     span
	lastData []byte
}

// FS is a FUSE file system over a backing directory that forgets, at a
// power cut, everything not made durable by fsync (see the package doc).
type FS struct {
	backing, store, mnt string
	opts                Options
	rng                 *rand.Rand
	server              *fuse.Server
	rootIno             uint64

	// entryMu orders directory-entry changes (create, mkdir, rename,
	// unlink, rmdir: read-locked around the backing operation and its
	// bookkeeping) against directory fsyncs (write-locked), so that a
	// directory's listing is never read between a create in the backing
	// directory and the registration of the new file's identity.
	entryMu sync.RWMutex

	mu     sync.Mutex
	frozen bool // the power is off: nothing becomes durable any more
	nextID uint64
	byIno  map[uint64]uint64            // backing inode → identity, for the current backing tree
	files  map[uint64]*fileState        // identity → durable state of a regular file
	dirs   map[uint64]map[string]uint64 // identity → durable listing of a directory
	rootID uint64
	stats  Stats
}

// mounted holds every mounted FS, for UnmountAll.
var mounted struct {
	sync.Mutex
	m map[*FS]struct{}
}

// Mount takes what backing holds now as durable, keeps the durable copy in
// store (an empty or new directory, not inside backing or mnt) and mounts
// the file system on mnt (an existing empty directory). The caller must
// Close it.
func Mount(backing, store, mnt string, opts Options) (*FS, error) {
	seed := opts.Seed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	f := &FS{
		backing: backing, store: store, mnt: mnt, opts: opts,
		rng:   rand.New(rand.NewPCG(seed, seed>>1|1)),
		byIno: map[uint64]uint64{},
		files: map[uint64]*fileState{},
		dirs:  map[uint64]map[string]uint64{},
	}
	if err := os.MkdirAll(store, 0o755); err != nil {
		return nil, fmt.Errorf("powerloss: store: %w", err)
	}
	if err := f.scan(); err != nil {
		return nil, err
	}
	if err := f.mount(); err != nil {
		return nil, err
	}
	return f, nil
}

// Mountpoint returns the directory the file system is mounted on.
func (f *FS) Mountpoint() string { return f.mnt }

// Stats returns the counters so far.
func (f *FS) Stats() Stats {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stats
}

func (f *FS) newIDLocked() uint64 {
	f.nextID++
	return f.nextID
}

func (f *FS) storePath(id uint64) string {
	return filepath.Join(f.store, strconv.FormatUint(id, 10))
}

// scan registers what backing holds as durable: each file's bytes are
// copied to the store and each directory's listing recorded.
func (f *FS) scan() error {
	var st syscall.Stat_t
	if err := syscall.Lstat(f.backing, &st); err != nil {
		return fmt.Errorf("powerloss: backing dir: %w", err)
	}
	f.rootIno = st.Ino
	f.rootID = f.newIDLocked()
	f.byIno[st.Ino] = f.rootID
	f.dirs[f.rootID] = map[string]uint64{}
	return f.scanDir(f.backing, f.rootID)
}

func (f *FS) scanDir(dir string, id uint64) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("powerloss: scan: %w", err)
	}
	for _, e := range ents {
		p := filepath.Join(dir, e.Name())
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return fmt.Errorf("powerloss: scan %s: %w", p, err)
		}
		cid, seen := f.byIno[st.Ino]
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			cid = f.newIDLocked()
			f.byIno[st.Ino] = cid
			f.dirs[cid] = map[string]uint64{}
			if err := f.scanDir(p, cid); err != nil {
				return err
			}
		case syscall.S_IFREG:
			if !seen { // a second hard link shares the identity
				cid = f.newIDLocked()
				f.byIno[st.Ino] = cid
				if err := copyFile(p, f.storePath(cid)); err != nil {
					return fmt.Errorf("powerloss: scan: %w", err)
				}
				f.files[cid] = &fileState{size: st.Size}
			}
		default:
			return fmt.Errorf("powerloss: scan %s: only regular files and directories are supported", p)
		}
		f.dirs[id][e.Name()] = cid
	}
	return nil
}

// mount serves the file system on f.mnt.
func (f *FS) mount() error {
	var st syscall.Stat_t
	if err := syscall.Stat(f.backing, &st); err != nil {
		return fmt.Errorf("powerloss: backing dir: %w", err)
	}
	lr := &fs.LoopbackRoot{Path: f.backing, Dev: uint64(st.Dev)}
	lr.NewNode = func(r *fs.LoopbackRoot, _ *fs.Inode, _ string, st *syscall.Stat_t) fs.InodeEmbedder {
		return &node{LoopbackNode: fs.LoopbackNode{RootData: r}, pl: f, ino: st.Ino}
	}
	lr.RootNode = lr.NewNode(lr, nil, "", &st)
	one := time.Second
	server, err := fs.Mount(f.mnt, lr.RootNode, &fs.Options{
		EntryTimeout: &one, AttrTimeout: &one, NegativeTimeout: &one,
		MountOptions: fuse.MountOptions{
			FsName: "powerloss", Name: "powerloss",
			DirectMount: true, DisableXAttrs: true, Debug: f.opts.Debug,
		},
	})
	if err != nil {
		return fmt.Errorf("powerloss: mount %s: %w", f.mnt, err)
	}
	f.server = server
	mounted.Lock()
	if mounted.m == nil {
		mounted.m = map[*FS]struct{}{}
	}
	mounted.m[f] = struct{}{}
	mounted.Unlock()
	return nil
}

// unmount detaches the file system, lazily (fusermount3 -uz) if a plain
// unmount keeps failing.
func (f *FS) unmount() error {
	if f.server == nil {
		return nil
	}
	var err error
	for i := 0; i < 40; i++ {
		if err = f.server.Unmount(); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		if lerr := lazyUnmount(f.mnt); lerr != nil {
			return fmt.Errorf("powerloss: unmount %s: %v; lazy unmount: %w", f.mnt, err, lerr)
		}
		f.mu.Lock()
		f.stats.LazyUnmounts++
		f.mu.Unlock()
	}
	f.server = nil
	mounted.Lock()
	delete(mounted.m, f)
	mounted.Unlock()
	return nil
}

// lazyUnmount detaches mnt with fusermount3 -uz (or fusermount -uz).
func lazyUnmount(mnt string) error {
	var err error
	for _, bin := range []string{"fusermount3", "fusermount"} {
		var out []byte
		if out, err = exec.Command(bin, "-uz", mnt).CombinedOutput(); err == nil {
			return nil
		}
		err = fmt.Errorf("%s -uz: %v: %s", bin, err, out)
	}
	return err
}

// UnmountAll lazily unmounts every mounted FS of this process. It is meant
// for signal handlers and watchdogs, where the tests' cleanups do not run.
func UnmountAll() {
	mounted.Lock()
	defer mounted.Unlock()
	for f := range mounted.m {
		_ = lazyUnmount(f.mnt)
		delete(mounted.m, f)
	}
}

// Close unmounts the file system. The backing directory keeps whatever
// the last operations left in it (durable or not). Close is idempotent.
func (f *FS) Close() error { return f.unmount() }

// PowerCut cuts the power: from now on nothing becomes durable (fsyncs
// fail with EIO), then kill is called to end the processes using the
// mount, the file system is unmounted, the backing directory is rebuilt
// from the durable state alone and mounted again.
func (f *FS) PowerCut(kill func()) error {
	f.mu.Lock()
	f.frozen = true
	f.stats.Cuts++
	for id, st := range f.files {
		if len(st.dirty) > 0 {
			f.stats.LostFiles++
		}
		if f.opts.TornWrites && st.last.end > st.last.off {
			if f.tearLocked(id, st) {
				f.stats.TornWrites++
			}
		}
	}
	f.mu.Unlock()
	if kill != nil {
		kill()
	}
	if err := f.unmount(); err != nil {
		return err
	}
	if err := f.rebuild(); err != nil {
		return err
	}
	return f.mount()
}

// tearLocked persists a random prefix of st's last pending write. It
// reports whether the prefix was non-empty.
func (f *FS) tearLocked(id uint64, st *fileState) bool {
	k := f.rng.Int64N(int64(len(st.lastData)) + 1)
	if k == 0 {
		return false
	}
	out, err := os.OpenFile(f.storePath(id), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return false
	}
	defer out.Close()
	if _, err := out.WriteAt(st.lastData[:k], st.last.off); err != nil {
		return false
	}
	if end := st.last.off + k; end > st.size {
		st.size = end
	} else {
		_ = out.Truncate(st.size)
	}
	return true
}

// rebuild replaces the backing directory's content by the durable state
// and forgets identities that are no longer reachable.
func (f *FS) rebuild() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	ents, err := os.ReadDir(f.backing)
	if err != nil {
		return fmt.Errorf("powerloss: rebuild: %w", err)
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(f.backing, e.Name())); err != nil {
			return fmt.Errorf("powerloss: rebuild: %w", err)
		}
	}
	f.byIno = map[uint64]uint64{f.rootIno: f.rootID}
	reached := map[uint64]string{f.rootID: f.backing}
	if err := f.materializeLocked(f.rootID, f.backing, reached); err != nil {
		return err
	}
	for id := range f.files {
		if _, ok := reached[id]; !ok {
			delete(f.files, id)
			_ = os.Remove(f.storePath(id))
		}
	}
	for id := range f.dirs {
		if _, ok := reached[id]; !ok {
			delete(f.dirs, id)
		}
	}
	for _, st := range f.files {
		st.dirty, st.last, st.lastData = nil, span{}, nil
	}
	f.frozen = false
	return nil
}

// materializeLocked creates directory id's durable entries under path.
func (f *FS) materializeLocked(id uint64, path string, reached map[uint64]string) error {
	for name, cid := range f.dirs[id] {
		p := filepath.Join(path, name)
		if first, ok := reached[cid]; ok {
			if _, isDir := f.dirs[cid]; isDir {
				continue // a directory durably linked twice (a rename synced on one side only): keep one
			}
			if err := os.Link(first, p); err != nil {
				return fmt.Errorf("powerloss: rebuild: %w", err)
			}
			continue
		}
		reached[cid] = p
		if _, isDir := f.dirs[cid]; isDir {
			if err := os.Mkdir(p, 0o755); err != nil {
				return fmt.Errorf("powerloss: rebuild: %w", err)
			}
			if err := f.registerLocked(p, cid); err != nil {
				return err
			}
			if err := f.materializeLocked(cid, p, reached); err != nil {
				return err
			}
			continue
		}
		st := f.files[cid]
		if st == nil {
			st = &fileState{}
			f.files[cid] = st
		}
		if err := copyFile(f.storePath(cid), p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("powerloss: rebuild: %w", err)
		}
		if err := os.Truncate(p, st.size); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("powerloss: rebuild: %w", err)
			}
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return fmt.Errorf("powerloss: rebuild: %w", err)
			}
		}
		if err := f.registerLocked(p, cid); err != nil {
			return err
		}
	}
	return nil
}

func (f *FS) registerLocked(p string, id uint64) error {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		return fmt.Errorf("powerloss: rebuild: %w", err)
	}
	f.byIno[st.Ino] = id
	return nil
}

// copyFile copies src to dst (created or truncated).
func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// newFile registers a file created at inode ino: a new identity, durably
// empty, whose entry is pending until its directory is synced.
func (f *FS) newFile(ino uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.newIDLocked()
	f.byIno[ino] = id
	f.files[id] = &fileState{}
}

// newDir registers a directory created at inode ino, durably empty.
func (f *FS) newDir(ino uint64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	id := f.newIDLocked()
	f.byIno[ino] = id
	f.dirs[id] = map[string]uint64{}
}

// fileLocked returns the state of the file at inode ino, registering an
// identity for a file the FS has not seen created (which cannot happen
// through the mount; a durably empty file is the safe guess).
func (f *FS) fileLocked(ino uint64) (uint64, *fileState) {
	id, ok := f.byIno[ino]
	if !ok {
		id = f.newIDLocked()
		f.byIno[ino] = id
	}
	st := f.files[id]
	if st == nil {
		st = &fileState{}
		f.files[id] = st
	}
	return id, st
}

// noteWrite records a pending write of data at off to the file at ino.
func (f *FS) noteWrite(ino uint64, off int64, data [][]byte, n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen || n <= 0 {
		return
	}
	f.stats.Writes++
	_, st := f.fileLocked(ino)
	sp := span{off, off + n}
	st.add(sp)
	st.last = sp
	if f.opts.TornWrites {
		st.lastData = st.lastData[:0]
		for _, b := range data {
			st.lastData = append(st.lastData, b...)
		}
		st.lastData = st.lastData[:n]
	}
}

// noteChange records a pending change of [off, end) other than a write
// (truncate, fallocate).
func (f *FS) noteChange(ino uint64, off, end int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		return
	}
	_, st := f.fileLocked(ino)
	st.add(span{off, end})
}

// add merges sp into the pending ranges.
func (st *fileState) add(sp span) {
	// Appends dominate: try the last range first.
	if n := len(st.dirty); n > 0 {
		last := &st.dirty[n-1]
		if sp.off <= last.end && sp.end >= last.off {
			last.off, last.end = min(last.off, sp.off), max(last.end, sp.end)
			st.coalesce()
			return
		}
	}
	st.dirty = append(st.dirty, sp)
	if len(st.dirty) > 64 {
		st.coalesce()
	}
}

// coalesce sorts and merges overlapping pending ranges.
func (st *fileState) coalesce() {
	d := st.dirty
	for i := 1; i < len(d); i++ { // insertion sort: nearly sorted
		for j := i; j > 0 && d[j].off < d[j-1].off; j-- {
			d[j], d[j-1] = d[j-1], d[j]
		}
	}
	out := d[:0]
	for _, sp := range d {
		if k := len(out); k > 0 && sp.off <= out[k-1].end {
			out[k-1].end = max(out[k-1].end, sp.end)
			continue
		}
		out = append(out, sp)
	}
	st.dirty = out
}

// syncFile makes the file at ino durable: its pending ranges are copied
// from fd (an open descriptor of it) to the store and its size recorded.
func (f *FS) syncFile(ino uint64, fd int) syscall.Errno {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		return syscall.EIO
	}
	f.stats.Fsyncs++
	id, st := f.fileLocked(ino)
	// A descriptor of our own that can read, whatever fd was opened for.
	rfd, err := syscall.Open("/proc/self/fd/"+strconv.Itoa(fd), syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer syscall.Close(rfd)
	var s syscall.Stat_t
	if err := syscall.Fstat(rfd, &s); err != nil {
		return fs.ToErrno(err)
	}
	out, err := os.OpenFile(f.storePath(id), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fs.ToErrno(err)
	}
	defer out.Close()
	buf := make([]byte, 256<<10)
	for _, sp := range st.dirty {
		end := min(sp.end, s.Size)
		for off := sp.off; off < end; {
			n := int(min(int64(len(buf)), end-off))
			m, err := syscall.Pread(rfd, buf[:n], off)
			if err != nil {
				return fs.ToErrno(err)
			}
			if m == 0 {
				break
			}
			if _, err := out.WriteAt(buf[:m], off); err != nil {
				return fs.ToErrno(err)
			}
			off += int64(m)
		}
	}
	if err := out.Truncate(s.Size); err != nil {
		return fs.ToErrno(err)
	}
	st.size = s.Size
	st.dirty, st.last, st.lastData = st.dirty[:0], span{}, st.lastData[:0]
	return 0
}

// syncDir makes the current entries of the directory at path (inode ino)
// durable.
func (f *FS) syncDir(ino uint64, path string) syscall.Errno {
	f.entryMu.Lock()
	defer f.entryMu.Unlock()
	ents, err := os.ReadDir(path)
	if err != nil {
		return fs.ToErrno(err)
	}
	inos := make(map[string]uint64, len(ents))
	for _, e := range ents {
		var st syscall.Stat_t
		if err := syscall.Lstat(filepath.Join(path, e.Name()), &st); err != nil {
			continue // removed meanwhile
		}
		inos[e.Name()] = st.Ino
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.frozen {
		return syscall.EIO
	}
	f.stats.DirFsyncs++
	id, ok := f.byIno[ino]
	if !ok {
		return syscall.EIO
	}
	listing := make(map[string]uint64, len(inos))
	for name, cino := range inos {
		if cid, ok := f.byIno[cino]; ok {
			listing[name] = cid
		}
	}
	f.dirs[id] = listing
	return 0
}

// SyncAll makes everything reachable from the root durable, as syncfs(2)
// would. (The kernel does not forward syncfs to FUSE servers; this is for
// tests of the file system itself.)
func (f *FS) SyncAll() error {
	return filepath.WalkDir(f.mnt, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		h, err := os.Open(p)
		if err != nil {
			return err
		}
		defer h.Close()
		return h.Sync()
	})
}

// maxEnd is the end of a truncation's pending range: everything from the
// new size on.
const maxEnd = math.MaxInt64
