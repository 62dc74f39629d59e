package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// peer is one broker configuration of the comparison.
type peer struct {
	Name       string `json:"name"`
	System     string `json:"system"` // eddy, kfake or nats
	Durability string `json:"durability"`
	// args builds the broker command line for a data dir and port.
	args func(bin binaries, dir string, port int) []string
}

// binaries are the programs the harness runs.
type binaries struct {
	eddy string // eddy (serve and bench)
	peer string // bench/cmd/peer (kfake, nats, natsbench)
	// alt is a second eddy build (-alt-root) served by the eddy-*-alt
	// peers, for before/after comparisons of a change in the same run.
	alt string
}

var allPeers = []peer{
	{Name: "eddy-always", System: "eddy", Durability: "fsync=always (default): ack after a group-commit fsync",
		args: func(b binaries, dir string, port int) []string { return eddyArgs(b, dir, port, "always") }},
	{Name: "eddy-never", System: "eddy", Durability: "fsync=never: ack after write(2) to the page cache",
		args: func(b binaries, dir string, port int) []string { return eddyArgs(b, dir, port, "never") }},
	{Name: "eddy-always-alt", System: "eddy", Durability: "fsync=always, built from -alt-root",
		args: func(b binaries, dir string, port int) []string {
			return eddyArgs(b.withEddy(b.alt), dir, port, "always")
		}},
	{Name: "eddy-never-alt", System: "eddy", Durability: "fsync=never, built from -alt-root",
		args: func(b binaries, dir string, port int) []string {
			return eddyArgs(b.withEddy(b.alt), dir, port, "never")
		}},
	{Name: "kfake-sync", System: "kfake", Durability: "DataDir + SyncWrites: fsync per batch",
		args: func(b binaries, dir string, port int) []string {
			return []string{b.peer, "kfake", "--port", strconv.Itoa(port), "--dir", dir, "--sync"}
		}},
	{Name: "kfake-disk", System: "kfake", Durability: "DataDir: written to files, synced on roll/shutdown",
		args: func(b binaries, dir string, port int) []string {
			return []string{b.peer, "kfake", "--port", strconv.Itoa(port), "--dir", dir}
		}},
	{Name: "kfake-mem", System: "kfake", Durability: "in memory only",
		args: func(b binaries, _ string, port int) []string {
			return []string{b.peer, "kfake", "--port", strconv.Itoa(port)}
		}},
	{Name: "nats-default", System: "nats", Durability: "JetStream file storage, default sync_interval (2 min)",
		args: func(b binaries, dir string, port int) []string {
			return []string{b.peer, "nats", "--port", strconv.Itoa(port), "--dir", dir}
		}},
	{Name: "nats-always", System: "nats", Durability: "JetStream file storage, sync_interval: always",
		args: func(b binaries, dir string, port int) []string {
			return []string{b.peer, "nats", "--port", strconv.Itoa(port), "--dir", dir, "--sync-always"}
		}},
}

func (b binaries) withEddy(path string) binaries { b.eddy = path; return b }

func eddyArgs(b binaries, dir string, port int, fsync string) []string {
	return []string{b.eddy, "serve", "--data-dir", dir, "--kafka-addr", "127.0.0.1:" + strconv.Itoa(port),
		"--http-addr", "127.0.0.1:" + strconv.Itoa(freePort()), "--fsync", fsync, "--log-level", "warn"}
}

func peerByName(name string) (peer, bool) {
	for _, p := range allPeers {
		if p.Name == name {
			return p, true
		}
	}
	return peer{}, false
}

// freePort returns a loopback port that was free a moment ago.
func freePort() int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// running is a started broker process.
type running struct {
	cmd    *exec.Cmd
	addr   string
	dir    string
	log    *os.File
	exited chan struct{} // closed once the process has been waited for
}

// start runs the peer's broker on a fresh data dir and waits until its
// port accepts connections.
func (p peer) start(bin binaries, work string) (*running, error) {
	dir, err := os.MkdirTemp(work, p.Name+"-")
	if err != nil {
		return nil, err
	}
	port := freePort()
	argv := p.args(bin, filepath.Join(dir, "data"), port)
	logf, err := os.Create(filepath.Join(dir, "broker.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", p.Name, err)
	}
	r := &running{cmd: cmd, addr: "127.0.0.1:" + strconv.Itoa(port), dir: dir, log: logf, exited: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", r.addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		select {
		case <-r.exited:
			deadline = time.Time{}
		default:
		}
		if time.Now().After(deadline) {
			r.stop()
			return nil, fmt.Errorf("%s did not listen on %s: %s", p.Name, r.addr, tail(filepath.Join(dir, "broker.log")))
		}
		time.Sleep(20 * time.Millisecond)
	}
	return r, nil
}

// stop ends the broker (SIGTERM, then SIGKILL after 30 s) and removes its
// data.
func (r *running) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
	}
	r.log.Close()
	_ = os.RemoveAll(r.dir)
}

func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// procStats reads the process's CPU time (user+system) and peak RSS.
type procStats struct {
	CPU     time.Duration
	PeakRSS int64 // bytes, VmHWM
}

func readProc(pid int) (procStats, error) {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStats{}, err
	}
	// Fields after the command name, which is in parentheses and may
	// hold spaces.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStats{}, errors.New("malformed /proc stat")
	}
	f := strings.Fields(s[i+2:])
	if len(f) < 15 {
		return procStats{}, errors.New("short /proc stat")
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	const ticks = 100 // sysconf(_SC_CLK_TCK) on Linux
	st := procStats{CPU: time.Duration(utime+stime) * time.Second / ticks}
	status, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return st, err
	}
	defer status.Close()
	sc := bufio.NewScanner(status)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			st.PeakRSS = kb << 10
		}
	}
	return st, nil
}

// resetPeakRSS makes VmHWM start again from the current RSS (Linux
// clear_refs 5), so a measured phase's peak excludes the preload.
func resetPeakRSS(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// runJSON runs a client command and returns its stdout.
func runJSON(ctx context.Context, argv []string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, stderr.String())
	}
	return out, nil
}
