package commitlog

import (
	"container/list"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// FileCacheOptions configure a FileCache.
type FileCacheOptions struct {
	// MaxOpen is how many segment files the logs sharing the cache may
	// hold open at once; at least 1.
	MaxOpen int
	// Registerer receives the cache's metrics; nil registers nothing.
	Registerer prometheus.Registerer
}

// FileCache bounds the segment files (.log) open across every log that
// shares it (Options.Files), as Kafka's and RocksDB's max-open-files do:
// a segment's descriptor is opened when it is first used and closed again
// when the cache needs its slot for another file and it was the least
// recently used one not in use. Active segments are cached like sealed
// ones, so the bound holds with more partitions than descriptors; a
// partition that is written or read keeps its file open in practice,
// because its use moves it to the front.
//
// Closing a file that was written since its last fsync fsyncs it first
// (its pages are the inode's and any descriptor's fsync would cover them,
// but an error must reach the log): a failure is returned by the file's
// next Sync, so the log treats its unsynced tail as lost, as after any
// failed fsync. Index files are open only while a flush writes them and
// are not counted.
//
// Every method is safe for concurrent use. Each file operation holds one
// file at a time, so operations waiting for a slot cannot deadlock: at
// worst they wait for another operation's syscall to end.
type FileCache struct {
	max int

	mu   sync.Mutex
	cond *sync.Cond // signalled when a file is released or closed
	lru  list.List  // *cachedFile open and not in use; front = most recent
	open int        // descriptors held, in use or not

	openGauge prometheus.Gauge
	evictions prometheus.Counter
	reopens   prometheus.Counter
}

// NewFileCache returns a cache holding at most opts.MaxOpen files open.
func NewFileCache(opts FileCacheOptions) (*FileCache, error) {
	if opts.MaxOpen < 1 {
		return nil, fmt.Errorf("%w: max open files %d, want at least 1", ErrInvalidOptions, opts.MaxOpen)
	}
	c := &FileCache{
		max: opts.MaxOpen,
		openGauge: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "eddy_log_open_segment_files",
			Help: "Segment files held open by the open-files cache (--max-open-files).",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_segment_file_evictions_total",
			Help: "Segment files closed by the open-files cache to make room for another.",
		}),
		reopens: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_segment_file_reopens_total",
			Help: "Segment files opened again by the open-files cache after an eviction.",
		}),
	}
	c.cond = sync.NewCond(&c.mu)
	if r := opts.Registerer; r != nil {
		c.openGauge = register(r, c.openGauge)
		c.evictions = register(r, c.evictions)
		c.reopens = register(r, c.reopens)
	}
	return c, nil
}

// MaxOpen is the cache's bound.
func (c *FileCache) MaxOpen() int { return c.max }

// Open reports how many files the cache holds open now.
func (c *FileCache) Open() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open
}

// openFile opens path through the cache with flag (which may create or
// truncate it); later reopens use O_RDWR.
func (c *FileCache) openFile(fs vfs.FS, path string, flag int, perm os.FileMode) (vfs.File, error) {
	cf := &cachedFile{c: c, fs: fs, path: path}
	c.mu.Lock()
	c.reserveLocked(1)
	c.mu.Unlock()
	f, err := fs.OpenFile(path, flag, perm)
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil {
		c.open--
		c.cond.Broadcast()
		return nil, err
	}
	c.openGauge.Set(float64(c.open))
	cf.f = f
	cf.elem = c.lru.PushFront(cf)
	return cf, nil
}

// victim is an evicted file's descriptor, closed outside c.mu.
type victim struct {
	cf    *cachedFile
	f     vfs.File
	dirty bool
	wgen  uint64
}

// reserveLocked takes n slots for more descriptors: while the cache is
// full it evicts the least recently used file not in use and closes it
// (unlocking mu meanwhile), or waits for a file to be released or closed
// when every open file is in use. An evicted descriptor keeps its slot
// until it is closed, so the files held open never exceed the bound, even
// for a moment. mu must be held; it is held again on return.
func (c *FileCache) reserveLocked(n int) {
	for c.open+n > c.max {
		e := c.pickLocked()
		if e == nil {
			c.cond.Wait()
			continue
		}
		cf := e.Value.(*cachedFile)
		c.lru.Remove(e)
		cf.elem = nil
		v := victim{cf: cf, f: cf.f, dirty: cf.wgen != cf.sgen, wgen: cf.wgen}
		cf.f = nil
		cf.evicting++
		c.evictions.Inc()
		c.mu.Unlock()
		c.closeVictims([]victim{v})
		c.mu.Lock()
	}
	c.open += n
}

// pickLocked returns the LRU element to evict: the least recently used
// file with nothing to fsync among the last few, else the least recently
// used one; nil when every open file is in use.
func (c *FileCache) pickLocked() *list.Element {
	back := c.lru.Back()
	e := back
	for i := 0; e != nil && i < 8; i++ {
		cf := e.Value.(*cachedFile)
		if cf.wgen == cf.sgen {
			return e
		}
		e = e.Prev()
	}
	return back
}

// closeVictims fsyncs (when written since their last fsync) and closes
// evicted descriptors, then frees their slots.
func (c *FileCache) closeVictims(vs []victim) {
	for _, v := range vs {
		var serr error
		if v.dirty {
			serr = v.f.Sync()
		}
		v.f.Close()
		c.mu.Lock()
		if serr != nil {
			v.cf.err = fmt.Errorf("fsync before closing it to free a descriptor: %w", serr)
		} else if v.dirty && v.cf.sgen < v.wgen {
			v.cf.sgen = v.wgen
		}
		v.cf.evicting--
		c.open--
		c.openGauge.Set(float64(c.open))
		c.cond.Broadcast()
		c.mu.Unlock()
	}
}

// cachedFile is a segment file opened through a FileCache: its descriptor
// comes and goes, its path and identity stay. Guarded by c.mu.
type cachedFile struct {
	c    *FileCache
	fs   vfs.FS
	path string

	f        vfs.File      // nil while evicted
	refs     int           // operations using f
	elem     *list.Element // in c.lru while open and unused
	wgen     uint64        // bumped by every change of the file
	sgen     uint64        // wgen covered by the last successful fsync
	err      error         // an eviction's failed fsync, for the next Sync
	opening  bool          // a goroutine is reopening f
	evicting int           // evicted descriptors not yet closed
	closed   bool
	pos      int64 // Read, Write and Seek position
}

// acquire returns the open descriptor, reopening it if it was evicted,
// and marks it in use until release.
func (cf *cachedFile) acquire() (vfs.File, error) {
	c := cf.c
	c.mu.Lock()
	for {
		switch {
		case cf.closed:
			c.mu.Unlock()
			return nil, os.ErrClosed
		case cf.f != nil:
			cf.refs++
			if cf.elem != nil {
				c.lru.Remove(cf.elem)
				cf.elem = nil
			}
			c.mu.Unlock()
			return cf.f, nil
		case cf.opening:
			c.cond.Wait()
			continue
		}
		break
	}
	cf.opening = true
	c.reserveLocked(1)
	c.mu.Unlock()
	f, err := cf.fs.OpenFile(cf.path, os.O_RDWR, 0)
	c.mu.Lock()
	defer c.mu.Unlock()
	cf.opening = false
	c.cond.Broadcast()
	if err != nil {
		c.open--
		return nil, fmt.Errorf("reopen %s: %w", cf.path, err)
	}
	c.reopens.Inc()
	c.openGauge.Set(float64(c.open))
	if cf.closed {
		f.Close()
		c.open--
		return nil, os.ErrClosed
	}
	cf.f = f
	cf.refs++
	return f, nil
}

// release ends an operation; changed says it changed the file.
func (cf *cachedFile) release(changed bool) {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if changed {
		cf.wgen++
	}
	cf.refs--
	if cf.refs > 0 {
		return
	}
	if cf.closed {
		cf.f.Close()
		cf.f = nil
		c.open--
		c.openGauge.Set(float64(c.open))
	} else {
		cf.elem = c.lru.PushFront(cf)
	}
	c.cond.Broadcast()
}

func (cf *cachedFile) ReadAt(p []byte, off int64) (int, error) {
	f, err := cf.acquire()
	if err != nil {
		return 0, err
	}
	defer cf.release(false)
	return f.ReadAt(p, off)
}

func (cf *cachedFile) WriteAt(p []byte, off int64) (int, error) {
	f, err := cf.acquire()
	if err != nil {
		return 0, err
	}
	defer cf.release(true)
	return f.WriteAt(p, off)
}

func (cf *cachedFile) Read(p []byte) (int, error) {
	n, err := cf.ReadAt(p, cf.pos)
	cf.pos += int64(n)
	if err == io.EOF && n > 0 {
		err = nil
	}
	return n, err
}

func (cf *cachedFile) Write(p []byte) (int, error) {
	n, err := cf.WriteAt(p, cf.pos)
	cf.pos += int64(n)
	return n, err
}

func (cf *cachedFile) Seek(off int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		off += cf.pos
	case io.SeekEnd:
		st, err := cf.Stat()
		if err != nil {
			return 0, err
		}
		off += st.Size()
	default:
		return 0, fmt.Errorf("seek %s: bad whence %d", cf.path, whence)
	}
	if off < 0 {
		return 0, fmt.Errorf("seek %s: negative position %d", cf.path, off)
	}
	cf.pos = off
	return off, nil
}

// Sync fsyncs the file, first reporting a failed fsync of an evicted
// descriptor: the bytes it covered may be lost.
func (cf *cachedFile) Sync() error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	c := cf.c
	c.mu.Lock()
	for cf.evicting > 0 {
		// An evicted descriptor's fsync still runs: its outcome is
		// this Sync's too.
		c.cond.Wait()
	}
	gen, prev := cf.wgen, cf.err
	cf.err = nil
	c.mu.Unlock()
	if prev != nil {
		cf.release(false)
		return prev
	}
	err = f.Sync()
	c.mu.Lock()
	if err == nil && gen > cf.sgen {
		cf.sgen = gen
	}
	c.mu.Unlock()
	cf.release(false)
	return err
}

func (cf *cachedFile) Truncate(size int64) error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release(true)
	return f.Truncate(size)
}

func (cf *cachedFile) Stat() (os.FileInfo, error) {
	f, err := cf.acquire()
	if err != nil {
		return nil, err
	}
	defer cf.release(false)
	return f.Stat()
}

func (cf *cachedFile) Name() string { return cf.path }

// Close closes the descriptor (at once, or when the operation using it
// ends) and takes the file out of the cache.
func (cf *cachedFile) Close() error {
	c := cf.c
	c.mu.Lock()
	defer c.mu.Unlock()
	if cf.closed {
		return os.ErrClosed
	}
	cf.closed = true
	if cf.f == nil || cf.refs > 0 {
		return nil
	}
	if cf.elem != nil {
		c.lru.Remove(cf.elem)
		cf.elem = nil
	}
	err := cf.f.Close()
	cf.f = nil
	c.open--
	c.openGauge.Set(float64(c.open))
	c.cond.Broadcast()
	return err
}

// errUnsupported is returned by the optional operations the underlying
// file does not offer.
var errUnsupported = errors.ErrUnsupported

// Allocate implements vfs.Allocator when the underlying file does.
func (cf *cachedFile) Allocate(off, n int64) error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release(true)
	if a, ok := f.(vfs.Allocator); ok {
		return a.Allocate(off, n)
	}
	return errUnsupported
}

// FillZeros implements vfs.ZeroFiller when the underlying file does. The
// underlying fill may open a descriptor of its own (vfs.OS's does, so
// that its writeback errors reach the file's descriptors too), so it runs
// on a descriptor opened for it, holding two of the cache's slots and
// none of the file's: it waits for room like any open, without holding a
// slot meanwhile. A cache of one file has no room for it.
func (cf *cachedFile) FillZeros(off, n int64) error {
	c := cf.c
	if c.max < 2 {
		return fmt.Errorf("fill zeros %s: needs 2 open files, the cache allows %d: %w", cf.path, c.max, errUnsupported)
	}
	c.mu.Lock()
	if cf.closed {
		c.mu.Unlock()
		return os.ErrClosed
	}
	c.reserveLocked(2)
	c.openGauge.Set(float64(c.open))
	c.mu.Unlock()
	err := func() error {
		f, err := cf.fs.OpenFile(cf.path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("fill zeros: %w", err)
		}
		defer f.Close()
		z, ok := f.(vfs.ZeroFiller)
		if !ok {
			return errUnsupported
		}
		return z.FillZeros(off, n)
	}()
	c.mu.Lock()
	c.open -= 2
	cf.wgen++ // the file changed: an eviction fsyncs it
	c.openGauge.Set(float64(c.open))
	c.cond.Broadcast()
	c.mu.Unlock()
	return err
}

// StartWriteback implements vfs.WritebackStarter when the underlying file
// does.
func (cf *cachedFile) StartWriteback(off, n int64) error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release(false)
	if w, ok := f.(vfs.WritebackStarter); ok {
		return w.StartWriteback(off, n)
	}
	return errUnsupported
}

// DropCache implements vfs.CacheDropper when the underlying file does.
func (cf *cachedFile) DropCache(off, n int64) error {
	f, err := cf.acquire()
	if err != nil {
		return err
	}
	defer cf.release(false)
	if d, ok := f.(vfs.CacheDropper); ok {
		return d.DropCache(off, n)
	}
	return errUnsupported
}
