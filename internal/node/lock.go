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

// LockFileName is the file in the data directory that a running node holds
// an exclusive flock on for as long as it runs. The kernel drops the lock
// when the process dies, even on kill -9; then the file stays, unlocked, and
// the next start takes it. A node that closes (or fails to open) removes the
// file while it still holds the lock, and lockDataDir checks after locking
// that the path still names the file it locked, so a start racing with a
// removal retries instead of holding a lock on a deleted file.
const LockFileName = "LOCK"

// ErrDataDirLocked is returned when another process holds the data
// directory's lock.
var ErrDataDirLocked = errors.New("data directory is in use by another eddy serve")

// dataDirLock is a held lock on a data directory.
type dataDirLock struct {
	f    *os.File
	path string
}

// lockAttempts bounds lockDataDir's retries when the lock file is removed
// under it (each retry means another node released the directory).
const lockAttempts = 10

// lockDataDir takes the exclusive lock on dir/LOCK without waiting, and
// records our pid in the file so the refusal message can name the holder.
func lockDataDir(dir string) (*dataDirLock, error) {
	path := filepath.Join(dir, LockFileName)
	for range lockAttempts {
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
		fi, ferr := f.Stat()
		pi, perr := os.Stat(path)
		if ferr != nil || perr != nil || !os.SameFile(fi, pi) {
			_ = f.Close() // the releasing node removed the file we locked
			continue
		}
		if err := f.Truncate(0); err == nil {
			_, _ = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return &dataDirLock{f: f, path: path}, nil
	}
	return nil, fmt.Errorf("lock %s: the file was removed under us %d times in a row", path, lockAttempts)
}

// Unlock removes the lock file and then releases the lock, so a clean stop
// leaves no LOCK behind.
func (l *dataDirLock) Unlock() error {
	var errs []error
	if err := os.Remove(l.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, fmt.Errorf("remove lock file: %w", err))
	}
	if err := unix.Flock(int(l.f.Fd()), unix.LOCK_UN); err != nil {
		errs = append(errs, fmt.Errorf("unlock data dir: %w", err))
	}
	if err := l.f.Close(); err != nil {
		errs = append(errs, fmt.Errorf("close lock file: %w", err))
	}
	return errors.Join(errs...)
}
