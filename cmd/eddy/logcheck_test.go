package main

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestLogCheck runs `eddy log check` on a stopped server's data directory:
// sound logs pass; a running server's directory is refused; a flipped
// byte in a batch, a torn index and a missing segment are each reported,
// naming the file, with exit status 1.
func TestLogCheck(t *testing.T) {
	dir := t.TempDir()
	p := eddytest.Start(t, eddytest.DataDir(dir), eddytest.Args("--segment-bytes", "4KiB"))
	batch := strings.Repeat(strings.Repeat("x", 100)+"\n", 20) // one ~2 KiB batch per run
	for range 8 {
		mustRun(t, p.KafkaAddr(), batch, "produce", "events")
	}
	mustRun(t, "", "", "stream", "append", "orders", "o-1", "--type", "Created", "--data", "{}", "--server", p.HTTPURL())

	if r := runCLI(t, "", "", "log", "check", dir); r.code() != 1 || !strings.Contains(r.err.Error(), "in use") {
		t.Fatalf("check of a running server's directory: exit %d, %v", r.code(), r.err)
	}
	p.Signal(syscall.SIGTERM)
	if code := p.Wait(30 * time.Second); code != 0 {
		t.Fatalf("serve exit %d\n%s", code, p.Output())
	}

	r := mustRun(t, "", "", "log", "check", dir)
	if !strings.Contains(r.stdout, "OK: 2 partition log(s)") || !regexpLine(r.stdout, `^events-0: [5-9] segment\(s\), 8 batch\(es\), 160 record\(s\), offsets 0 up to 160, clean shutdown marker: ok$`) {
		t.Fatalf("sound data directory:\n%s", r.stdout)
	}
	part := filepath.Join(dir, "events-0")
	if r := mustRun(t, "", "", "log", "check", part); !strings.Contains(r.stdout, "OK: 1 partition log(s)") {
		t.Fatalf("one partition directory:\n%s", r.stdout)
	}
	names, _ := filepath.Glob(filepath.Join(part, "*.log"))
	if len(names) < 5 {
		t.Fatalf("want at least 5 segments in %s, have %v", part, names)
	}

	for _, c := range []struct {
		name    string
		corrupt func(t *testing.T)
		want    string
	}{
		{"flipped byte", func(t *testing.T) { flipByte(t, names[0], 70) }, "corrupt " + names[0] + " at byte 0: invalid batch"},
		{"torn index", func(t *testing.T) {
			if err := os.Truncate(strings.TrimSuffix(names[1], ".log")+".index", 10); err != nil {
				t.Fatal(err)
			}
		}, strings.TrimSuffix(names[1], ".log") + ".index: offset index missing, torn"},
		{"missing segment", func(t *testing.T) {
			for _, suf := range []string{".log", ".index", ".timeindex"} {
				if err := os.Remove(strings.TrimSuffix(names[3], ".log") + suf); err != nil {
					t.Fatal(err)
				}
			}
		}, "corrupt " + names[4] + " at byte 0: segment starts at offset"},
	} {
		c.corrupt(t)
		r := runCLI(t, "", "", "log", "check", dir)
		if r.code() != 1 || !strings.Contains(r.stdout, c.want) || !strings.Contains(r.err.Error(), "problem(s)") {
			t.Fatalf("%s: exit %d (%v), want 1 and a line with %q:\n%s", c.name, r.code(), r.err, c.want, r.stdout)
		}
	}
	if r := runCLI(t, "", "", "log", "check", filepath.Join(dir, "meta.db")); r.code() != 2 {
		t.Fatalf("check of a file: exit %d (%v), want a usage error", r.code(), r.err)
	}
}

// flipByte inverts the byte at off in the file at path.
func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}
