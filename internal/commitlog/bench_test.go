package commitlog

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
	dto "github.com/prometheus/client_model/go"
)

const benchBatchSize = 16 << 10

// closeUnclean closes the files without a final sync or clean marker, as a
// crash (kill -9) would leave the directory. Test helper.
func (l *Log) closeUnclean() {
	l.stopFlusher()
	l.mu.Lock()
	l.mu.closed = true
	for _, s := range l.mu.segs {
		s.close()
	}
	l.mu.Unlock()
	l.closeCommitter()
}

func TestAppendDoesNotAllocate(t *testing.T) {
	for _, policy := range []SyncPolicy{SyncNever, SyncAlways} {
		o := DefaultOptions()
		o.Sync = policy
		l := openT(t, t.TempDir(), o)
		b := batchOfSize(benchBatchSize, 100, 1)
		for i := 0; i < 100; i++ { // warm up index capacity
			l.Append(b)
		}
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := l.Append(b); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per append, want 0", policy, allocs)
		}
		dst := make([]byte, 0, 1<<20)
		allocs = testing.AllocsPerRun(200, func() {
			if _, err := l.ReadInto(dst[:0], 50, 64<<10); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %.2f allocations per ReadInto, want 0", policy, allocs)
		}
		l.Close()
	}
}

// BenchmarkAppend appends 16 KiB batches with W concurrent appenders
// spread over L logs sharing one Committer.
func BenchmarkAppend(b *testing.B) {
	for _, policy := range []SyncPolicy{SyncNever, SyncAlways} {
		for _, rec := range []int{100, 1024} {
			for _, logs := range []int{1, 16} {
				for _, writers := range []int{1, 4, 16} {
					name := fmt.Sprintf("%s/rec=%d/logs=%d/writers=%d", policy, rec, logs, writers)
					b.Run(name, func(b *testing.B) { benchAppend(b, policy, rec, logs, writers) })
				}
			}
		}
	}
}

func benchAppend(b *testing.B, policy SyncPolicy, rec, logs, writers int) {
	c, ls, closeAll := openBenchLogs(b, CommitterOptions{}, policy, logs)
	// Closing is timed, as a final fsync, like fio's end_fsync: under
	// never, Close is where the page cache reaches the disk.
	defer closeAll()
	writeConcurrently(b, writers, rec, func(w int, batch []byte) error {
		_, err := ls[w%logs].Append(batch)
		return err
	})
	if policy == SyncAlways {
		var m dto.Metric
		if err := c.metrics.groupCommit.Write(&m); err == nil && m.GetHistogram().GetSampleCount() > 0 {
			h := m.GetHistogram()
			b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "appends/fsync")
		}
	}
}

// openBenchLogs opens n logs on the OS filesystem in a temporary data
// directory, sharing a committer made with co (FS and Dir filled in).
// closeAll closes them and the committer; it also runs when the benchmark
// ends, for the paths that stop early.
func openBenchLogs(b *testing.B, co CommitterOptions, policy SyncPolicy, n int) (c *Committer, ls []*Log, closeAll func()) {
	dir := b.TempDir()
	co.FS, co.Dir = vfs.OS(), dir
	c = NewCommitter(co)
	ls = make([]*Log, n)
	var once sync.Once
	closeAll = func() {
		once.Do(func() {
			for _, l := range ls {
				if l != nil {
					l.Close()
				}
			}
			c.Close()
		})
	}
	b.Cleanup(closeAll)
	for i := range ls {
		o := DefaultOptions()
		o.Sync = policy
		o.Committer = c
		l, err := Open(filepath.Join(dir, "t-"+strconv.Itoa(i)), o)
		if err != nil {
			b.Fatal(err)
		}
		ls[i] = l
	}
	return c, ls, closeAll
}

// writeConcurrently gives each of writers goroutines its own 16 KiB batch of
// rec-byte records, splits b.N calls of write(w, batch) over them and
// reports batches/s. The timer starts here.
func writeConcurrently(b *testing.B, writers, rec int, write func(w int, batch []byte) error) {
	bufs := make([][]byte, writers)
	for w := range bufs {
		bufs[w] = batchOfSize(benchBatchSize, rec, 1)
	}
	b.SetBytes(int64(len(bufs[0])))
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	per := b.N / writers
	for w := 0; w < writers; w++ {
		n := per
		if w == 0 {
			n += b.N % writers
		}
		wg.Add(1)
		go func(w, n int) {
			defer wg.Done()
			for i := 0; i < n; i++ {
				if err := write(w, bufs[w]); err != nil {
					b.Error(err)
					return
				}
			}
		}(w, n)
	}
	wg.Wait()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "batches/s")
}

// BenchmarkRead reads a 256 MiB log sequentially in 1 MiB fetches from the
// page cache.
func BenchmarkRead(b *testing.B) {
	o := DefaultOptions()
	o.Sync = SyncNever
	l, err := Open(b.TempDir(), o)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	batch := batchOfSize(benchBatchSize, 1024, 1)
	for l.Size() < 256<<20 {
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	dst := make([]byte, 0, 2<<20)
	var off int64
	b.ReportAllocs()
	b.SetBytes(1 << 20)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := l.ReadInto(dst[:0], off, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		if len(out) == 0 {
			off = 0
			continue
		}
		h, _ := record.ParseBatchHeader(out[len(out)-len(batch):])
		off = h.LastOffset() + 1
	}
}

// BenchmarkRecover reopens a log holding one big segment after a clean
// stop and after a crash (unclean close). 64 MiB by default, 1 GiB with
// EDDY_LONG=1. "crash-noindex" also deletes the index files, forcing a scan
// of the whole segment.
func BenchmarkRecover(b *testing.B) {
	size := int64(64 << 20)
	if os.Getenv("EDDY_LONG") == "1" {
		size = 1 << 30
	}
	dir := b.TempDir()
	o := DefaultOptions()
	o.Sync = SyncNever
	o.SegmentBytes = 2 << 30 >> 1 // 1 GiB
	l, err := Open(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	batch := batchOfSize(benchBatchSize, 1024, 1)
	for l.Size() < size {
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"clean", "crash", "crash-noindex"} {
		b.Run(fmt.Sprintf("%s/%dMiB", mode, size>>20), func(b *testing.B) {
			b.SetBytes(size)
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if mode != "clean" {
					// Leave the directory as a crash would: no marker.
					os.Remove(filepath.Join(dir, cleanMarkerName))
				}
				if mode == "crash-noindex" {
					os.Remove(filepath.Join(dir, segmentName(0, idxSuffix)))
					os.Remove(filepath.Join(dir, segmentName(0, tidxSuffix)))
				}
				b.StartTimer()
				l, err := Open(dir, o)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if l.Size() != size && l.Size() < size {
					b.Fatalf("recovered %d bytes, want %d", l.Size(), size)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkAppendFsyncEach is the baseline group commit is measured
// against: every appender fsyncs the segment itself after its write, with
// no sharing (what "one fsync per append" costs on this disk). The log is
// a SyncAlways one, so its segment is laid out as under group commit
// (zero-filled ahead), but its commit rounds are not used.
func BenchmarkAppendFsyncEach(b *testing.B) {
	for _, writers := range []int{1, 16} {
		b.Run(fmt.Sprintf("rec=1024/logs=1/writers=%d", writers), func(b *testing.B) {
			o := DefaultOptions()
			l, err := Open(b.TempDir(), o)
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			// The appenders fsync themselves: keep the log's safety-net
			// fsync from also running (its big rounds would switch the
			// segment from zero-filling to block reservation).
			l.mu.Lock()
			l.mu.lazyArmed = true
			l.mu.Unlock()
			writeConcurrently(b, writers, 1024, func(_ int, batch []byte) error {
				if _, _, err := l.Write(batch); err != nil {
					return err
				}
				l.mu.RLock()
				f := l.activeLocked().f
				l.mu.RUnlock()
				return f.Sync()
			})
		})
	}
}

// BenchmarkAppendAcrossLogs isolates how a commit round flushes many logs
// at once: 16 appenders, one per log, under SyncAlways, with rounds that
// use one volume sync (syncfs) and with rounds that fsync each log in
// parallel (MaxVolumeDirty -1). appends/fsync counts appends per flush call.
func BenchmarkAppendAcrossLogs(b *testing.B) {
	for _, mode := range []struct {
		name     string
		maxDirty int64
	}{{"volume-sync", 0}, {"fsync-per-log", -1}} {
		b.Run(mode.name+"/rec=1024/logs=16/writers=16", func(b *testing.B) {
			c, ls, closeAll := openBenchLogs(b, CommitterOptions{MaxVolumeDirty: mode.maxDirty}, SyncAlways, 16)
			defer closeAll()
			writeConcurrently(b, 16, 1024, func(w int, batch []byte) error {
				_, err := ls[w].Append(batch)
				return err
			})
			var m dto.Metric
			if err := c.metrics.roundLogs.Write(&m); err == nil && m.GetHistogram().GetSampleCount() > 0 {
				h := m.GetHistogram()
				b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "logs/round")
			}
		})
	}
}

// BenchmarkReopenSegments reopens a log of many full segments after a clean
// stop and after a crash: 10 × 1 GiB with EDDY_LONG=1 (the 10 GiB
// target), 8 × 16 MiB by default.
func BenchmarkReopenSegments(b *testing.B) {
	segs, segSize := int64(8), int64(16<<20)
	if os.Getenv("EDDY_LONG") == "1" {
		segs, segSize = 10, 1<<30
	}
	dir := b.TempDir()
	o := DefaultOptions()
	o.Sync = SyncNever
	o.SegmentBytes = segSize
	l, err := Open(dir, o)
	if err != nil {
		b.Fatal(err)
	}
	batch := batchOfSize(benchBatchSize, 1024, 1)
	for l.Size() < segs*segSize-int64(len(batch)) {
		if _, err := l.Append(batch); err != nil {
			b.Fatal(err)
		}
	}
	total := l.Size()
	if err := l.Close(); err != nil {
		b.Fatal(err)
	}
	for _, mode := range []string{"clean", "crash"} {
		b.Run(fmt.Sprintf("%s/%dx%dMiB", mode, segs, segSize>>20), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if mode == "crash" {
					os.Remove(filepath.Join(dir, cleanMarkerName))
				}
				b.StartTimer()
				l, err := Open(dir, o)
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if l.Size() != total {
					b.Fatalf("reopened %d bytes, want %d", l.Size(), total)
				}
				if err := l.Close(); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
