package eventstore

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// TestCatchUpInChunks: a catch-up of more entries than one transaction
// takes (catchUpTxStreams) indexes every record, checkpoints at the log
// end, and survives a reopen.
func TestCatchUpInChunks(t *testing.T) {
	dir := t.TempDir()
	br := openDiskBroker(t, dir)
	if _, err := br.CreateTopic("late", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		t.Fatal(err)
	}
	// Written before any store looks: the store indexes them on Open.
	const streams, perStream = 1500, 2
	n := 0
	for round := 0; round < perStream; round++ {
		bb := newBatchBuilder(time.Now().UnixMilli())
		for k := 0; k < streams; k++ {
			bb.add(bb.ts, []byte("s-"+strconv.Itoa(k)), []byte(`{}`), nil)
			n++
		}
		if _, err := br.Append("late", 0, bb.finish()); err != nil {
			t.Fatal(err)
		}
	}
	if n <= 2*catchUpTxStreams {
		t.Fatalf("%d records do not need several transactions", n)
	}
	idx := filepath.Join(dir, "streams.idx")
	for open := 0; open < 2; open++ {
		es, err := recoverStore(br, Config{Path: idx})
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []int{0, 1, streams / 2, streams - 1} {
			page, err := es.Read(context.Background(), "late", "s-"+strconv.Itoa(k), ReadOptions{From: -1})
			if err != nil || len(page.Events) != perStream || page.Version != perStream-1 {
				t.Fatalf("open %d: s-%d: %+v, %v", open, k, page, err)
			}
			for v, ev := range page.Events {
				if ev.Version != int64(v) || ev.Offset != int64(v*streams+k) {
					t.Fatalf("open %d: s-%d event %d: %+v", open, k, v, ev)
				}
			}
		}
		pi := es.partIndex("late", 0)
		if pi == nil || pi.flushed != int64(n) || len(pi.pending) != 0 {
			t.Fatalf("open %d: checkpoint %d, %d pending; want %d, 0", open, pi.flushed, len(pi.pending), n)
		}
		if err := es.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestFlushInSubTransactions: a flush of more distinct streams than one
// transaction takes (flushTxStreams), over two partitions, writes every
// entry in several commits whose checkpoints follow the log, and the
// index reads the same after a reopen; a backlog of many more entries is
// flushed in at most about maxFlushCommits commits (flushTxSize).
func TestFlushInSubTransactions(t *testing.T) {
	dir := t.TempDir()
	idx := filepath.Join(dir, "streams.idx")
	br, es := openDiskStore(t, dir, Config{Path: idx, FlushInterval: time.Hour})
	if _, err := br.CreateTopic("wide", 2, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := es.EnsureTopic("wide"); err != nil {
		t.Fatal(err)
	}
	// Per partition: 300 streams, each appended twice in two interleaved
	// rounds (so a cut falls between a stream's two events), plus one
	// stream with many events (cheap: it is one stream); 1,600 entries in
	// all, within one flush's maxFlushCommits×flushTxStreams.
	const streams, hot = 300, 100
	want := map[int32]int{}
	for p := int32(0); p < 2; p++ {
		for round := 0; round < 2; round++ {
			bb := newBatchBuilder(time.Now().UnixMilli())
			for k := 0; k < streams; k++ {
				bb.add(bb.ts, []byte(homeKey("s-"+strconv.Itoa(k), p, 2)), []byte(`{}`), nil)
				want[p]++
			}
			for k := 0; k < hot; k++ {
				bb.add(bb.ts, []byte(homeKey("hot", p, 2)), []byte(`{}`), nil)
				want[p]++
			}
			if _, err := br.Append("wide", p, bb.finish()); err != nil {
				t.Fatal(err)
			}
		}
	}
	txid := func() (id int) {
		_ = es.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil })
		return id
	}
	before := txid()
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	// 2 × (300 + 1) distinct streams: at least ⌈602/256⌉ = 3 commits.
	if commits := txid() - before; commits < 3 {
		t.Fatalf("flush made %d commits, want >= 3", commits)
	}
	for p := int32(0); p < 2; p++ {
		pi := es.partIndex("wide", p)
		if pi.flushed != int64(want[p]) || len(pi.pending) != 0 {
			t.Fatalf("partition %d: checkpoint %d, %d pending; want %d, 0", p, pi.flushed, len(pi.pending), want[p])
		}
	}
	check := func(es *Store) {
		t.Helper()
		for p := int32(0); p < 2; p++ {
			for _, k := range []int{0, flushTxStreams - 1, flushTxStreams, streams - 1} {
				name := homeKey("s-"+strconv.Itoa(k), p, 2)
				page, err := es.Read(context.Background(), "wide", name, ReadOptions{From: -1})
				if err != nil || len(page.Events) != 2 || page.Version != 1 || page.Events[0].Partition != p {
					t.Fatalf("%s: %+v, %v", name, page, err)
				}
				half := streams + hot
				for v, ev := range page.Events {
					if ev.Version != int64(v) || ev.Offset != int64(v*half+k) {
						t.Fatalf("%s event %d: %+v", name, v, ev)
					}
				}
			}
			if v, err := es.Head("wide", homeKey("hot", p, 2)); err != nil || v != 2*hot-1 {
				t.Fatalf("head of hot in partition %d: %d, %v", p, v, err)
			}
		}
	}
	check(es)
	// A backlog: 20×flushTxStreams new streams in one partition.
	bb := newBatchBuilder(time.Now().UnixMilli())
	for k := 0; k < 20*flushTxStreams; k++ {
		bb.add(bb.ts, []byte(homeKey("bulk-"+strconv.Itoa(k), 1, 2)), []byte(`{}`), nil)
	}
	if _, err := br.Append("wide", 1, bb.finish()); err != nil {
		t.Fatal(err)
	}
	before = txid()
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	if commits := txid() - before; commits > maxFlushCommits+1 {
		t.Fatalf("flush of a backlog of %d streams made %d commits, want <= %d", 20*flushTxStreams, commits, maxFlushCommits+1)
	}
	pi := es.partIndex("wide", 1)
	if len(pi.pending) != 0 {
		t.Fatalf("%d entries left pending", len(pi.pending))
	}
	pi.mu.Lock()
	clear(pi.heads)
	v, err := pi.headLocked([]byte(homeKey("bulk-"+strconv.Itoa(20*flushTxStreams-1), 1, 2)))
	pi.mu.Unlock()
	if err != nil || v != 1 {
		t.Fatalf("next version of the last bulk stream from the file: %d, %v; want 1", v, err)
	}
	if err := es.Close(); err != nil {
		t.Fatal(err)
	}
	es, err = recoverStore(br, Config{Path: idx})
	if err != nil {
		t.Fatal(err)
	}
	defer es.Close()
	check(es)
}

// TestHeadFromEvents: with the heads cache empty, a stream's head comes
// from its last run in the file, for streams whose keys neighbour each
// other (one name a prefix of another, the first and the last key of the
// bucket, names between two streams and beyond the last), and after a
// roll-back that shortened one run and removed others.
func TestHeadFromEvents(t *testing.T) {
	dir := t.TempDir()
	br, es := openDiskStore(t, dir, Config{Path: filepath.Join(dir, "streams.idx"), FlushInterval: time.Hour})
	defer es.Close()
	if _, err := br.CreateTopic("h", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := es.EnsureTopic("h"); err != nil {
		t.Fatal(err)
	}
	// Offsets: a a a | ab ab | b | a a (two runs of a: 0-2 and 6-7).
	for _, keys := range [][]string{{"a", "a", "a"}, {"ab", "ab"}, {"b"}, {"a", "a"}} {
		bb := newBatchBuilder(time.Now().UnixMilli())
		for _, k := range keys {
			bb.add(bb.ts, []byte(k), []byte(`{}`), nil)
		}
		if _, err := br.Append("h", 0, bb.finish()); err != nil {
			t.Fatal(err)
		}
	}
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	pi := es.partIndex("h", 0)
	check := func(want map[string]int64) {
		t.Helper()
		pi.mu.Lock()
		defer pi.mu.Unlock()
		for stream, n := range want {
			clear(pi.heads)
			if got, err := pi.headLocked([]byte(stream)); err != nil || got != n {
				t.Errorf("head of %q from the file: %d, %v; want %d", stream, got, err, n)
			}
		}
	}
	check(map[string]int64{"a": 5, "ab": 2, "b": 1, "": 0, "0": 0, "aa": 0, "abc": 0, "ba": 0, "c": 0, "zz": 0})
	// Roll back to offset 7: a's second run is cut to one event.
	if _, err := es.rollBack(pi.bucket, 7); err != nil {
		t.Fatal(err)
	}
	check(map[string]int64{"a": 4, "ab": 2, "b": 1})
	// To offset 4: a's second run, b and ab's second event go.
	if _, err := es.rollBack(pi.bucket, 4); err != nil {
		t.Fatal(err)
	}
	check(map[string]int64{"a": 3, "ab": 1, "b": 0})
}

// homeKey returns name, or name with a numbered suffix, whichever first
// lives in partition p of n (Partition): a keyed record is accepted only
// in its stream's partition.
func homeKey(name string, p, n int32) string {
	for i := 0; ; i++ {
		k := name
		if i > 0 {
			k = name + "~" + strconv.Itoa(i)
		}
		if Partition([]byte(k), n) == p {
			return k
		}
	}
}
