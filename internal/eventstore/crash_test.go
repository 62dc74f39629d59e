package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// node is a broker on a MemFS plus an event store, without the Kafka
// listener: the crash tests drive appends directly.
type node struct {
	fs   *vfs.MemFS
	meta *meta.Store
	b    *broker.Broker
	es   *Store
}

func openNode(t *testing.T, fs *vfs.MemFS, metaPath, idxPath string) *node {
	t.Helper()
	m, err := meta.Open(metaPath)
	if err != nil {
		t.Fatal(err)
	}
	es, err := Open(Config{Path: idxPath, FlushInterval: 2 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.FS, bc.Hooks = "/data", m, fs, []broker.AppendHook{es}
	b, err := broker.Open(bc)
	if err != nil {
		t.Fatal(err)
	}
	if err := es.Recover(b); err != nil {
		t.Fatal(err)
	}
	return &node{fs: fs, meta: m, b: b, es: es}
}

func (n *node) close(t *testing.T) {
	t.Helper()
	if err := n.es.Close(); err != nil {
		t.Errorf("close store: %v", err)
	}
	if err := n.b.Close(); err != nil {
		t.Errorf("close broker: %v", err)
	}
	if err := n.meta.Close(); err != nil {
		t.Errorf("close meta: %v", err)
	}
}

// snapshotIndex copies the index as a power cut would leave it: bbolt's
// last committed transaction.
func (s *Store) snapshotIndex(path string) error {
	return s.db.View(func(tx *bolt.Tx) error { return tx.CopyFile(path, 0o644) })
}

type ack struct {
	stream string
	first  int64
	ids    []string
}

// checkAgainstLog proves the index agrees with the log: for every record
// of every partition, scanned from the log, the stream read through the
// index has the same offsets in the same order, versions count from 0
// without gaps, and the stored eddy-stream-version headers (written by
// Append) equal the index versions.
func checkAgainstLog(t *testing.T, n *node, topic string) map[string][]int64 {
	return checkAgainstLogSkew(t, n, topic, false)
}

// checkAgainstLogSkew is checkAgainstLog; with allowHeaderSkew the stored
// eddy-stream-version headers may disagree with the index (an append
// checked before a log cut).
func checkAgainstLogSkew(t *testing.T, n *node, topic string, allowHeaderSkew bool) map[string][]int64 {
	t.Helper()
	info, err := n.b.Topic(topic)
	if err != nil {
		t.Fatal(err)
	}
	fromLog := map[string][]int64{}
	hdrVersion := map[[2]int64]string{}
	for p := int32(0); p < info.Partitions; p++ {
		err := n.b.ScanBatches(topic, p, 0, func(h record.BatchHeader, batch []byte) error {
			return forEachRecord(h, batch, func(r *Record) error {
				fromLog[string(r.Key)] = append(fromLog[string(r.Key)], r.Offset)
				if v, ok := r.Header(HeaderStreamVersion); ok {
					hdrVersion[[2]int64{int64(p), r.Offset}] = string(v)
				}
				return nil
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	for stream, offs := range fromLog {
		page, err := n.es.Read(ctx, topic, stream, ReadOptions{Limit: MaxReadLimit})
		if err != nil {
			t.Fatalf("read %s: %v", stream, err)
		}
		if len(page.Events) != len(offs) || page.Version != int64(len(offs))-1 {
			t.Fatalf("stream %s: index has %d events (version %d), log has %d", stream, len(page.Events), page.Version, len(offs))
		}
		for i, ev := range page.Events {
			if ev.Version != int64(i) || ev.Offset != offs[i] {
				t.Fatalf("stream %s event %d: index version %d offset %d, log offset %d", stream, i, ev.Version, ev.Offset, offs[i])
			}
			if hv, ok := hdrVersion[[2]int64{int64(ev.Partition), ev.Offset}]; ok && hv != strconv.Itoa(i) && !allowHeaderSkew {
				t.Fatalf("stream %s offset %d: header version %q, index version %d", stream, ev.Offset, hv, i)
			}
		}
	}
	return fromLog
}

// TestPowerLoss cuts power during concurrent appends (MemFS.CrashClone
// keeps only synced bytes) and reopens with the index as it was before the
// cut (behind: caught up from the log), after it (ahead of the recovered
// log: rolled back), or lost (rebuilt). Every time the index agrees with
// the log, every acknowledged append is readable, and appends continue at
// the right versions.
func TestPowerLoss(t *testing.T) {
	for _, mode := range []string{"behind", "ahead", "lost"} {
		t.Run(mode, func(t *testing.T) {
			dir := t.TempDir()
			metaPath, idxPath := filepath.Join(dir, "meta.db"), filepath.Join(dir, "streams.idx")
			n := openNode(t, vfs.NewMem(), metaPath, idxPath)
			if _, err := n.b.CreateTopic("orders", 2, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			var (
				mu    sync.Mutex
				acks  []ack
				stop  = make(chan struct{})
				wg    sync.WaitGroup
				early = filepath.Join(dir, "early.idx")
			)
			for w := 0; w < 6; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; ; i++ {
						select {
						case <-stop:
							return
						default:
						}
						stream := "s" + strconv.Itoa((w+i)%9)
						k := 1 + i%3
						var events []EventData
						var ids []string
						for j := 0; j < k; j++ {
							id := fmt.Sprintf("w%d-%d-%d", w, i, j)
							ids = append(ids, id)
							events = append(events, EventData{ID: id, Type: "T"})
						}
						res, err := n.es.Append(ctx, "orders", stream, Any, events)
						if err != nil {
							if errors.Is(err, broker.ErrClosed) || errors.Is(err, ErrClosed) {
								return
							}
							t.Errorf("append: %v", err)
							return
						}
						mu.Lock()
						acks = append(acks, ack{stream, res.FirstVersion, ids})
						mu.Unlock()
					}
				}(w)
			}
			waitAcks := func(k int) {
				for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
					mu.Lock()
					l := len(acks)
					mu.Unlock()
					if l >= k {
						return
					}
				}
				t.Fatalf("no progress to %d acks", k)
			}
			waitAcks(60)
			if err := n.es.snapshotIndex(early); err != nil {
				t.Fatal(err)
			}
			waitAcks(150)
			mu.Lock()
			crashed := n.fs.CrashClone()
			acked := append([]ack(nil), acks...)
			mu.Unlock()
			waitAcks(len(acked) + 60)
			close(stop)
			wg.Wait()
			n.close(t) // flushes the index past the crash point
			switch mode {
			case "behind":
				if err := os.Rename(early, idxPath); err != nil {
					t.Fatal(err)
				}
			case "lost":
				if err := os.Remove(idxPath); err != nil {
					t.Fatal(err)
				}
			}
			n2 := openNode(t, crashed, metaPath, idxPath)
			defer n2.close(t)
			fromLog := checkAgainstLog(t, n2, "orders")
			for _, a := range acked {
				page, err := n2.es.Read(ctx, "orders", a.stream, ReadOptions{From: a.first, Limit: len(a.ids)})
				if err != nil {
					t.Fatal(err)
				}
				for i, id := range a.ids {
					if i >= len(page.Events) || page.Events[i].ID != id {
						t.Fatalf("acknowledged append %+v not readable: %+v", a, page.Events)
					}
				}
			}
			for stream, offs := range fromLog {
				res, err := n2.es.Append(ctx, "orders", stream, ExpectedVersion(len(offs)-1), []EventData{{ID: "after-" + stream, Type: "T"}})
				if err != nil || res.FirstVersion != int64(len(offs)) {
					t.Fatalf("append after recovery to %s: %+v, %v", stream, res, err)
				}
			}
			checkAgainstLog(t, n2, "orders")
		})
	}
}

// TestBatchRejectedWhole: one failing eddy-expected-version header refuses
// every record of the batch.
func TestBatchRejectedWhole(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, vfs.NewMem(), filepath.Join(dir, "meta.db"), filepath.Join(dir, "streams.idx"))
	defer n.close(t)
	if _, err := n.b.CreateTopic("t", 1, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	// The store learns of topics created by other paths asynchronously;
	// until then a conditional record gets a retriable error.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		bb := newBatchBuilder(time.Now().UnixMilli())
		bb.add(bb.ts, []byte("warm"), nil, []Header{{HeaderExpectedVersion, []byte("any")}})
		_, err := n.b.Append("t", 0, bb.finish())
		if err == nil {
			break
		}
		if !errors.Is(err, ErrIndexNotReady) || time.Now().After(deadline) {
			t.Fatalf("conditional append to a new streams topic: %v", err)
		}
	}
	bb := newBatchBuilder(time.Now().UnixMilli())
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("no_stream")}})
	bb.add(bb.ts, []byte("b"), []byte("{}"), nil)
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("0")}})
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("5")}})
	_, err := n.b.Append("t", 0, bb.finish())
	var wev *WrongExpectedVersionError
	if !errors.As(err, &wev) || wev.Stream != "a" || wev.Expected != 5 || wev.Actual != 1 {
		t.Fatalf("append: %v; want stream a expected 5 actual 1", err)
	}
	if _, _, end, _ := n.b.Offsets("t", 0); end != 1 {
		t.Fatalf("log end %d after a refused batch", end)
	}
	bb = newBatchBuilder(time.Now().UnixMilli())
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("no_stream")}})
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("0")}})
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("exists")}})
	bb.add(bb.ts, []byte("b"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("bogus")}})
	if _, err := n.b.Append("t", 0, bb.finish()); !errors.Is(err, ErrInvalidExpectedVersion) {
		t.Fatalf("bogus header: %v", err)
	}
	bb = newBatchBuilder(time.Now().UnixMilli())
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("no_stream")}})
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("0")}})
	bb.add(bb.ts, []byte("a"), []byte("{}"), []Header{{HeaderExpectedVersion, []byte("exists")}})
	if _, err := n.b.Append("t", 0, bb.finish()); err != nil {
		t.Fatal(err)
	}
	if v, err := n.es.Head("t", "a"); err != nil || v != 2 {
		t.Fatalf("head %d, %v", v, err)
	}
}

// TestFsyncFailureCut: a failed fsync makes the log cut its unsynced tail
// and give those offsets again; the index follows the cut, so it keeps
// agreeing with the log.
func TestFsyncFailureCut(t *testing.T) {
	dir := t.TempDir()
	fs := vfs.NewMem()
	n := openNode(t, fs, filepath.Join(dir, "meta.db"), filepath.Join(dir, "streams.idx"))
	defer n.close(t)
	if _, err := n.b.CreateTopic("t", 1, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := n.es.Append(ctx, "t", "a", NoStream, []EventData{{ID: "1", Type: "T"}, {ID: "2", Type: "T"}}); err != nil {
		t.Fatal(err)
	}
	fs.FailNextSync(errors.New("injected EIO"))
	if _, err := n.es.Append(ctx, "t", "a", 1, []EventData{{ID: "3", Type: "T"}}); err == nil {
		t.Fatal("append survived a failed fsync")
	}
	// The failed append's event is dropped by the log at the next write,
	// which gets its offset again; the index follows, and the append's
	// result names the version it really got.
	res, err := n.es.Append(ctx, "t", "a", Any, []EventData{{ID: "4", Type: "T"}})
	if err != nil {
		t.Fatalf("append after the failure: %v", err)
	}
	if res.FirstVersion != 2 || res.Offset != 2 {
		t.Fatalf("append after the failure: %+v, want version 2 at offset 2", res)
	}
	if res, err := n.es.Append(ctx, "t", "a", 2, []EventData{{ID: "5", Type: "T"}}); err != nil || res.FirstVersion != 3 {
		t.Fatalf("conditional append after the cut: %+v, %v", res, err)
	}
	if err := n.es.Flush(); err != nil {
		t.Fatal(err)
	}
	checkAgainstLogSkew(t, n, "t", true)
	page, err := n.es.Read(ctx, "t", "a", ReadOptions{})
	if err != nil || len(page.Events) != 4 || page.Events[2].ID != "4" || page.Events[3].ID != "5" {
		t.Fatalf("stream after the cut: %+v, %v", page.Events, err)
	}
}

// TestRunsInFile: flushed appends are runs in the file; reads starting
// inside a run, in both directions and across runs, and versionAt find
// every event.
func TestRunsInFile(t *testing.T) {
	dir := t.TempDir()
	n := openNode(t, vfs.NewMem(), filepath.Join(dir, "meta.db"), filepath.Join(dir, "streams.idx"))
	defer n.close(t)
	ctx := context.Background()
	var all []int64
	for i, size := range []int{5, 1, 3} {
		var evs []EventData
		for j := 0; j < size; j++ {
			evs = append(evs, EventData{ID: fmt.Sprintf("%d-%d", i, j), Type: "T"})
		}
		res, err := n.es.Append(ctx, "runs", "s", Any, evs)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := n.es.Append(ctx, "runs", "other", Any, evs[:1]); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < size; j++ {
			all = append(all, res.Offset+int64(j))
		}
	}
	if err := n.es.Flush(); err != nil {
		t.Fatal(err)
	}
	pi := n.es.partIndex("runs", 0)
	pi.mu.Lock()
	pending := len(pi.pending)
	pi.mu.Unlock()
	if pending != 0 {
		t.Fatalf("%d entries still pending after Flush", pending)
	}
	versions := func(o ReadOptions) []int64 {
		page, err := n.es.Read(ctx, "runs", "s", o)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, ev := range page.Events {
			if ev.Offset != all[ev.Version] {
				t.Fatalf("version %d at offset %d, want %d", ev.Version, ev.Offset, all[ev.Version])
			}
			out = append(out, ev.Version)
		}
		return out
	}
	for _, c := range []struct {
		o    ReadOptions
		want string
	}{
		{ReadOptions{}, "[0 1 2 3 4 5 6 7 8]"},
		{ReadOptions{From: 2, Limit: 2}, "[2 3]"},
		{ReadOptions{From: 3, Limit: 4}, "[3 4 5 6]"},
		{ReadOptions{From: 8}, "[8]"},
		{ReadOptions{From: 9}, "[]"},
		{ReadOptions{From: -1, Backward: true}, "[8 7 6 5 4 3 2 1 0]"},
		{ReadOptions{From: 3, Limit: 2, Backward: true}, "[3 2]"},
		{ReadOptions{From: 6, Limit: 3, Backward: true}, "[6 5 4]"},
		{ReadOptions{From: 0, Limit: 3, Backward: true}, "[0]"},
	} {
		got := versions(c.o)
		if fmt.Sprint(got) == "[]" && c.want == "[]" {
			continue
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("read %+v: %v, want %s", c.o, got, c.want)
		}
	}
	for v, off := range all {
		if got, ok, err := pi.versionAt(off); err != nil || !ok || got != int64(v) {
			t.Errorf("versionAt(%d) = %d, %v, %v; want %d", off, got, ok, err, v)
		}
	}
	// Roll the file back into the middle of the first run.
	if _, err := n.es.rollBack(pi.bucket, all[2]); err != nil {
		t.Fatal(err)
	}
	count, ps, err := pi.streamPositions("s", 0, 100, false, math.MaxInt64)
	if err != nil || len(ps) != 2 || ps[1].version != 1 {
		t.Fatalf("after rollback to offset %d: %v, %v", all[2], ps, err)
	}
	_ = count
}
