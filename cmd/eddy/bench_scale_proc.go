package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// scaleTarget is one broker `eddy bench scale` measures: an eddy binary it
// runs with `serve`, or any other broker started by a command line whose
// {port} and {dir} are replaced by the Kafka port and the data directory.
type scaleTarget struct {
	Name  string   `json:"name"`
	Eddy  string   `json:"eddy,omitempty"`    // eddy binary
	Cmd   string   `json:"command,omitempty"` // other brokers
	Flags []string `json:"flags,omitempty"`   // extra `eddy serve` flags
}

// parsePeer parses --peer NAME=COMMAND.
func parsePeer(s string) (scaleTarget, error) {
	name, cmd, ok := strings.Cut(s, "=")
	if !ok || name == "" || !strings.Contains(cmd, "{port}") {
		return scaleTarget{}, usageError{fmt.Errorf("--peer %q: want NAME=COMMAND with {port} (and {dir}) in the command, e.g. kfake='peer kfake --port {port} --dir {dir} --sync'", s)}
	}
	return scaleTarget{Name: name, Cmd: cmd}, nil
}

// scaleServer is a running broker process.
type scaleServer struct {
	target scaleTarget
	dir    string
	kafka  string // host:port
	http   string // eddy's HTTP address; empty for other brokers
	cmd    *exec.Cmd
	log    *os.File
	done   chan struct{}
}

// freeLoopbackPort returns a port that was free a moment ago.
func freeLoopbackPort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// startScaleServer starts t on data directory dir (kept as it is: fresh
// or left by an earlier run) and returns once it serves, with how long
// that took: for eddy until /readyz answers 200, for others until the Kafka
// port accepts connections.
func startScaleServer(t scaleTarget, dir string, timeout time.Duration) (*scaleServer, time.Duration, error) {
	kport, err := freeLoopbackPort()
	if err != nil {
		return nil, 0, err
	}
	s := &scaleServer{target: t, dir: dir, kafka: "127.0.0.1:" + strconv.Itoa(kport), done: make(chan struct{})}
	var argv []string
	if t.Eddy != "" {
		hport, err := freeLoopbackPort()
		if err != nil {
			return nil, 0, err
		}
		s.http = "127.0.0.1:" + strconv.Itoa(hport)
		argv = append([]string{t.Eddy, "serve", "--data-dir", dir, "--kafka-addr", s.kafka, "--http-addr", s.http,
			"--schema-registry-addr", "", "--log-level", "warn"}, t.Flags...)
	} else {
		cmd := strings.NewReplacer("{port}", strconv.Itoa(kport), "{dir}", dir).Replace(t.Cmd)
		argv = strings.Fields(cmd)
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, 0, fmt.Errorf("create work dir: %w", err)
	}
	logf, err := os.OpenFile(dir+".log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, 0, fmt.Errorf("open broker log: %w", err)
	}
	s.log = logf
	s.cmd = exec.Command(argv[0], argv[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logf, logf
	stopWithParent(s.cmd)
	start := time.Now()
	if err := s.cmd.Start(); err != nil {
		logf.Close()
		return nil, 0, fmt.Errorf("start %s: %w", t.Name, err)
	}
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	deadline := start.Add(timeout)
	for {
		if s.ready() {
			return s, time.Since(start), nil
		}
		select {
		case <-s.done:
			logf.Close()
			return nil, 0, fmt.Errorf("%s exited while starting (log: %s)", t.Name, logf.Name())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.kill()
			return nil, 0, fmt.Errorf("%s not ready within %s (log: %s)", t.Name, timeout, logf.Name())
		}
	}
}

func (s *scaleServer) ready() bool {
	if s.http != "" {
		c := http.Client{Timeout: time.Second}
		resp, err := c.Get("http://" + s.http + "/readyz")
		if err != nil {
			return false
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}
	c, err := net.DialTimeout("tcp", s.kafka, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

func (s *scaleServer) pid() int { return s.cmd.Process.Pid }

// stop stops the broker with SIGTERM (a clean stop) and waits for it.
func (s *scaleServer) stop() error {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(60 * time.Second):
		s.kill()
		return fmt.Errorf("%s did not stop within 60s of SIGTERM; killed", s.target.Name)
	}
	s.log.Close()
	return nil
}

// kill stops the broker with SIGKILL (a crash) and waits for it.
func (s *scaleServer) kill() {
	_ = s.cmd.Process.Kill()
	<-s.done
	s.log.Close()
}

// procSample is what /proc tells about a process.
type procSample struct {
	CPUSeconds float64 // user + system
	RSSBytes   int64   // VmRSS
	HWMBytes   int64   // VmHWM
	Threads    int
	OpenFiles  int
}

// clockTicks is USER_HZ, the unit of /proc/PID/stat's times (100 on every
// Linux architecture Go supports).
const clockTicks = 100

// readProc samples process pid.
func readProc(pid int) (procSample, error) {
	var p procSample
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return p, fmt.Errorf("read /proc: %w", err)
	}
	// Fields after the command name, which is in parentheses.
	i := strings.LastIndexByte(string(stat), ')')
	if i < 0 {
		return p, errors.New("read /proc: malformed stat")
	}
	f := strings.Fields(string(stat[i+1:]))
	if len(f) < 13 {
		return p, errors.New("read /proc: short stat")
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	p.CPUSeconds = float64(ut+st) / clockTicks
	sf, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return p, fmt.Errorf("read /proc: %w", err)
	}
	defer sf.Close()
	sc := bufio.NewScanner(sf)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) == 0 {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			p.RSSBytes = n << 10
		case "VmHWM":
			p.HWMBytes = n << 10
		case "Threads":
			p.Threads = int(n)
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		p.OpenFiles = len(ents)
	}
	return p, nil
}

// resetHWM restarts VmHWM's count from the current RSS.
func resetHWM(pid int) {
	_ = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// goroutines reads go_goroutines from an eddy server's /metrics; -1 when
// it cannot (another broker).
func (s *scaleServer) goroutines(ctx context.Context) int {
	return int(s.gauge(ctx, "go_goroutines"))
}

// gauge reads one unlabelled metric from the broker's /metrics, or -1 when
// the broker has no HTTP listener or the metric is missing.
func (s *scaleServer) gauge(ctx context.Context, name string) float64 {
	if s.http == "" {
		return -1
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.http+"/metrics", nil)
	if err != nil {
		return -1
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			n, err := strconv.ParseFloat(v, 64)
			if err == nil {
				return n
			}
		}
	}
	return -1
}
