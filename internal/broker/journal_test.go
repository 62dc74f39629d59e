package broker_test

import (
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestJournalPowerLossManyPartitions: produce rounds over 80 partitions go
// through the commit journal, so the partitions' own files are not synced;
// after a power cut the broker's start replays the journal and every
// acknowledged batch of every partition is there.
func TestJournalPowerLossManyPartitions(t *testing.T) {
	dir := t.TempDir()
	mem := vfs.NewMem()
	withJournal := func(fs vfs.FS) func(*broker.Config) {
		return func(c *broker.Config) { c.FS, c.CommitJournalBytes = fs, 4<<20 }
	}
	e := open(t, dir, withJournal(mem))
	const parts, rounds, perBatch = 80, 3, 2
	if _, err := e.b.CreateTopic("orders", parts, nil, false); err != nil {
		t.Fatal(err)
	}
	var volumeSyncs atomic.Int64
	mem.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpSyncVolume {
			volumeSyncs.Add(1)
		}
		return nil
	})
	for r := range rounds {
		ws := make([]*broker.WriteResult, parts)
		for p := range ws {
			w, err := e.b.Write("orders", int32(p), batch(int64(1000+r), perBatch, fmt.Sprintf("v%d-%d", r, p)), broker.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ws[p] = w
		}
		for _, w := range ws {
			w.QueueSync()
		}
		for _, w := range ws {
			if err := w.Wait(); err != nil {
				t.Fatal(err)
			}
		}
	}
	mem.SetFault(nil)
	if n := volumeSyncs.Load(); n != 0 {
		t.Fatalf("%d volume syncs: the rounds did not go through the journal", n)
	}
	crashed := mem.CrashClone()
	// The partitions' files alone lost the acknowledged batches.
	if st, err := crashed.Stat(filepath.Join(dir, "orders-0", "00000000000000000000.log")); err == nil && st.Size() > 0 {
		t.Fatalf("orders-0 holds %d bytes after the power cut without a replay: the test does not need the journal", st.Size())
	}
	e.close()
	e = open(t, dir, withJournal(crashed))
	for p := range int32(parts) {
		res, err := e.b.Fetch("orders", p, 0, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if res.HighWatermark != rounds*perBatch {
			t.Fatalf("partition %d: high watermark %d after the power cut, want the %d acknowledged records", p, res.HighWatermark, rounds*perBatch)
		}
	}
}
