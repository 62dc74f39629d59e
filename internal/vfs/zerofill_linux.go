package vfs

import (
	"fmt"
	"os"
	"syscall"
)

// zeroPiece is how many zeros FillZeros writes before it starts their
// writeback: it bounds what a concurrent fsync of the file can find dirty.
const zeroPiece = 256 << 10

// zeros is never written.
var zeros = make([]byte, zeroPiece)

// FillZeros writes the zeros through the page cache with a descriptor of
// its own, starting the writeback of each piece as soon as it is written
// (sync_file_range), then waits for it and fdatasyncs. The pages stay
// cached and clean: an append that ends mid-page finds its page there
// instead of reading it back from disk (zeros written with O_DIRECT cost
// every such append a synchronous read), and the file's next fsync has no
// zeros left to write. Its own descriptor keeps the kernel's per-descriptor
// writeback-error reporting intact for the file's: an error this fill sees
// is reported to the file's next Sync as well.
func (f osFile) FillZeros(off, n int64) error {
	if off < 0 || n <= 0 || off%ZeroFillAlign != 0 || n%ZeroFillAlign != 0 {
		return &os.PathError{Op: "fill zeros", Path: f.Name(), Err: syscall.EINVAL}
	}
	of, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("fill zeros: %w", err)
	}
	defer of.Close()
	zf := osFile{of}
	for pos, end := off, off+n; pos < end; {
		k := min(int64(len(zeros)), end-pos)
		if _, err := zf.WriteAt(zeros[:k], pos); err != nil {
			return fmt.Errorf("fill zeros: %w", err)
		}
		if err := zf.StartWriteback(pos, k); err != nil {
			return fmt.Errorf("fill zeros: %w", err)
		}
		pos += k
	}
	if err := zf.Sync(); err != nil {
		return fmt.Errorf("fill zeros: %w", err)
	}
	return nil
}
