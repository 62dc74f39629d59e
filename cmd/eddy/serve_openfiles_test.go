package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// openSegmentFiles counts the partition segment files (.log under the
// data directory) the process holds open, from /proc/PID/fd.
func openSegmentFiles(t *testing.T, pid int, dataDir string) int {
	t.Helper()
	fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	n := 0
	for _, fd := range fds {
		target, err := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if err == nil && strings.HasPrefix(target, dataDir) && strings.HasSuffix(target, ".log") {
			n++
		}
	}
	return n
}

// TestServeMaxOpenFiles runs `eddy serve --max-open-files 8` with a topic
// of 40 partitions of small segments: every record produced to every
// partition reads back (segment files closed and reopened in between),
// the process never holds more than 8 segment files open (/proc and
// eddy_log_open_segment_files), and the eviction and reopen counters
// move. Then it kills the server with SIGKILL during produce and restarts
// it with the same bound: the recovered logs are made durable in one step
// ("recovered logs made durable") and every acknowledged record is there.
func TestServeMaxOpenFiles(t *testing.T) {
	const (
		partitions = 40
		limit      = 8
	)
	dir, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	args := eddytest.Args("--max-open-files", strconv.Itoa(limit), "--auto-create-topics=false")
	p := eddytest.Start(t, eddytest.DataDir(dir), args)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	adm := kadm.NewClient(newClient(t, p))
	segBytes := "16384"
	res, err := adm.CreateTopic(ctx, partitions, 1, map[string]*string{"segment.bytes": &segBytes}, "files")
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	cl := newClient(t, p, kgo.DefaultProduceTopic("files"), kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RecordDeliveryTimeout(20*time.Second))
	var (
		mu    sync.Mutex
		acked []string
	)
	maxOpen := 0
	value := strings.Repeat("v", 200)
	for round := 0; round < 10; round++ {
		var recs []*kgo.Record
		for i := 0; i < 2*partitions; i++ {
			recs = append(recs, &kgo.Record{Value: []byte(fmt.Sprintf("%d-%d-%s", round, i, value))})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatalf("produce round %d: %v", round, err)
		}
		for _, r := range recs {
			acked = append(acked, string(r.Value))
		}
		maxOpen = max(maxOpen, openSegmentFiles(t, p.PID(), dir))
	}
	got := consumeAll(t, p, "files")
	maxOpen = max(maxOpen, openSegmentFiles(t, p.PID(), dir))
	checkStored(t, "before the kill", got, acked)
	if maxOpen > limit {
		t.Fatalf("%d segment files open at once, --max-open-files %d", maxOpen, limit)
	}
	m := scrape(t, p)
	if v := m["eddy_log_open_segment_files"]; v < 1 || v > limit {
		t.Errorf("eddy_log_open_segment_files %v, want 1..%d", v, limit)
	}
	if m["eddy_log_segment_file_evictions_total"] == 0 || m["eddy_log_segment_file_reopens_total"] == 0 {
		t.Errorf("evictions %v, reopens %v: with %d partitions and a bound of %d both must move",
			m["eddy_log_segment_file_evictions_total"], m["eddy_log_segment_file_reopens_total"], partitions, limit)
	}

	// Produce without waiting, and kill the server under it.
	pctx, pcancel := context.WithCancel(ctx)
	produced := make(chan struct{})
	before := len(acked)
	go func() {
		defer close(produced)
		for i := 0; pctx.Err() == nil; i++ {
			cl.Produce(pctx, &kgo.Record{Value: []byte(fmt.Sprintf("k-%d-%s", i, value))}, func(r *kgo.Record, err error) {
				if err == nil {
					mu.Lock()
					acked = append(acked, string(r.Value))
					mu.Unlock()
				}
			})
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(acked) - before
		mu.Unlock()
		if n >= 500 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d records acknowledged in 30s\n%s", n, p.Output())
		}
		time.Sleep(5 * time.Millisecond)
	}
	p.Signal(syscall.SIGKILL)
	p.Wait(30 * time.Second)
	pcancel()
	<-produced
	cl.Close()
	mu.Lock()
	ackedCopy := append([]string(nil), acked...)
	mu.Unlock()

	p2 := eddytest.Start(t, eddytest.DataDir(dir), args)
	if p2.FindLog("recovered logs made durable") == nil {
		t.Errorf("no recovery after the kill\n%s", p2.Output())
	}
	got = consumeAll(t, p2, "files")
	checkStored(t, "after the kill", got, ackedCopy)
	if n := openSegmentFiles(t, p2.PID(), dir); n > limit {
		t.Fatalf("after the restart: %d segment files open, --max-open-files %d", n, limit)
	}
	t.Logf("%d records acknowledged, %d before the kill; at most %d segment files open", len(ackedCopy), before, maxOpen)
	p2.Signal(syscall.SIGTERM)
	if code := p2.Wait(30 * time.Second); code != 0 {
		t.Errorf("exit %d after SIGTERM", code)
	}
}

// checkStored fails the test for every acknowledged value not stored.
func checkStored(t *testing.T, when string, stored, acked []string) {
	t.Helper()
	have := make(map[string]bool, len(stored))
	for _, v := range stored {
		have[v] = true
	}
	lost := 0
	for _, v := range acked {
		if !have[v] {
			lost++
		}
	}
	if lost > 0 {
		t.Fatalf("%s: %d of %d acknowledged records missing", when, lost, len(acked))
	}
}
