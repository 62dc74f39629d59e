package vfs

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// OpenVolume opens dir and keeps the descriptor for syncfs(2). The kernel
// reports a writeback error to each descriptor once (since Linux 5.8), so
// one long-lived handle sees every error that happens after it was opened.
//
// A FUSE file system gets ErrNoVolume: the kernel does not pass syncfs(2)
// on to a FUSE server (only virtiofs gets FUSE_SYNCFS), so the call would
// return success having made nothing durable; callers fsync file by file.
func (osFS) OpenVolume(dir string) (Volume, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err == nil && st.Type == unix.FUSE_SUPER_MAGIC {
		return nil, fmt.Errorf("open volume of %s: %w: syncfs(2) does not reach a FUSE file system's server", dir, ErrNoVolume)
	}
	f, err := os.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("open volume of %s: %w", dir, err)
	}
	return &osVolume{f: f}, nil
}

type osVolume struct{ f *os.File }

func (v *osVolume) Sync() error {
	for {
		err := unix.Syncfs(int(v.f.Fd()))
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &os.PathError{Op: "syncfs", Path: v.f.Name(), Err: err}
		}
		return nil
	}
}

func (v *osVolume) DirtyBytes() (int64, bool) {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	dirty, ok1 := meminfoBytes(b, "Dirty:")
	wb, ok2 := meminfoBytes(b, "Writeback:")
	return dirty + wb, ok1 && ok2
}

func (v *osVolume) Close() error { return v.f.Close() }

// meminfoBytes returns the value of a "Key:   123 kB" line of /proc/meminfo
// in bytes.
func meminfoBytes(meminfo []byte, key string) (int64, bool) {
	i := bytes.Index(meminfo, []byte("\n"+key))
	if i < 0 {
		return 0, false
	}
	line := meminfo[i+1+len(key):]
	if j := bytes.IndexByte(line, '\n'); j >= 0 {
		line = line[:j]
	}
	fields := bytes.Fields(line)
	if len(fields) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(fields[0]), 10, 64)
	if err != nil {
		return 0, false
	}
	if len(fields) > 1 && string(fields[1]) == "kB" {
		n *= 1024
	}
	return n, true
}
