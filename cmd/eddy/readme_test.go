package main

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// readmeCommands returns the indented command lines of README.md's first
// code block and of its "Try it" block, comments stripped.
func readmeCommands(t *testing.T) (first, tryIt []string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	var blocks [][]string
	var cur []string
	inTry, tryBlock := false, -1
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "## ") {
			inTry = l == "## Try it"
		}
		if strings.HasPrefix(l, "    ") {
			cmd, _, _ := strings.Cut(strings.TrimSpace(l), "   #")
			cur = append(cur, strings.TrimSpace(cmd))
			continue
		}
		if cur != nil {
			if inTry && tryBlock < 0 {
				tryBlock = len(blocks)
			}
			blocks = append(blocks, cur)
			cur = nil
		}
	}
	if len(blocks) == 0 || tryBlock < 0 {
		t.Fatalf("README.md: no first code block or no Try it block")
	}
	return blocks[0], blocks[tryBlock]
}

// TestReadmeRunCommand runs the README's first command as a shell runs it
// (in the repository root, so it builds bin/eddy there, as for a
// newcomer), with the environment choosing a data directory and free
// loopback ports, then sends SIGTERM to the whole process group as a
// terminal's Ctrl-C or kill does: the server must stop cleanly, leaving no
// process and no LOCK file.
func TestReadmeRunCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds bin/eddy")
	}
	first, tryIt := readmeCommands(t)
	const want = "go build -o bin/eddy ./cmd/eddy && bin/eddy serve"
	if first[0] != want {
		t.Fatalf("README's first command is %q; this test runs %q", first[0], want)
	}
	// "Try it" runs the built binary in the background, so `kill $!` signals
	// the server itself (not a `go run` parent that would orphan it), and
	// writes to a topic of its own, not the seed tutorial's order-events.
	try := strings.Join(tryIt, "\n")
	if tryIt[0] != "bin/eddy serve &" || tryIt[len(tryIt)-1] != "kill $!" ||
		strings.Contains(try, "go run") || strings.Contains(try, "order-events") {
		t.Fatalf("README's Try it block:\n%s", try)
	}

	data := filepath.Join(t.TempDir(), "eddy-data")
	cmd := exec.Command("bash", "-c", first[0])
	cmd.Dir = filepath.Join("..", "..")
	cmd.Env = append(eddytest.CleanEnv(),
		"EDDY_DATA_DIR="+data,
		"EDDY_KAFKA_ADDR=127.0.0.1:0",
		"EDDY_HTTP_ADDR=127.0.0.1:0",
		"EDDY_LOG_FORMAT=json",
	)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	out := &lockedBuffer{}
	cmd.Stdout = out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pgid, syscall.SIGKILL) })

	var mu sync.Mutex
	var logs strings.Builder
	started := make(chan struct{})
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		sc := bufio.NewScanner(stderr)
		once := sync.Once{}
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if strings.Contains(sc.Text(), `"msg":"eddy started"`) {
				once.Do(func() { close(started) })
			}
		}
	}()
	output := func() string {
		mu.Lock()
		defer mu.Unlock()
		return out.String() + logs.String()
	}
	select {
	case <-started:
	case <-readDone:
		t.Fatalf("the command ended before the server started:\n%s", output())
	case <-time.After(3 * time.Minute):
		t.Fatalf("no start within 3 minutes:\n%s", output())
	}
	if _, err := os.Stat(filepath.Join(data, node.LockFileName)); err != nil {
		t.Fatalf("running server holds no LOCK file: %v", err)
	}

	if err := syscall.Kill(-pgid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { <-readDone; exited <- cmd.Wait() }()
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("still running 30s after SIGTERM:\n%s", output())
	}
	if !strings.Contains(output(), `"msg":"eddy stopped cleanly"`) {
		t.Fatalf("no clean stop logged:\n%s", output())
	}
	if err := syscall.Kill(-pgid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("a process of the command's group is still alive (kill -0: %v)", err)
	}
	if _, err := os.Stat(filepath.Join(data, node.LockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LOCK left after the stop: %v", err)
	}
}
