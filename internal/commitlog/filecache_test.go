package commitlog

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestFileCacheConcurrentReadersAndWriters: 12 logs on the real disk share
// a FileCache of 3 files while a writer per log appends and a reader per
// log reads back everything durable so far, over and over, so descriptors
// are evicted under running reads, appends and fsyncs. Every batch read is
// the one appended at its offset, the cache never holds more than 3 files,
// and after a clean close and a reopen through a cache of 2 every batch is
// still there. Run it with -race too.
func TestFileCacheConcurrentReadersAndWriters(t *testing.T) {
	const (
		logs    = 12
		limit   = 3
		appends = 24
	)
	dir := t.TempDir()
	fc, err := NewFileCache(FileCacheOptions{MaxOpen: limit})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(CommitterOptions{FS: vfs.OS(), Dir: dir})
	defer c.Close()
	o := DefaultOptions()
	o.SegmentBytes = 4 << 10
	o.IndexIntervalBytes = 512
	o.Files = fc
	o.Committer = c
	batch := func(i int, base int64) []byte {
		b := makeBatch(1+int(base%4), 60+int(base%90), base, byte(i)+byte(base))
		record.SetBaseOffset(b, base)
		return b
	}
	ls := make([]*Log, logs)
	for i := range ls {
		ls[i] = openT(t, fmt.Sprintf("%s/p-%d", dir, i), o)
	}
	var maxOpen struct {
		sync.Mutex
		n int
	}
	note := func() {
		n := fc.Open()
		maxOpen.Lock()
		maxOpen.n = max(maxOpen.n, n)
		maxOpen.Unlock()
	}
	// check reads every batch below the high watermark and compares it.
	check := func(i int, l *Log) error {
		for base := l.LogStartOffset(); base < l.HighWatermark(); {
			got, err := l.Read(base, 1)
			if err != nil {
				return fmt.Errorf("log %d offset %d: %w", i, base, err)
			}
			h, err := record.ParseBatchHeader(got)
			if err != nil {
				return fmt.Errorf("log %d offset %d: %w", i, base, err)
			}
			if !bytes.Equal(got[:h.Size()], batch(i, base)) {
				return fmt.Errorf("log %d: batch at %d differs from the one appended", i, base)
			}
			base = h.BaseOffset + int64(h.LastOffsetDelta) + 1
			note()
		}
		return nil
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*logs)
	for i, l := range ls {
		wg.Add(2)
		done := make(chan struct{})
		go func() {
			defer wg.Done()
			defer close(done)
			for k := 0; k < appends; k++ {
				base := l.LogEndOffset()
				if _, err := l.Append(batch(i, base)); err != nil {
					errs <- fmt.Errorf("log %d append: %w", i, err)
					return
				}
				note()
				if n := openLogFiles(t, dir); n > limit {
					errs <- fmt.Errorf("%d segment files open in /proc/self/fd, limit %d", n, limit)
					return
				}
			}
		}()
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := check(i, l); err != nil {
					errs <- err
					return
				}
				time.Sleep(time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if maxOpen.n > limit {
		t.Fatalf("%d segment files open at once, limit %d", maxOpen.n, limit)
	}
	if ls[0].SegmentCount() < 3 {
		t.Fatalf("only %d segments: the test needs rolls", ls[0].SegmentCount())
	}
	for i, l := range ls {
		if err := check(i, l); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatalf("close log %d: %v", i, err)
		}
	}
	if n := fc.Open(); n != 0 {
		t.Fatalf("%d files open after every log closed", n)
	}
	fc2, err := NewFileCache(FileCacheOptions{MaxOpen: 2})
	if err != nil {
		t.Fatal(err)
	}
	o.Files = fc2
	for i := range ls {
		l := openUnchecked(t, fmt.Sprintf("%s/p-%d", dir, i), o)
		if err := check(i, l); err != nil {
			t.Fatal(err)
		}
		if l.HighWatermark() == 0 {
			t.Fatalf("log %d reopened empty", i)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if n := fc2.Open(); n > 2 {
			t.Fatalf("%d files open, limit 2", n)
		}
	}
}

// openLogFiles counts this process's descriptors of .log files under dir
// (0 without /proc). A descriptor counts when two passes over /proc/self/fd
// find it naming the same file: a number closed and reused between a
// pass's listing and its readlink is not counted twice.
func openLogFiles(t *testing.T, dir string) int {
	pass := func() map[string]string {
		fds, err := os.ReadDir("/proc/self/fd")
		if err != nil {
			return nil
		}
		out := map[string]string{}
		for _, fd := range fds {
			target, err := os.Readlink("/proc/self/fd/" + fd.Name())
			if err == nil && strings.HasPrefix(target, dir) && strings.HasSuffix(target, ".log") {
				out[fd.Name()] = target
			}
		}
		return out
	}
	a, b := pass(), pass()
	n := 0
	for fd, target := range a {
		if b[fd] == target {
			n++
		}
	}
	return n
}
