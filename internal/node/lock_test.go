package node

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestLockRemovedOnUnlock: a second lock on a held directory is refused;
// Unlock removes LOCK, and the directory can be locked again.
func TestLockRemovedOnUnlock(t *testing.T) {
	dir := t.TempDir()
	l, err := lockDataDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to the open file description, so a second open in
	// the same process conflicts just as another process would.
	if _, err := lockDataDir(dir); !errors.Is(err, ErrDataDirLocked) {
		t.Fatalf("second lock: %v, want ErrDataDirLocked", err)
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, LockFileName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("LOCK after unlock: %v, want it removed", err)
	}
	l2, err := lockDataDir(dir)
	if err != nil {
		t.Fatalf("lock after unlock: %v", err)
	}
	if err := l2.Unlock(); err != nil {
		t.Fatal(err)
	}
}
