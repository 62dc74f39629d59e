//go:build linux

package probes

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"

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

// openFDs counts a process's open file descriptors.
func openFDs(t *testing.T, pid int) int {
	t.Helper()
	ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		t.Skipf("no /proc/%d/fd: %v", pid, err)
	}
	return len(ents)
}

// waitMetric polls series until cond holds, failing after 5 s.
func waitMetric(t *testing.T, p *eddytest.Process, series string, cond func(float64) bool) float64 {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		v := metric(t, p, series)
		if cond(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v after 5 s", series, v)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Item 1: at --max-connections the server stops accepting, as Kafka's
// Acceptor does: further connections wait in the kernel's listen backlog
// and cost the server no descriptor, and are served as open ones close.
func TestProbeMaxConnections(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--max-connections", "50"))
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 50; i++ {
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitMetric(t, p, "eddy_kafka_connections", func(v float64) bool { return v == 50 })
	fds := openFDs(t, p.PID())
	for i := 0; i < 70; i++ { // the kernel completes these; the server does not accept them
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	time.Sleep(300 * time.Millisecond)
	if open := metric(t, p, "eddy_kafka_connections"); open != 50 {
		t.Fatalf("%v connections open, cap 50", open)
	}
	if now := openFDs(t, p.PID()); now > fds+5 {
		t.Fatalf("70 connections above the cap took %d descriptors (%d → %d)", now-fds, fds, now)
	}
	if w := metric(t, p, "eddy_kafka_accept_waits_total"); w < 1 {
		t.Fatalf("eddy_kafka_accept_waits_total = %v", w)
	}
	if _, err := p.WaitLog("kafka connections at max-connections: not accepting until one closes (new connections wait in the listen backlog)", time.Second); err != nil {
		t.Fatalf("no log line about the cap: %v", err)
	}
	// Closing 10 accepted connections lets 10 waiting ones in; a waiting
	// connection's request is then answered.
	waiting := conns[119]
	for _, c := range conns[:10] {
		c.Close()
	}
	conns = conns[10:]
	waitMetric(t, p, "eddy_kafka_connections_total", func(v float64) bool { return v >= 60 })
	if open := metric(t, p, "eddy_kafka_connections"); open > 50 {
		t.Fatalf("%v connections open, cap 50", open)
	}
	for _, c := range conns[:len(conns)-1] {
		c.Close()
	}
	conns = []net.Conn{waiting}
	_ = waiting.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := waiting.Write(apiVersionsFrame()); err != nil {
		t.Fatal(err)
	}
	var size [4]byte
	if _, err := io.ReadFull(waiting, size[:]); err != nil {
		t.Fatalf("a connection that waited in the backlog got no answer once slots freed: %v", err)
	}
	alive(t, p)
	canary(t, p, canaryDeadline)
}

// apiVersionsFrame is an ApiVersions v0 request frame.
func apiVersionsFrame() []byte {
	b := []byte{0, 0, 0, 0, 0, 18, 0, 0, 0, 0, 0, 1, 0, 5}
	b = append(b, "probe"...)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// Item 1, as a client sees the cap: a franz-go producer whose connection
// waits in the backlog is not refused; its request is answered once a
// slot frees (within its request timeout), and it needs no retry logic of
// its own.
func TestProbeMaxConnectionsFranzGo(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--max-connections", "20"))
	createTopic(t, p, "capped", 1, nil)
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := 0; i < 20; i++ {
		c, err := net.DialTimeout("tcp", p.KafkaAddr(), 2*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
	}
	waitMetric(t, p, "eddy_kafka_connections", func(v float64) bool { return v == 20 })
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.DefaultProduceTopic("capped"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	done := make(chan error, 1)
	start := time.Now()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		done <- cl.ProduceSync(ctx, &kgo.Record{Value: []byte("waited")}).FirstErr()
	}()
	select {
	case err := <-done:
		t.Fatalf("produce finished while the server was at its cap: %v", err)
	case <-time.After(2 * time.Second):
	}
	for _, c := range conns {
		c.Close()
	}
	conns = nil
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("produce after a slot freed: %v", err)
		}
		t.Logf("franz-go produce waited %v in the backlog (slots freed after 2 s)", time.Since(start).Round(time.Millisecond))
	case <-time.After(20 * time.Second):
		t.Fatal("produce not answered 20 s after slots freed")
	}
	alive(t, p)
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
	// A configured cap above what the limit leaves is lowered, with a
	// warning (the default, 0, is set to what it leaves without one).
	p := eddytest.Start(t, eddytest.Args("--default-partitions", "40", "--max-connections", "10000"))
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
	// 768 are accepted; the other 132 wait in the listen backlog.
	waitMetric(t, p, "eddy_kafka_connections", func(v float64) bool { return v == 768 })
	time.Sleep(300 * time.Millisecond)
	if open := metric(t, p, "eddy_kafka_connections"); open != 768 {
		t.Fatalf("%v connections open, want the cap of 768", open)
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
