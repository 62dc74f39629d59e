package commitlog

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
)

const childEnv = "EDDY_COMMITLOG_KILL_CHILD"

// childBatch is the deterministic batch the child appends at offset base.
func childBatch(base int64) []byte {
	b := makeBatch(1+int(base%3), 100+int(base%200), base, byte(base))
	record.SetBaseOffset(b, base)
	return b
}

// runChildIfRequested runs the kill -9 child when the test binary is
// re-executed with childEnv set: it appends forever under SyncAlways and
// prints "ack <base> <next>" after each acknowledged append.
func runChildIfRequested() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	o := DefaultOptions()
	o.SegmentBytes = 64 << 10
	o.IndexIntervalBytes = 1024
	l, err := Open(dir, o)
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		base := l.LogEndOffset()
		b := childBatch(base)
		got, err := l.Append(b)
		if err != nil || got != base {
			fmt.Fprintln(os.Stderr, "child append:", got, err)
			os.Exit(4)
		}
		fmt.Fprintf(w, "ack %d %d\n", base, l.LogEndOffset())
		w.Flush()
	}
}

// TestKill9 kills a child appending with SyncAlways at 20 random moments
// and checks that every offset it acknowledged is readable byte for byte.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	acked := map[int64]int64{} // base → next
	for round := 0; round < 20; round++ {
		cmd, out, stderr := startChild(t, childEnv, dir)
		var mu sync.Mutex
		n := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 3 || f[0] != "ack" {
					continue
				}
				base, _ := strconv.ParseInt(f[1], 10, 64)
				next, _ := strconv.ParseInt(f[2], 10, 64)
				mu.Lock()
				acked[base] = next
				n++
				mu.Unlock()
			}
		}()
		// Let it ack at least a few appends, then kill at a random moment.
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			k := n
			mu.Unlock()
			if k >= 3 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-done
		cmd.Wait()
		mu.Lock()
		if n < 3 {
			t.Fatalf("round %d: child acked only %d appends; stderr: %s", round, n, stderr.String())
		}
		mu.Unlock()
		if round%2 == 1 || round == 19 {
			verifyAcked(t, dir, acked)
		}
	}
	t.Logf("verified %d acknowledged appends across 20 kills", len(acked))
}

func verifyAcked(t *testing.T, dir string, acked map[int64]int64) {
	t.Helper()
	l, err := Open(dir, DefaultOptions())
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer l.Close()
	for base, next := range acked {
		want := childBatch(base)
		got, err := l.Read(base, 1)
		if err != nil {
			t.Fatalf("acked offset %d: %v", base, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("acked offset %d: stored batch differs", base)
		}
		if next > l.HighWatermark() {
			t.Fatalf("acked next %d beyond high watermark %d", next, l.HighWatermark())
		}
	}
}

// startChild runs this test binary as a child process with env=dir in its
// environment (a child's TestMain hook reads it), its stdout piped back and
// its stderr kept for failure messages.
func startChild(t *testing.T, env, dir string) (*exec.Cmd, io.ReadCloser, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+dir)
	stderr := new(bytes.Buffer)
	cmd.Stderr = stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, out, stderr
}
