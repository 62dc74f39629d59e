package eventstore

import (
	"bytes"
	"os"
	"strconv"
	"syscall"

	bolt "go.etcd.io/bbolt"
)

// trimMapped drops the index file's pages from this process's page
// tables (madvise MADV_DONTNEED on bbolt's read-only shared mapping), so
// the pages reads and flushes touched stop counting in the process's RSS.
// For a shared file mapping this loses nothing: the pages stay in the
// kernel's page cache (reclaimable, shared with every reader of the file)
// and the next access maps them again with a minor fault. Without it, a
// server with millions of streams maps more and more of the index as
// random streams are read and appended (the kernel maps 16 neighbouring
// cached pages per fault), up to the whole file: 2.7 GB of RSS for 10 M
// streams.
//
// It runs inside a read transaction: bbolt remaps the file (when it
// grows) only under its mmap lock, which read transactions hold shared,
// so the address range is the live mapping for the whole call.
func (s *Store) trimMapped() error {
	return s.db.View(func(tx *bolt.Tx) error { return s.trimTx(tx) })
}

// trimTx is trimMapped inside a read transaction the caller holds.
func (s *Store) trimTx(tx *bolt.Tx) error {
	addr := s.db.Info().Data
	size := uintptr(tx.Size())
	if addr == 0 || size == 0 {
		return nil
	}
	if _, _, errno := syscall.Syscall(syscall.SYS_MADVISE, addr, size, syscall.MADV_DONTNEED); errno != 0 {
		return errno
	}
	return nil
}

// overBudget reports whether this process's resident file-backed pages
// (the "shared" field of /proc/self/statm: mapped files, the binary's own
// text included) exceed budget, so that the index's hot pages
// stay mapped while there is room and trims cost re-faults only when they
// buy back memory. Unknown (no /proc): true.
func (s *Store) overBudget(budget int64) bool {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return true
	}
	f := bytes.Fields(b)
	if len(f) < 3 {
		return true
	}
	pages, err := strconv.ParseInt(string(f[2]), 10, 64)
	if err != nil {
		return true
	}
	return pages*int64(os.Getpagesize()) > budget
}

// maybeTrim is trimMapped when the process is over its mapped budget.
func (s *Store) maybeTrim() error {
	if !s.overBudget(s.cfg.TrimAboveBytes) {
		return nil
	}
	return s.trimMapped()
}
