package commitlog

import (
	"bytes"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
	"github.com/prometheus/client_golang/prometheus"
)

func TestParseSyncPolicy(t *testing.T) {
	for _, p := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
		got, err := ParseSyncPolicy(p.String())
		if err != nil || got != p {
			t.Fatalf("round trip %v: %v %v", p, got, err)
		}
	}
	if _, err := ParseSyncPolicy("sometimes"); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("bad policy: %v", err)
	}
}

func TestOptionsValidate(t *testing.T) {
	if err := DefaultOptions().Validate(); err != nil {
		t.Fatalf("defaults invalid: %v", err)
	}
	o := DefaultOptions()
	o.SegmentBytes = 1 << 40
	o.RetentionBytes = -5
	o.Sync = SyncInterval
	o.SyncInterval = 0
	err := o.Validate()
	if !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("want invalid options, got %v", err)
	}
	for _, want := range []string{"segment bytes", "retention bytes", "sync interval"} {
		if !bytes.Contains([]byte(err.Error()), []byte(want)) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if _, err := Open(t.TempDir(), o); !errors.Is(err, ErrInvalidOptions) {
		t.Fatalf("open with bad options: %v", err)
	}
}

// TestIntervalFlusher checks that SyncInterval makes data durable without
// any explicit sync, and that the high watermark is the log end.
func TestIntervalFlusher(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncInterval)
	o.SyncInterval = 5 * time.Millisecond
	l := openT(t, crashDir, o)
	defer l.Close()
	b := makeBatch(3, 50, 1, 1)
	if _, err := l.Append(b); err != nil {
		t.Fatal(err)
	}
	if l.HighWatermark() != 3 {
		t.Fatalf("hw %d, want 3 (log end) under interval", l.HighWatermark())
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := Open(crashDir, o.withFS(fs.CrashClone()))
		if err != nil {
			t.Fatal(err)
		}
		n := c.LogEndOffset()
		c.Close()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("interval flusher never made the batch durable")
		}
		time.Sleep(time.Millisecond)
	}
}

// TestReconfigureToAlways checks the high watermark never moves back when
// the policy changes, and that the new policy applies.
func TestReconfigureToAlways(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncNever)
	l := openT(t, crashDir, o)
	defer l.Close()
	l.Append(makeBatch(2, 10, 1, 1))
	o.Sync = SyncAlways
	if err := l.Reconfigure(o); err != nil {
		t.Fatal(err)
	}
	if l.HighWatermark() != 2 {
		t.Fatalf("hw %d after switching to always, want 2", l.HighWatermark())
	}
	l.Append(makeBatch(1, 10, 1, 1))
	c := openCrashed(t, fs, crashDir, o)
	if c.LogEndOffset() != 3 {
		t.Fatalf("after crash leo %d, want 3 (always acks after fsync)", c.LogEndOffset())
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := NewCommitter(CommitterOptions{Registerer: reg})
	defer c.Close()
	o := DefaultOptions()
	o.Committer = c
	l := openT(t, t.TempDir(), o)
	for i := 0; i < 3; i++ {
		l.Append(makeBatch(1, 10, 1, 1))
	}
	l.Close()
	// A second private committer on the same registry reuses the collectors.
	o2 := DefaultOptions()
	o2.Registerer = reg
	l2 := openT(t, t.TempDir(), o2)
	l2.Append(makeBatch(1, 10, 1, 1))
	l2.Close()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if h := m.GetHistogram(); h != nil {
				counts[mf.GetName()] = h.GetSampleCount()
			}
		}
	}
	if counts["eddy_log_fsync_duration_seconds"] < 4 || counts["eddy_log_group_commit_appends"] < 4 {
		t.Fatalf("metrics not recorded: %v", counts)
	}
}

// TestConcurrentReadersWriters runs appends, reads, retention and
// OffsetForTime at once (meant for -race).
func TestConcurrentReadersWriters(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		o.SegmentBytes = 4000
		o.IndexIntervalBytes = 200
		o.RetentionBytes = 20000
		l := openT(t, dir, o)
		defer l.Close()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := 0; i < 150; i++ {
					if _, err := l.Append(makeBatch(1+i%3, 100, int64(i), byte(w))); err != nil {
						t.Error(err)
						return
					}
				}
			}(w)
		}
		var rwg sync.WaitGroup
		for r := 0; r < 2; r++ {
			rwg.Add(1)
			go func() {
				defer rwg.Done()
				var dst []byte
				for {
					select {
					case <-stop:
						return
					default:
					}
					start, hw := l.LogStartOffset(), l.HighWatermark()
					for off := start; off < hw; {
						var err error
						dst, err = l.ReadInto(dst[:0], off, 3000)
						if errors.Is(err, ErrOffsetOutOfRange) {
							break // retention moved the start
						}
						if err != nil {
							t.Error(err)
							return
						}
						hs, err := record.ValidateBatches(dst)
						if err != nil {
							t.Errorf("read returned invalid batches: %v", err)
							return
						}
						off = hs[len(hs)-1].LastOffset() + 1
					}
					l.OffsetForTime(50)
					l.MaxTimestamp()
					if _, err := l.EnforceRetention(); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		wg.Wait()
		close(stop)
		rwg.Wait()
		if err := l.Check(); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDeleteAndCloseUnderLoad(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		for _, del := range []bool{false, true} {
			o.SegmentBytes = 5000
			l := openT(t, dir, o)
			var wg sync.WaitGroup
			for w := 0; w < 4; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						_, err := l.Append(makeBatch(1, 100, 1, 1))
						if errors.Is(err, ErrClosed) {
							return
						}
						if err != nil {
							t.Errorf("append: %v", err)
							return
						}
					}
				}()
			}
			for l.LogEndOffset() < 50 {
				time.Sleep(time.Millisecond)
			}
			var err error
			if del {
				err = l.Delete()
			} else {
				err = l.Close()
			}
			if err != nil {
				t.Fatalf("delete=%v: %v", del, err)
			}
			wg.Wait()
			if _, err := l.Read(0, 1); !errors.Is(err, ErrClosed) {
				t.Fatalf("read after close: %v", err)
			}
			if err := l.Close(); !errors.Is(err, ErrClosed) {
				t.Fatalf("second close: %v", err)
			}
			l2 := openT(t, dir, o)
			if del && l2.LogEndOffset() != 0 {
				t.Fatalf("after delete leo %d, want an empty log", l2.LogEndOffset())
			}
			if !del && l2.LogEndOffset() < 50 {
				t.Fatalf("after close leo %d", l2.LogEndOffset())
			}
			if err := l2.Check(); err != nil {
				t.Fatal(err)
			}
			l2.Close()
		}
	})
}

// TestUnwaitedWritesBecomeVisible checks the safety net: under SyncAlways
// bytes that nobody waits for are still fsynced and exposed soon.
func TestUnwaitedWritesBecomeVisible(t *testing.T) {
	fs := vfs.NewMem()
	l := openT(t, crashDir, memOpts(fs, SyncAlways))
	defer l.Close()
	if _, _, err := l.Write(makeBatch(2, 10, 1, 1)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for l.HighWatermark() != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("high watermark stuck at %d without a waiter", l.HighWatermark())
		}
		time.Sleep(time.Millisecond)
	}
	if c := openCrashed(t, fs, crashDir, memOpts(fs, SyncAlways)); c.LogEndOffset() != 2 {
		t.Fatalf("not durable: leo %d after crash", c.LogEndOffset())
	}
}
