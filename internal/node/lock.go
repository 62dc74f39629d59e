package node

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lockFileName is the file in the data directory that a running node holds an
// exclusive flock on for as long as it runs. The file stays after exit (the
// kernel drops the lock when the process dies, even on kill -9); deleting it
// would race with a starting server.
const lockFileName = "LOCK"

// ErrDataDirLocked is returned when another process holds the data
// directory's lock.
var ErrDataDirLocked = errors.New("data directory is in use by another eddy serve")

// dataDirLock is a held lock on a data directory.
type dataDirLock struct{ f *os.File }

// lockDataDir takes the exclusive lock on dir/LOCK without waiting, and
// records our pid in the file so the refusal message can name the holder.
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, lockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		holder := ""
		if b, rerr := os.ReadFile(path); rerr == nil {
			if pid := strings.TrimSpace(string(b)); pid != "" {
				holder = " (pid " + pid + ")"
			}
		}
		_ = f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w%s: %s is locked; stop that server or use another --data-dir", ErrDataDirLocked, holder, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return &dataDirLock{f: f}, nil
}

// Unlock releases the lock. The pid is left in the file; it only serves the
// refusal message of a later conflicting start, which re-reads the holder.
func (l *dataDirLock) Unlock() error {
	if err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN); err != nil {
		_ = l.f.Close()
		return fmt.Errorf("unlock data dir: %w", err)
	}
	return l.f.Close()
}
