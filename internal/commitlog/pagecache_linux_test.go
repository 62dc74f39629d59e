package commitlog

import (
	"os"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cachedBytes counts the bytes of the file at path in [from, to) that are
// in the page cache (mincore(2)).
func cachedBytes(t *testing.T, path string, from, to int64) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.Mmap(int(f.Fd()), from, int(to-from), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (len(m)+pageBytes-1)/pageBytes)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(len(m)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	n := int64(0)
	for _, v := range vec {
		n += int64(v&1) * pageBytes
	}
	return n
}

// TestDropsDurablePagesBehindTheEnd appends 72 MiB through two segments
// with CacheBytes at 16 MiB on the real filesystem, for each durability
// policy that fsyncs: the sealed segment and the active one's durable
// bytes more than 16 MiB behind the end leave the page cache, the last
// 16 MiB stay, and everything reads back.
func TestDropsDurablePagesBehindTheEnd(t *testing.T) {
	for _, sync := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
		t.Run(sync.String(), func(t *testing.T) {
			dir := t.TempDir()
			o := DefaultOptions()
			o.Sync = sync
			o.SyncInterval = time.Hour
			o.SegmentBytes = 40 << 20
			o.CacheBytes = 16 << 20
			l := openT(t, dir, o)
			defer l.Close()
			b := batchOfSize(256<<10, 1000, 1)
			var bases []int64
			for l.Size() < 72<<20 {
				base, err := l.Append(b)
				if err != nil {
					t.Fatal(err)
				}
				if sync == SyncInterval {
					if err := l.syncOnce(); err != nil {
						t.Fatal(err)
					}
				}
				bases = append(bases, base)
			}
			settleDrops(l)
			if n := l.SegmentCount(); n != 2 {
				t.Fatalf("%d segments, want 2", n)
			}
			sealed := filepath.Join(dir, segmentName(0, logSuffix))
			st, _ := os.Stat(sealed)
			if c := cachedBytes(t, sealed, 0, st.Size()); c > st.Size()/10 {
				t.Fatalf("sealed segment: %d of %d bytes still cached", c, st.Size())
			}
			l.mu.RLock()
			a := l.activeLocked()
			path, size := a.logPath, a.size
			l.mu.RUnlock()
			head := (size - o.CacheBytes - cacheDropStep) &^ (pageBytes - 1)
			if c := cachedBytes(t, path, 0, head); c > head/10 {
				t.Fatalf("active segment: %d of its first %d bytes still cached", c, head)
			}
			tail := (size - o.CacheBytes) &^ (pageBytes - 1)
			if c := cachedBytes(t, path, tail, size); c < (size-tail)*9/10 {
				t.Fatalf("active segment: only %d of its last %d bytes cached", c, size-tail)
			}
			for _, base := range bases {
				if got, err := l.Read(base, 1); err != nil || string(got[12:]) != string(b[12:]) {
					t.Fatalf("offset %d: %v", base, err)
				}
			}
		})
	}
}
