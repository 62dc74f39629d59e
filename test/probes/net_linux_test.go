//go:build linux

package probes

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// openFilesLimit reads a process's "Max open files" soft and hard limits.
func openFilesLimit(t *testing.T, pid int) (soft, hard string) {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/limits", pid))
	if err != nil {
		t.Skipf("no /proc/%d/limits: %v", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "Max open files"); ok {
			fs := strings.Fields(rest)
			return fs[0], fs[1]
		}
	}
	t.Fatal("no Max open files line")
	return "", ""
}

func prlimitNofile(pid int, n uint64) error {
	lim := syscall.Rlimit{Cur: n, Max: n}
	_, _, errno := syscall.RawSyscall6(syscall.SYS_PRLIMIT64, uintptr(pid), uintptr(syscall.RLIMIT_NOFILE), uintptr(unsafe.Pointer(&lim)), 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// Item 1: running out of file descriptors is not fatal. With the open-files
// limit cut to 128 under it, 400 idle connections make accept fail with
// EMFILE; the server backs off and retries instead of shutting down, and
// serves the canary once the connections are gone.
func TestProbeFileDescriptors(t *testing.T) {
	p := eddytest.Start(t)
	if soft, hard := openFilesLimit(t, p.PID()); soft != hard {
		t.Fatalf("open-files soft limit %s not raised to the hard limit %s", soft, hard)
	}
	if err := prlimitNofile(p.PID(), 128); err != nil {
		t.Skipf("prlimit: %v", err)
	}
	var conns []net.Conn
	for i := 0; i < 400; i++ {
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			break // backlog full: enough
		}
		conns = append(conns, c)
	}
	t.Logf("opened %d connections against a 128 descriptor limit", len(conns))
	if _, err := p.WaitLog("kafka accept failing, retrying with backoff (raise the open-files limit or lower --max-connections)", 5*time.Second); err != nil {
		t.Fatalf("no accept backoff logged: %v\n%s", err, tail(p.Output()))
	}
	time.Sleep(time.Second)
	// Still running (the HTTP listener shares the exhausted descriptor
	// table, so only the process is checked while they are held).
	if err := syscallKill0(p.PID()); err != nil {
		t.Fatalf("eddy serve exited: %v\n%s", err, tail(p.Output()))
	}
	for _, c := range conns {
		c.Close()
	}
	canary(t, p, 5*time.Second)
	alive(t, p)
	if v := metric(t, p, "eddy_kafka_accept_errors_total"); v < 1 {
		t.Fatalf("eddy_kafka_accept_errors_total = %v", v)
	}
}

// Item 1: connections above --max-connections are refused at accept and
// cost nothing after; the server stays up.
func TestProbeMaxConnections(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--max-connections", "50"))
	var conns []net.Conn
	for i := 0; i < 120; i++ {
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, p, "eddy_kafka_connections_rejected_total") < 70 {
		if time.Now().After(deadline) {
			t.Fatalf("rejected = %v, want 70", metric(t, p, "eddy_kafka_connections_rejected_total"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if open := metric(t, p, "eddy_kafka_connections"); open > 50 {
		t.Fatalf("%v connections open, cap 50", open)
	}
	for _, c := range conns {
		c.Close()
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}

// Item 1: with an open-files limit of 1024 at start, Kafka connections are
// capped below it (a quarter is kept for partition logs and the HTTP
// listener): 900 idle connections leave room to create a topic of 40
// partitions and to answer HTTP.
func TestProbeDescriptorsKeptForLogs(t *testing.T) {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Max < 1024 {
		t.Skipf("open-files hard limit %d below 1024", lim.Max)
	}
	// Lowered for this test process and the child it starts (Go passes
	// a limit set with Setrlimit on to children).
	low := syscall.Rlimit{Cur: 1024, Max: 1024}
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &low); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	p := eddytest.Start(t, eddytest.Args("--default-partitions", "40"))
	if _, err := p.WaitLog("max-connections lowered to fit the open-files limit; raise the limit (ulimit -n, LimitNOFILE=) to allow more", time.Second); err != nil {
		t.Fatalf("no warning about the lowered connection cap: %v", err)
	}
	var conns []net.Conn
	for i := 0; i < 900; i++ {
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	deadline := time.Now().Add(5 * time.Second)
	for metric(t, p, "eddy_kafka_connections_rejected_total") < 900-768 {
		if time.Now().After(deadline) {
			t.Fatalf("rejected %v of 900 connections, want at least %d", metric(t, p, "eddy_kafka_connections_rejected_total"), 900-768)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The logs still get descriptors: an append auto-creates a topic of
	// 40 partitions (segment, index and time index files each).
	code, body := httpPost(t, "http://"+p.HTTPAddr()+"/v1/topics/fd-events/streams/s-1", `{"events":[{"id":"e-1","type":"T","data":{"n":1}}]}`)
	if code != 200 {
		t.Fatalf("append creating a 40-partition topic while clients hold 900 connections: %d %s", code, body)
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	alive(t, p)
	canary(t, p, 3*time.Second)
}
