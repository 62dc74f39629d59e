package commitlog

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
	dto "github.com/prometheus/client_model/go"
)

// TestLazySyncAddsNoFsyncToWaitedAppends: under SyncAlways the safety-net
// fsync armed by Write must not fsync a log on its own while appenders
// waiting in WaitDurable keep it durable through commit rounds: with
// thousands of busy partitions those per-log fsyncs (one per log every
// lazySyncDelay, outside the rounds) outnumbered the rounds. Here every
// round covers all the logs with one volume sync, so no log is fsynced
// alone.
func TestLazySyncAddsNoFsyncToWaitedAppends(t *testing.T) {
	fs := vfs.NewMem()
	var own atomic.Int64
	fs.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpSync {
			own.Add(1)
		}
		return nil
	})
	c := NewCommitter(CommitterOptions{FS: fs, Dir: "/data"})
	defer c.Close()
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 64 << 20
	o.PreallocateBytes = 0
	o.Committer = c
	logs := make([]*Log, 8)
	for i := range logs {
		logs[i] = openT(t, fmt.Sprintf("/data/lazy-%d", i), o)
	}
	b := makeBatch(2, 100, 1, 1)
	nexts := make([]int64, len(logs))
	own.Store(0)
	for end := time.Now().Add(5 * lazySyncDelay); time.Now().Before(end); {
		// Written bytes wait a little for their round, as a produce
		// request's do while its other partitions are written.
		for i, l := range logs {
			_, next, err := l.Write(b)
			if err != nil {
				t.Fatal(err)
			}
			nexts[i] = next
		}
		time.Sleep(2 * time.Millisecond)
		for i, l := range logs {
			l.QueueSync(nexts[i])
		}
		for i, l := range logs {
			if err := l.WaitDurable(nexts[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	if got := own.Load(); got > 0 {
		t.Fatalf("%d fsyncs of single logs while every write was waited for in rounds over all logs", got)
	}
	for _, l := range logs {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestLazySyncStillCoversUnwaitedWrites: bytes nobody waits for become
// durable (and visible) within two lazySyncDelays, also when the safety net
// fires right after a waited append made its armed offsets durable.
func TestLazySyncStillCoversUnwaitedWrites(t *testing.T) {
	fs := vfs.NewMem()
	l := openT(t, "/data/lazy2", memOpts(fs, SyncAlways))
	defer l.Close()
	if _, err := l.Append(makeBatch(1, 10, 1, 1)); err != nil { // arms the net, durable at once
		t.Fatal(err)
	}
	_, next, err := l.Write(makeBatch(1, 10, 1, 2)) // nobody waits
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2*lazySyncDelay + 500*time.Millisecond)
	for l.HighWatermark() < next {
		if time.Now().After(deadline) {
			t.Fatalf("high watermark %d, want %d: an unwaited write stayed invisible", l.HighWatermark(), next)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestIdleLogHoldsNoTimer: the safety-net timer exists only from a log's
// first unwaited write until it fires with nothing left to cover, so idle
// partitions hold none.
func TestIdleLogHoldsNoTimer(t *testing.T) {
	fs := vfs.NewMem()
	l := openT(t, "/data/idle", memOpts(fs, SyncAlways))
	defer l.Close()
	timer := func() *time.Timer {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.lazy
	}
	if timer() != nil {
		t.Fatal("a log never written holds a timer")
	}
	_, next, err := l.Write(makeBatch(1, 10, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	if timer() == nil {
		t.Fatal("an unwaited write armed no timer")
	}
	deadline := time.Now().Add(4*lazySyncDelay + time.Second)
	for l.HighWatermark() < next || timer() != nil {
		if time.Now().After(deadline) {
			t.Fatalf("high watermark %d (want %d), timer %v: the idle log kept its timer", l.HighWatermark(), next, timer() != nil)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Written again: the net is armed again and still covers the write.
	_, next, err = l.Write(makeBatch(1, 10, 1, 2))
	if err != nil {
		t.Fatal(err)
	}
	for l.HighWatermark() < next {
		if time.Now().After(deadline.Add(time.Second)) {
			t.Fatalf("high watermark %d, want %d after the timer was dropped", l.HighWatermark(), next)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestNoZeroFillInSharedRounds: logs whose fsyncs are part of commit rounds
// over several logs reserve blocks instead of zero-filling ahead (a round's
// shared sync gains nothing from zeros, which cost a second write of every
// byte and an fdatasync per fill), while a log fsynced alone still
// zero-fills.
func TestNoZeroFillInSharedRounds(t *testing.T) {
	fs := vfs.NewMem()
	c := NewCommitter(CommitterOptions{})
	defer c.Close()
	o := zeroOpts(fs)
	o.Committer = c
	filled := func() float64 {
		var m dto.Metric
		if err := c.metrics.zeroFilled.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	a, b := openT(t, "/data/a", o), openT(t, "/data/b", o)
	small := makeBatch(4, 100, 1, 1)
	for i := 0; i < 50; i++ {
		_, na, err := a.Write(small)
		if err != nil {
			t.Fatal(err)
		}
		_, nb, err := b.Write(small)
		if err != nil {
			t.Fatal(err)
		}
		a.QueueSync(na)
		b.QueueSync(nb) // one round flushes both
		if err := a.WaitDurable(na); err != nil {
			t.Fatal(err)
		}
		if err := b.WaitDurable(nb); err != nil {
			t.Fatal(err)
		}
	}
	activeFill(a)
	activeFill(b)
	if got := filled(); got != 0 {
		t.Fatalf("zero-filled %.0f bytes for logs whose every fsync was shared", got)
	}
	big := makeBatch(4, 4000, 1, 1) // past the blocks reserved while shared
	for i := 0; i < 20; i++ {
		if _, err := a.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	activeFill(a)
	if filled() == 0 {
		t.Fatal("a log fsynced alone does not zero-fill ahead")
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
}
