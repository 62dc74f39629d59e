package commitlog

import (
	"errors"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// faultOn fails op on paths ending in suffix while armed.
func faultOn(fs *vfs.MemFS, op vfs.Op, suffix string, err error, armed *atomic.Bool) {
	fs.SetFault(func(o vfs.Op, path string) error {
		if armed.Load() && o == op && strings.HasSuffix(path, suffix) {
			return err
		}
		return nil
	})
}

func TestAppendFaults(t *testing.T) {
	cases := []struct {
		name   string
		op     vfs.Op
		suffix string
		err    error
		// roll forces the append to roll a segment (exercises open/syncdir).
		roll bool
	}{
		{"ENOSPC on write", vfs.OpWrite, logSuffix, syscall.ENOSPC, false},
		{"EIO on write", vfs.OpWrite, logSuffix, syscall.EIO, false},
		{"EIO on fsync", vfs.OpSync, logSuffix, syscall.EIO, false},
		{"EIO on open at roll", vfs.OpOpen, logSuffix, syscall.EIO, true},
		{"EIO on fsync at roll", vfs.OpSync, logSuffix, syscall.EIO, true},
		{"EIO on dir sync at roll", vfs.OpSyncDir, "topic-0", syscall.EIO, true},
		{"ENOSPC on index write at roll", vfs.OpWrite, idxSuffix, syscall.ENOSPC, true},
	}
	for _, tc := range cases {
		for _, policy := range []SyncPolicy{SyncAlways, SyncNever} {
			t.Run(tc.name+"/"+policy.String(), func(t *testing.T) {
				fs := vfs.NewMem()
				var armed atomic.Bool
				faultOn(fs, tc.op, tc.suffix, tc.err, &armed)
				o := memOpts(fs, policy)
				o.SegmentBytes = 1 << 20
				if tc.roll {
					o.SegmentBytes = 1000
				}
				l := openT(t, crashDir, o)
				var acked [][]byte
				appendOK := func() {
					t.Helper()
					b := makeBatch(2, 150, 1, byte(len(acked)))
					if _, err := l.Append(b); err != nil {
						t.Fatalf("append: %v", err)
					}
					acked = append(acked, append([]byte(nil), b...))
				}
				for i := 0; i < 2; i++ {
					appendOK()
				}
				armed.Store(true)
				failed := 0
				for i := 0; i < 6; i++ {
					b := makeBatch(2, 150, 1, 0xee)
					if _, err := l.Append(b); err != nil {
						if !errors.Is(err, tc.err) {
							t.Fatalf("append error %v, want %v", err, tc.err)
						}
						failed++
						continue
					}
					acked = append(acked, append([]byte(nil), b...))
				}
				if failed == 0 && !(policy == SyncNever && tc.op == vfs.OpSync) {
					t.Fatalf("no append failed under the fault")
				}
				if l.HighWatermark() > l.LogEndOffset() {
					t.Fatalf("hw %d beyond leo %d", l.HighWatermark(), l.LogEndOffset())
				}
				armed.Store(false)
				for i := 0; i < 3; i++ {
					appendOK()
				}
				checkPrefix(t, "live", readAllBatches(t, l), acked, len(acked))
				if policy == SyncAlways {
					// Everything acknowledged survives a power cut now.
					c := fs.CrashClone()
					l2 := openT(t, crashDir, o.withFS(c))
					checkPrefix(t, "after crash", readAllBatches(t, l2), acked, len(acked))
					l2.Close()
				}
				if err := l.Close(); err != nil {
					t.Fatalf("close: %v", err)
				}
				l3 := openT(t, crashDir, o)
				checkPrefix(t, "after reopen", readAllBatches(t, l3), acked, len(acked))
				l3.Close()
			})
		}
	}
}

// TestFsyncGateTailDropped checks that after a failed fsync the bytes
// written before it are not acknowledged later by a successful fsync.
func TestFsyncGateTailDropped(t *testing.T) {
	fs := vfs.NewMem()
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 1 << 20
	l := openT(t, crashDir, o)
	defer l.Close()
	b1 := makeBatch(1, 100, 1, 1)
	if _, err := l.Append(b1); err != nil {
		t.Fatal(err)
	}
	b2 := makeBatch(1, 100, 2, 2)
	_, next, err := l.Write(b2)
	if err != nil {
		t.Fatal(err)
	}
	fs.FailNextSync(syscall.EIO)
	if err := l.WaitDurable(next); !errors.Is(err, syscall.EIO) {
		t.Fatalf("wait durable: %v, want EIO", err)
	}
	if l.HighWatermark() != 1 {
		t.Fatalf("hw %d, want 1", l.HighWatermark())
	}
	b3 := makeBatch(1, 100, 3, 3)
	base, err := l.Append(b3)
	if err != nil {
		t.Fatal(err)
	}
	if base != 1 {
		t.Fatalf("append after failed fsync got base %d, want 1 (the lost tail reused)", base)
	}
	got := readAllBatches(t, openCrashed(t, fs, crashDir, o))
	checkPrefix(t, "after crash", got, [][]byte{b1, b3}, 2)
}

// openCrashed opens the log in a power-cut image of fs, checked and closed
// at cleanup (openT).
func openCrashed(t *testing.T, fs *vfs.MemFS, dir string, o Options) *Log {
	t.Helper()
	return openT(t, dir, o.withFS(fs.CrashClone()))
}
