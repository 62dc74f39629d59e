package errtext

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStripPaths(t *testing.T) {
	tests := []struct{ in, want string }{
		{"no path here", "no path here"},
		{"write orders-0: write /var/lib/eddy/orders-0/00000000000000000000.log: no space left on device",
			"write orders-0: write orders-0/00000000000000000000.log: no space left on device"},
		{`open "/tmp/x/meta.db": permission denied`, `open "x/meta.db": permission denied`},
		{"/data/a", "data/a"},
		{"ratio 1/2 stays", "ratio 1/2 stays"},
		{"two /a/b/c and /d/e/f", "two b/c and e/f"},
	}
	for _, tt := range tests {
		if got := StripPaths(tt.in); got != tt.want {
			t.Errorf("StripPaths(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if strings.Contains(StripPaths(tt.in), "/var/") || strings.Contains(StripPaths(tt.in), "/tmp/") {
			t.Errorf("absolute path left in %q", StripPaths(tt.in))
		}
	}
}

func TestIsStorage(t *testing.T) {
	full := fmt.Errorf("write t-0: %w", &fs.PathError{Op: "write", Path: "/d/t-0/0.log", Err: syscall.ENOSPC})
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("plain"), false},
		{full, true},
		{fmt.Errorf("sync: %w", syscall.EIO), true},
		{&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrNotExist}, false},
		{&fs.PathError{Op: "open", Path: "/x", Err: syscall.EACCES}, true},
	}
	for _, tt := range tests {
		if got := IsStorage(tt.err); got != tt.want {
			t.Errorf("IsStorage(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

func TestLimiter(t *testing.T) {
	l := Limiter{Interval: 50 * time.Millisecond}
	if ok, _ := l.Allow("k"); !ok {
		t.Fatal("first line suppressed")
	}
	for i := 0; i < 100; i++ {
		if ok, _ := l.Allow("k"); ok {
			t.Fatal("repeat let through within the interval")
		}
	}
	if ok, _ := l.Allow("other"); !ok {
		t.Fatal("another key suppressed")
	}
	time.Sleep(60 * time.Millisecond)
	ok, n := l.Allow("k")
	if !ok || n != 100 {
		t.Fatalf("after the interval: ok=%v suppressed=%d, want true 100", ok, n)
	}
}
