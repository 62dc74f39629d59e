//go:build linux

package main

import (
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dropPageCache asks the kernel to drop the cached pages of every file
// under dir (posix_fadvise DONTNEED, after fsync so that none is dirty).
func dropPageCache(dir string) error {
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fh, err := os.Open(path)
		if err != nil {
			return nil // removed meanwhile
		}
		defer fh.Close()
		_ = fh.Sync()
		if err := unix.Fadvise(int(fh.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			return fmt.Errorf("drop page cache of %s: %w", path, err)
		}
		return nil
	})
}
