package vfs

import (
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// residentPages counts the pages of f's first n bytes in the page cache.
func residentPages(t *testing.T, f File, n int) int {
	t.Helper()
	m, err := unix.Mmap(int(f.(osFile).Fd()), 0, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(m)
	vec := make([]byte, (n+4095)/4096)
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&m[0])), uintptr(n), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	k := 0
	for _, v := range vec {
		k += int(v & 1)
	}
	return k
}

// TestDropCacheOnDisk drops the synced first half of a real file from the
// page cache and checks, with mincore(2), that the second half stayed and
// that the content still reads back.
func TestDropCacheOnDisk(t *testing.T) {
	const size = 4 << 20
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f := writeFile(t, OS(), filepath.Join(t.TempDir(), "f"), data, true)
	defer f.Close()
	if got := residentPages(t, f, size); got < size/4096*9/10 {
		t.Skipf("only %d of %d pages cached after writing: no page cache to test", got, size/4096)
	}
	if err := f.(CacheDropper).DropCache(0, size/2); err != nil {
		t.Fatal(err)
	}
	first := residentPages(t, f, size/2)
	all := residentPages(t, f, size)
	if first > size/2/4096/10 || all-first < size/2/4096*9/10 {
		t.Fatalf("after dropping the first half: %d of its pages cached, %d of the second half's %d", first, all-first, size/2/4096)
	}
	buf := make([]byte, size)
	if _, err := f.ReadAt(buf, 0); err != nil || string(buf) != string(data) {
		t.Fatalf("read back after the drop: %v, equal %v", err, string(buf) == string(data))
	}
}
