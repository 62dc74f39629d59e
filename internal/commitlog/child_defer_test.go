package commitlog

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// deferChildEnv names the data directory of the broker-like kill -9 child.
const deferChildEnv = "EDDY_COMMITLOG_DEFER_CHILD"

const (
	deferChildLogs  = 12 // logs the child writes
	deferChildFiles = 4  // segment files it may hold open: fewer than the logs
)

// deferChildOptions are the options of the child's logs and of the
// parent's reopen: what the broker uses (a shared committer with volume
// syncs, recovery deferred to one commit round, a FileCache smaller than
// the partition count), with small segments so that rolls and sealed
// segments are part of every run.
func deferChildOptions(dir string, fc *FileCache, c *Committer) Options {
	o := DefaultOptions()
	o.SegmentBytes = 16 << 10
	o.IndexIntervalBytes = 1024
	o.DeferRecoverySync = true
	o.Files = fc
	o.Committer = c
	return o
}

// deferChildBatch is the deterministic batch the child appends to log i at
// offset base.
func deferChildBatch(i int, base int64) []byte {
	b := makeBatch(1+int(base%3), 50+int(base%150), base, byte(base)+byte(i*7))
	record.SetBaseOffset(b, base)
	return b
}

// openDeferLogs opens the child's logs the broker's way: every log opened
// (in parallel), its recovered tail queued, then FinishRecovery for all.
// hidden counts the logs whose recovered tail was hidden until then.
func openDeferLogs(dir string, fc *FileCache, c *Committer) (logs []*Log, hidden int, err error) {
	logs = make([]*Log, deferChildLogs)
	errs := make([]error, deferChildLogs)
	var wg sync.WaitGroup
	for i := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			logs[i], errs[i] = Open(filepath.Join(dir, fmt.Sprintf("p-%d", i)), deferChildOptions(dir, fc, c))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, 0, fmt.Errorf("open log %d: %w", i, err)
		}
	}
	for _, l := range logs {
		if l.HighWatermark() < l.LogEndOffset() {
			hidden++
		}
		l.QueueSync(l.LogEndOffset())
	}
	for i, l := range logs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = l.FinishRecovery()
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			return nil, 0, fmt.Errorf("log %d: %w", i, err)
		}
	}
	return logs, hidden, nil
}

// runDeferChildIfRequested runs the child of TestKill9DeferredRecovery when
// the test binary is re-executed with deferChildEnv set: it opens its logs
// (recovering them after the previous kill), prints "ready", then appends
// to every log at once forever, printing "ack <log> <base> <next>" after
// each acknowledged append.
func runDeferChildIfRequested() bool {
	dir := os.Getenv(deferChildEnv)
	if dir == "" {
		return false
	}
	fail := func(code int, args ...any) {
		fmt.Fprintln(os.Stderr, args...)
		os.Exit(code)
	}
	fc, err := NewFileCache(FileCacheOptions{MaxOpen: deferChildFiles})
	if err != nil {
		fail(3, "child file cache:", err)
	}
	c := NewCommitter(CommitterOptions{FS: vfs.OS(), Dir: dir})
	logs, _, err := openDeferLogs(dir, fc, c)
	if err != nil {
		fail(3, "child open:", err)
	}
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, "ready")
	w.Flush()
	for i, l := range logs {
		go func() {
			for {
				base := l.LogEndOffset()
				got, err := l.Append(deferChildBatch(i, base))
				if err != nil || got != base {
					fail(4, "child append:", i, got, err)
				}
				mu.Lock()
				fmt.Fprintf(w, "ack %d %d %d\n", i, base, l.LogEndOffset())
				w.Flush()
				mu.Unlock()
			}
		}()
	}
	select {}
}

// TestKill9DeferredRecovery kills a child that writes 12 logs the broker's
// way — a shared committer, DeferRecoverySync, a FileCache of 4 segment
// files — at random moments, some of them while it is still recovering
// from the previous kill, and checks after every few kills that every
// append it acknowledged is readable byte for byte once the logs are
// reopened the same way, and that no more than 4 segment files were open.
// Each round's child itself starts by recovering the previous round's
// kill with the deferred sync, so acknowledged appends there must survive
// recovery, FinishRecovery and further appends.
func TestKill9DeferredRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	type ack struct {
		log  int
		base int64
	}
	acked := map[ack]int64{} // → next
	const rounds = 12
	early := 0
	for round := 0; round < rounds; round++ {
		cmd, out, stderr := startChild(t, deferChildEnv, dir)
		var mu sync.Mutex
		n, ready := 0, false
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) == 1 && f[0] == "ready" {
					mu.Lock()
					ready = true
					mu.Unlock()
				}
				if len(f) != 4 || f[0] != "ack" {
					continue
				}
				i, _ := strconv.Atoi(f[1])
				base, _ := strconv.ParseInt(f[2], 10, 64)
				next, _ := strconv.ParseInt(f[3], 10, 64)
				mu.Lock()
				acked[ack{i, base}] = next
				n++
				mu.Unlock()
			}
		}()
		// Every third round kills the child at once, likely while it
		// recovers; the others once every log took a few appends.
		kill := round%3 == 2
		deadline := time.Now().Add(20 * time.Second)
		for !kill {
			mu.Lock()
			k := n
			mu.Unlock()
			if k >= 4*deferChildLogs || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		cmd.Wait()
		mu.Lock()
		if !ready {
			early++
		}
		if !kill && n < 4*deferChildLogs {
			t.Fatalf("round %d: child acked only %d appends; stderr: %s", round, n, stderr.String())
		}
		mu.Unlock()
		if round%4 == 3 || round == rounds-1 {
			verifyDeferAcked(t, dir, func(i int, base int64) (int64, bool) {
				next, ok := acked[ack{i, base}]
				return next, ok
			}, len(acked))
		}
	}
	t.Logf("verified %d acknowledged appends across %d kills (%d before the child was ready)", len(acked), rounds, early)
}

// verifyDeferAcked reopens the child's logs its way and checks every
// acknowledged append (acked reports the next offset of the append at
// base of log i).
func verifyDeferAcked(t *testing.T, dir string, acked func(i int, base int64) (int64, bool), n int) {
	t.Helper()
	fc, err := NewFileCache(FileCacheOptions{MaxOpen: deferChildFiles})
	if err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(CommitterOptions{FS: vfs.OS(), Dir: dir})
	defer c.Close()
	logs, hidden, err := openDeferLogs(dir, fc, c)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	if hidden == 0 {
		t.Fatal("no log had a recovered tail to finish: the deferred sync was not exercised")
	}
	defer func() {
		for _, l := range logs {
			l.Close()
		}
	}()
	checked := 0
	for i, l := range logs {
		if err := l.Check(); err != nil {
			t.Fatalf("log %d: %v", i, err)
		}
		for base := l.LogStartOffset(); base < l.LogEndOffset(); {
			got, err := l.Read(base, 1)
			if err != nil {
				t.Fatalf("log %d offset %d: %v", i, base, err)
			}
			h, err := record.ParseBatchHeader(got)
			if err != nil {
				t.Fatalf("log %d offset %d: %v", i, base, err)
			}
			got = got[:h.Size()]
			if next, ok := acked(i, base); ok {
				if !bytes.Equal(got, deferChildBatch(i, base)) {
					t.Fatalf("log %d: acknowledged batch at %d differs", i, base)
				}
				if next > l.HighWatermark() {
					t.Fatalf("log %d: acknowledged next %d beyond the high watermark %d", i, next, l.HighWatermark())
				}
				checked++
			}
			base = h.BaseOffset + int64(h.LastOffsetDelta) + 1
		}
		if l.HighWatermark() != l.LogEndOffset() {
			t.Fatalf("log %d: high watermark %d below the end %d after FinishRecovery", i, l.HighWatermark(), l.LogEndOffset())
		}
	}
	if checked != n {
		t.Fatalf("%d of %d acknowledged appends found", checked, n)
	}
	if o := fc.Open(); o > deferChildFiles {
		t.Fatalf("%d segment files open, limit %d", o, deferChildFiles)
	}
}
