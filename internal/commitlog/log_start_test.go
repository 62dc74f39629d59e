package commitlog

import (
	"errors"
	"testing"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestDeleteRecordsBefore: the log start offset moves inside a segment,
// whole segments below it go, reads below it are out of range, time
// lookups skip what is below it, and the start survives a clean restart
// and a crash (it is fsynced before the call returns).
func TestDeleteRecordsBefore(t *testing.T) {
	fs := vfs.NewCrashableMem()
	opts := DefaultOptions()
	opts.FS = fs
	opts.SegmentBytes = 4096
	opts.IndexIntervalBytes = 256
	const dir = "/p"
	l := openT(t, dir, opts)
	var bases []int64
	for i := 0; i < 60; i++ {
		base, err := l.Append(makeBatch(4, 100, int64(1000+i*10), byte(i)))
		if err != nil {
			t.Fatal(err)
		}
		bases = append(bases, base)
	}
	segs := l.SegmentCount()
	if segs < 4 {
		t.Fatalf("%d segments, want several", segs)
	}
	hw := l.HighWatermark()
	if _, _, err := l.DeleteRecordsBefore(hw + 1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("delete above the high watermark: %v", err)
	}
	// Inside a batch in the middle of the log.
	cut := bases[30] + 2
	start, n, err := l.DeleteRecordsBefore(cut)
	if err != nil || start != cut || n == 0 || l.SegmentCount() != segs-n {
		t.Fatalf("delete before %d: start %d, %d segments deleted (%d left of %d), %v", cut, start, n, l.SegmentCount(), segs, err)
	}
	check := func(l *Log, what string) {
		t.Helper()
		if got := l.LogStartOffset(); got != cut {
			t.Fatalf("%s: log start %d, want %d", what, got, cut)
		}
		if _, err := l.Read(cut-1, 1); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("%s: read below the start: %v", what, err)
		}
		b, err := l.Read(cut, 1)
		if err != nil {
			t.Fatalf("%s: read at the start: %v", what, err)
		}
		if h, _ := record.ParseBatchHeader(b); h.BaseOffset != bases[30] {
			t.Fatalf("%s: read at the start returned batch %d, want %d (the batch holding it)", what, h.BaseOffset, bases[30])
		}
		// Record 2 of batch 30 has timestamp 1302: a lookup for an
		// earlier time answers the start, not a deleted record.
		off, ts, err := l.TimeLookup(0)
		if err != nil || off != cut || ts != 1000+30*10+2 {
			t.Fatalf("%s: time lookup from 0: %d@%d, %v; want %d", what, off, ts, err, cut)
		}
		if err := l.Check(); err != nil {
			t.Fatalf("%s: check: %v", what, err)
		}
	}
	check(l, "after delete")
	// Lower or equal: nothing changes.
	if start, n, err := l.DeleteRecordsBefore(bases[10]); err != nil || start != cut || n != 0 {
		t.Fatalf("delete before an older offset: %d, %d, %v", start, n, err)
	}
	crashed := fs.CrashClone()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = openT(t, dir, opts)
	check(l, "after reopen")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	opts.FS = crashed
	l = openT(t, dir, opts)
	check(l, "after crash")
	// All of it: the start is the high watermark; appends go on there.
	start, _, err = l.DeleteRecordsBefore(l.HighWatermark())
	if err != nil || start != hw || l.SegmentCount() != 1 {
		t.Fatalf("delete everything: start %d (want %d), %d segments, %v", start, hw, l.SegmentCount(), err)
	}
	if base, err := l.Append(makeBatch(1, 10, 5000, 1)); err != nil || base != hw {
		t.Fatalf("append after deleting everything: %d, %v", base, err)
	}
	if _, err := l.Read(hw-1, 1); !errors.Is(err, ErrOffsetOutOfRange) {
		t.Fatalf("read below: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestStartFileDecode(t *testing.T) {
	b := encodeStartFile(12345)
	if off, err := decodeStartFile(b); err != nil || off != 12345 {
		t.Fatalf("round trip: %d, %v", off, err)
	}
	for i := range b {
		bad := append([]byte(nil), b...)
		bad[i] ^= 0x40
		if _, err := decodeStartFile(bad); err == nil {
			t.Fatalf("flipped byte %d accepted", i)
		}
	}
	if _, err := decodeStartFile(b[:10]); err == nil {
		t.Fatal("short file accepted")
	}
}

func FuzzDecodeStartFile(f *testing.F) {
	f.Add([]byte{})
	f.Add(encodeStartFile(0))
	f.Add(encodeStartFile(1 << 40))
	f.Add(append(encodeStartFile(7), 0))
	f.Fuzz(func(t *testing.T, b []byte) {
		off, err := decodeStartFile(b)
		if err == nil && off < 0 {
			t.Fatalf("negative offset %d accepted", off)
		}
	})
}
