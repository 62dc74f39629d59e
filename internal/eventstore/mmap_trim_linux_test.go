package eventstore

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// mappedKB is the resident size of this process's mappings of path, from
// /proc/self/smaps.
func mappedKB(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no smaps: %v", err)
	}
	defer f.Close()
	kb, in := 0, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		fields := strings.Fields(line)
		if len(fields) >= 5 && strings.Contains(fields[0], "-") && !strings.HasSuffix(fields[0], ":") {
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if in && len(fields) >= 2 && fields[0] == "Rss:" {
			n, _ := strconv.Atoi(fields[1])
			kb += n
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return kb
}

// TestTrimMappedDropsIndexPagesFromRSS: reads map index pages into the
// process; trimMapped unmaps them (RSS of the mapping back to ~0) and
// reads after it still see every stream.
func TestTrimMappedDropsIndexPagesFromRSS(t *testing.T) {
	dir := t.TempDir()
	idx, err := filepath.Abs(filepath.Join(dir, "streams.idx"))
	if err != nil {
		t.Fatal(err)
	}
	// No background flush or trim: the test calls both.
	br, es := openDiskStore(t, dir, Config{Path: idx, FlushInterval: time.Hour, TrimInterval: -1})
	defer es.Close()
	if _, err := br.CreateTopic("many", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := es.EnsureTopic("many"); err != nil {
		t.Fatal(err)
	}
	const streams = 20_000
	for s := 0; s < streams; s += 1000 {
		bb := newBatchBuilder(time.Now().UnixMilli())
		for k := s; k < s+1000; k++ {
			bb.add(bb.ts, []byte("order-"+strconv.Itoa(k)), []byte(`{"qty":1}`), nil)
		}
		if _, err := br.Append("many", 0, bb.finish()); err != nil {
			t.Fatal(err)
		}
	}
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	readAll := func() {
		t.Helper()
		for k := 0; k < streams; k += 7 {
			page, err := es.Read(context.Background(), "many", "order-"+strconv.Itoa(k), ReadOptions{From: -1})
			if err != nil || len(page.Events) != 1 || page.Events[0].Offset != int64(k) {
				t.Fatalf("read order-%d: %+v, %v", k, page, err)
			}
		}
	}
	readAll()
	before := mappedKB(t, idx)
	if before < 64 {
		t.Fatalf("index mapping holds %d kB after reading %d streams; the test needs it mapped", before, streams/7)
	}
	// Under the budget, the pages stay mapped.
	es.cfg.TrimAboveBytes = 1 << 40
	if err := es.maybeTrim(); err != nil {
		t.Fatal(err)
	}
	if kept := mappedKB(t, idx); kept < before/2 {
		t.Fatalf("index mapping holds %d kB after a trim under budget (%d kB before), want it kept", kept, before)
	}
	// Over the budget (any mapped file counts), they go.
	es.cfg.TrimAboveBytes = 1
	if err := es.maybeTrim(); err != nil {
		t.Fatal(err)
	}
	if after := mappedKB(t, idx); after > 16 {
		t.Fatalf("index mapping holds %d kB after a trim over budget (%d kB before), want ~0", after, before)
	}
	readAll()
	if err := es.trimMapped(); err != nil {
		t.Fatal(err)
	}
	if after := mappedKB(t, idx); after > 16 {
		t.Fatalf("index mapping holds %d kB after trimMapped, want ~0", after)
	}
	readAll()
}
