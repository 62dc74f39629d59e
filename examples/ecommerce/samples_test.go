package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// sample is one of the tutorial's own consumers (samples/) running as a
// service of the system: a process whose stdout lines are collected.
type sample struct {
	name string
	cmd  *exec.Cmd
	mu   sync.Mutex
	seen map[string]int // order id → "Processing order" lines
	done chan struct{}
}

// startSample starts argv with EDDY_BROKERS set and counts the order ids
// of its "Processing order: ID" lines. The test stops it (by its PID).
func startSample(t *testing.T, name, brokers string, argv ...string) *sample {
	t.Helper()
	s := &sample{name: name, seen: map[string]int{}, done: make(chan struct{})}
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Env = append(os.Environ(), "EDDY_BROKERS="+brokers)
	var stderr syncBuffer
	s.cmd.Stderr = &stderr
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		defer close(s.done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if id, ok := strings.CutPrefix(sc.Text(), "Processing order: "); ok {
				s.mu.Lock()
				s.seen[id]++
				s.mu.Unlock()
			}
		}
		_, _ = io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		stop := time.Now()
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		defer func() { t.Logf("%s stopped in %v", name, time.Since(stop).Round(time.Millisecond)) }()
		select {
		case <-s.done:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
		_ = s.cmd.Wait()
		if t.Failed() {
			t.Logf("%s stderr:\n%s", name, stderr.String())
		}
	})
	return s
}

// missing returns the ids of want that s has not printed yet.
func (s *sample) missing(want []string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, id := range want {
		if s.seen[id] == 0 {
			out = append(out, id)
		}
	}
	return out
}

// needSample skips, or fails under EDDY_REQUIRE_CLIENTS=1 (CI), when a
// sample's runtime is missing.
func needSample(t *testing.T, ok bool, why, install string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("EDDY_REQUIRE_CLIENTS") == "1" {
		t.Fatalf("EDDY_REQUIRE_CLIENTS=1 but %s (install with: %s)", why, install)
	}
	t.Skipf("%s (install with: %s)", why, install)
}

// TestTutorialSamplesJoinIn runs the tutorial's own kafka-python and
// kafkajs (TypeScript) consumers, from samples/, beside the Go services:
// after a run of the system they must each have processed every order
// placed, reading the same `orders` topic in their own consumer groups.
func TestTutorialSamplesJoinIn(t *testing.T) {
	pyErr := exec.Command("/usr/bin/python3", "-c", "import kafka").Run()
	needSample(t, pyErr == nil, "kafka-python is not importable by /usr/bin/python3", "apt-get install -y python3-kafka")
	nodeDir := filepath.Join("samples", "node")
	_, jsErr := os.Stat(filepath.Join(nodeDir, "node_modules", "typescript", "package.json"))
	needSample(t, jsErr == nil, "the node sample's packages are not installed", "npm ci --prefix examples/ecommerce/samples/node")
	tsc := exec.Command("node", filepath.Join("node_modules", "typescript", "bin", "tsc"))
	tsc.Dir = nodeDir
	if out, err := tsc.CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}

	var stopAt time.Time
	t.Cleanup(func() { t.Logf("eddy stopped in %v", time.Since(stopAt)) })
	p := eddytest.Start(t)
	t.Cleanup(func() { stopAt = time.Now() })
	start := time.Now()
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err := run(ctx, []string{"--brokers", p.KafkaAddr(), "--http", p.HTTPURL(), "--registry", p.SchemaRegistryURL(), "--listen", "127.0.0.1:0",
		"--orders", "10", "--eddy", eddytest.Binary(), "--timeout", "45s"}, &out)
	cancel()
	if err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`duplicate submission of (order-[0-9a-f]+)-0 `).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("run output names no order:\n%s", out.String())
	}
	t.Logf("the system settled 10 orders in %v", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	var want []string
	for i := range 10 {
		want = append(want, fmt.Sprintf("%s-%d", m[1], i))
	}

	samples := []*sample{
		startSample(t, "python", p.KafkaAddr(), "/usr/bin/python3", "-u", filepath.Join("samples", "python", "order_processor.py")),
		startSample(t, "node", p.KafkaAddr(), "node", filepath.Join(nodeDir, "dist", "order_processor.js")),
	}
	deadline := time.Now().Add(60 * time.Second)
	for _, s := range samples {
		for {
			miss := s.missing(want)
			if len(miss) == 0 {
				break
			}
			select {
			case <-s.done:
				t.Fatalf("%s exited before processing %v", s.name, miss)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s has not processed %v after 60 s", s.name, miss)
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Logf("%s processed all %d orders %v after it started", s.name, len(want), time.Since(start).Round(time.Millisecond))
	}
}
