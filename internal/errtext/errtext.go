// Package errtext prepares error text for clients and logs: it removes
// absolute file-system paths from messages a client sees (they tell an
// attacker the server's layout and say nothing the client can act on),
// recognises storage failures (disk full, I/O errors, read-only file
// systems), and rate-limits log lines that would otherwise repeat once per
// request during an outage.
package errtext

import (
	"errors"
	"io/fs"
	"path/filepath"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// absPath matches an absolute Unix path of two or more elements.
var absPath = regexp.MustCompile(`(^|[\s"'(=:])(/[^\s"'():,;]+/[^\s"'():,;]+)`)

// StripPaths replaces every absolute path in msg by its last two elements
// (a partition directory and a file name, say "orders-0/00000000000000000000.log"),
// which is what a client needs to report a problem without learning where
// the data directory lives.
func StripPaths(msg string) string {
	if !containsSlash(msg) {
		return msg
	}
	return absPath.ReplaceAllStringFunc(msg, func(m string) string {
		i := 0
		for i < len(m) && m[i] != '/' {
			i++
		}
		prefix, p := m[:i], m[i:]
		dir, file := filepath.Split(filepath.Clean(p))
		parent := filepath.Base(dir)
		if parent == "/" || parent == "." {
			return prefix + file
		}
		return prefix + parent + "/" + file
	})
}

func containsSlash(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return true
		}
	}
	return false
}

// storageErrnos are the errors that mean the storage, not the request, is
// at fault.
var storageErrnos = []error{syscall.ENOSPC, syscall.EDQUOT, syscall.EIO, syscall.EROFS, syscall.EMFILE, syscall.ENFILE, syscall.EFBIG}

// IsStorage reports whether err is a storage failure: one of the errnos
// above, anywhere in its chain.
func IsStorage(err error) bool {
	if err == nil {
		return false
	}
	for _, e := range storageErrnos {
		if errors.Is(err, e) {
			return true
		}
	}
	var pe *fs.PathError
	return errors.As(err, &pe) && !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, fs.ErrExist)
}

// Limiter lets one log line through per key and interval: the first
// failure of an episode is logged at once, repeats within Interval are
// counted and reported with the next line that gets through. The zero
// value logs at most once a minute per key.
type Limiter struct {
	// Interval is the least time between two lines of one key; zero
	// means one minute.
	Interval time.Duration
	mu       sync.Mutex
	keys     map[string]*limitState
}

type limitState struct {
	last       time.Time
	suppressed int
}

// Allow reports whether a line for key may be logged now, and how many
// were suppressed since the last one.
func (l *Limiter) Allow(key string) (ok bool, suppressed int) {
	iv := l.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.keys == nil {
		l.keys = make(map[string]*limitState)
	}
	st := l.keys[key]
	if st == nil {
		if len(l.keys) > 1024 {
			clear(l.keys) // bounded: keys are error kinds, not requests
		}
		st = &limitState{}
		l.keys[key] = st
	}
	if !st.last.IsZero() && now.Sub(st.last) < iv {
		st.suppressed++
		return false, 0
	}
	st.last, suppressed, st.suppressed = now, st.suppressed, 0
	return true, suppressed
}
