package eventstore

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// TestCatchUpInChunks: a catch-up of more entries than one transaction
// takes (catchUpTxEntries) indexes every record, checkpoints at the log
// end, and survives a reopen.
func TestCatchUpInChunks(t *testing.T) {
	dir := t.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta = filepath.Join(dir, "data"), m
	br, err := broker.Open(bc)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
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
	if n <= 2*catchUpTxEntries {
		t.Fatalf("%d records do not need several transactions", n)
	}
	idx := filepath.Join(dir, "streams.idx")
	for open := 0; open < 2; open++ {
		es, err := Open(Config{Broker: br, Path: idx})
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
