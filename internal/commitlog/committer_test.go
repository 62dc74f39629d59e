package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
	dto "github.com/prometheus/client_model/go"
)

// syncCounter counts the flushes a MemFS sees and makes each one slow, so
// that appenders pile up behind a running commit round.
type syncCounter struct {
	file, volume atomic.Int64
	delay        time.Duration
}

func (c *syncCounter) fault(op vfs.Op, path string) error {
	switch op {
	case vfs.OpSync:
		c.file.Add(1)
	case vfs.OpSyncVolume:
		c.volume.Add(1)
	default:
		return nil
	}
	time.Sleep(c.delay)
	return nil
}

// appendAcross has one goroutine per log append per batches to its own
// log, concurrently, and returns the acknowledged base offsets per log.
func appendAcross(t *testing.T, ls []*Log, per int) [][]int64 {
	t.Helper()
	bases := make([][]int64, len(ls))
	var wg sync.WaitGroup
	for i, l := range ls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < per; j++ {
				base, err := l.Append(makeBatch(1, 50, int64(j), byte(i)))
				if err != nil {
					t.Errorf("log %d append %d: %v", i, j, err)
					return
				}
				bases[i] = append(bases[i], base)
			}
		}()
	}
	wg.Wait()
	return bases
}

func openLogs(t *testing.T, fs vfs.FS, c *Committer, n int) []*Log {
	t.Helper()
	ls := make([]*Log, n)
	for i := range ls {
		o := memOpts(fs, SyncAlways)
		o.SegmentBytes = 1 << 20
		o.Committer = c
		ls[i] = openT(t, fmt.Sprintf("/data/t-%d", i), o)
		t.Cleanup(func() { ls[i].Close() })
	}
	return ls
}

// TestCommitRoundSharesFlushAcrossLogs: appenders on different logs of one
// data directory share flushes. With 8 logs, one appender each and a slow
// disk, each round covers the logs that queued while the previous one ran,
// so there are far fewer flushes than appends, and they are volume syncs.
func TestCommitRoundSharesFlushAcrossLogs(t *testing.T) {
	for _, mode := range []struct {
		name     string
		maxDirty int64
	}{{"volume-sync", 0}, {"fsync-per-log", -1}} {
		t.Run(mode.name, func(t *testing.T) {
			fs := vfs.NewMem()
			cnt := &syncCounter{delay: 2 * time.Millisecond}
			c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data", MaxVolumeDirty: mode.maxDirty})
			defer c.Close()
			const logs, per = 8, 20
			ls := openLogs(t, fs, c, logs)
			fs.SetFault(cnt.fault)
			appendAcross(t, ls, per)
			fs.SetFault(nil)

			var rounds dto.Metric
			if err := c.metrics.roundLogs.Write(&rounds); err != nil {
				t.Fatal(err)
			}
			h := rounds.GetHistogram()
			perRound := h.GetSampleSum() / float64(h.GetSampleCount())
			t.Logf("%d appends: %d file syncs, %d volume syncs, %.1f logs per round",
				logs*per, cnt.file.Load(), cnt.volume.Load(), perRound)
			if mode.maxDirty < 0 {
				if cnt.volume.Load() != 0 {
					t.Fatalf("volume syncs disabled but %d ran", cnt.volume.Load())
				}
				return
			}
			if flushes := cnt.file.Load() + cnt.volume.Load(); flushes > logs*per/3 {
				t.Fatalf("%d flushes for %d appends over %d logs: rounds do not share them", flushes, logs*per, logs)
			}
			if cnt.volume.Load() == 0 || perRound < 2 {
				t.Fatalf("volume syncs %d, %.1f logs per round; want rounds covering several logs", cnt.volume.Load(), perRound)
			}
		})
	}
}

// TestVolumeSyncFailureFailsEveryLogOfTheRound: a failed volume sync cannot
// be attributed to one file, so every appender of the round gets the error,
// every log drops its unsynced tail, and all of them work again afterwards
// with nothing acknowledged lost, across a power cut.
func TestVolumeSyncFailureFailsEveryLogOfTheRound(t *testing.T) {
	fs := vfs.NewMem()
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
	defer c.Close()
	const logs = 4
	ls := openLogs(t, fs, c, logs)
	acked := appendAcross(t, ls, 3)

	// Hold the next round until every log has written, so one volume sync
	// covers all of them, then fail it.
	var written sync.WaitGroup
	written.Add(logs)
	release := make(chan struct{})
	fs.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync || op == vfs.OpSyncVolume {
			<-release
		}
		if op == vfs.OpSyncVolume {
			return syscall.EIO
		}
		return nil
	})
	errs := make([]error, logs)
	var done sync.WaitGroup
	for i, l := range ls {
		done.Add(1)
		go func() {
			defer done.Done()
			_, next, err := l.Write(makeBatch(1, 50, 9, 0xee))
			written.Done()
			if err == nil {
				err = l.WaitDurable(next)
			}
			errs[i] = err
		}()
	}
	written.Wait()
	close(release)
	done.Wait()
	fs.SetFault(nil)
	failed := 0
	for i, err := range errs {
		if err != nil {
			failed++
			if !errors.Is(err, syscall.EIO) {
				t.Errorf("log %d: error %v, want EIO", i, err)
			}
		}
	}
	if failed < 2 {
		t.Fatalf("%d of %d appends failed; the failed volume sync covered several logs", failed, logs)
	}
	// Every log recovers: the next append succeeds and the failed batch is
	// gone (or, for a log whose round succeeded, present).
	for i, l := range ls {
		base, err := l.Append(makeBatch(1, 50, 10, byte(i)))
		if err != nil {
			t.Fatalf("log %d after failure: %v", i, err)
		}
		acked[i] = append(acked[i], base)
	}
	crashed := fs.CrashClone()
	for i := range ls {
		l := openT(t, fmt.Sprintf("/data/t-%d", i), memOpts(crashed, SyncAlways))
		for j, base := range acked[i] {
			got, err := l.Read(base, 1)
			if err != nil || len(got) == 0 {
				t.Fatalf("log %d ack %d (offset %d) lost after failed volume sync and power cut: %v", i, j, base, err)
			}
			if errs[i] != nil && bytes.Contains(got, bytes.Repeat([]byte{0xee}, 50)) {
				t.Fatalf("log %d: the batch whose append failed is present", i)
			}
		}
		l.Close()
	}
}

// TestQueueSyncFlushesSeveralLogsInOneRound: one writer that appended to
// several logs (a produce request spanning partitions) queues them all,
// then waits on each: a single round, one volume sync, covers all.
func TestQueueSyncFlushesSeveralLogsInOneRound(t *testing.T) {
	fs := vfs.NewMem()
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
	defer c.Close()
	const logs = 6
	ls := openLogs(t, fs, c, logs)
	cnt := &syncCounter{}
	fs.SetFault(cnt.fault)
	defer fs.SetFault(nil)
	for _, queueFirst := range []bool{true, false} {
		cnt.file.Store(0)
		cnt.volume.Store(0)
		nexts := make([]int64, logs)
		for i, l := range ls {
			_, next, err := l.Write(makeBatch(1, 50, 1, byte(i)))
			if err != nil {
				t.Fatal(err)
			}
			nexts[i] = next
		}
		if queueFirst {
			for i, l := range ls {
				l.QueueSync(nexts[i])
			}
		}
		for i, l := range ls {
			if err := l.WaitDurable(nexts[i]); err != nil {
				t.Fatal(err)
			}
			if l.HighWatermark() != nexts[i] {
				t.Fatalf("log %d: high watermark %d, want %d", i, l.HighWatermark(), nexts[i])
			}
		}
		flushes := cnt.file.Load() + cnt.volume.Load()
		switch {
		case queueFirst && (flushes != 1 || cnt.volume.Load() != 1):
			t.Fatalf("queued first: %d file syncs and %d volume syncs, want one volume sync", cnt.file.Load(), cnt.volume.Load())
		case !queueFirst && flushes != logs:
			t.Fatalf("waiting one by one: %d flushes, want %d (the control)", flushes, logs)
		}
	}
}

// TestWaitJoinsTheRunningRoundThatTookTheLog: bytes written before the
// running round took their log are made durable by that round, so their
// writer waits for it instead of leading another (a pipelined produce
// request whose partitions the round took while its connection's earlier
// request waited).
func TestWaitJoinsTheRunningRoundThatTookTheLog(t *testing.T) {
	fs := vfs.NewMem()
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
	defer c.Close()
	l := openLogs(t, fs, c, 1)[0]
	_, nextA, err := l.Write(makeBatch(1, 50, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	_, nextB, err := l.Write(makeBatch(1, 50, 2, 2))
	if err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{}, 1)
	release := make(chan struct{})
	fs.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
		}
		return nil
	})
	defer fs.SetFault(nil)
	errs := make(chan error, 2)
	go func() { errs <- l.WaitDurable(nextA) }()
	<-entered // round 1 took the log (with both writes) and is in its fsync
	go func() { errs <- l.WaitDurable(nextB) }()
	time.Sleep(100 * time.Millisecond) // the second waiter arrives during round 1
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	rounds := c.started
	c.mu.Unlock()
	if rounds != 1 {
		t.Fatalf("%d commit rounds, want 1: the round that took the log covered both writes", rounds)
	}
}
