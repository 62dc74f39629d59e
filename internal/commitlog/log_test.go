package commitlog

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	if runChildIfRequested() || runDeferChildIfRequested() {
		return
	}
	goleak.VerifyTestMain(m)
}

func TestAppendReadReopen(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		opts := o
		opts.SegmentBytes = 4096
		opts.IndexIntervalBytes = 256
		l := openT(t, dir, opts)
		var want [][]byte
		var next int64
		for i := 0; i < 100; i++ {
			b := makeBatch(1+i%5, 50+i, int64(1000+i*10), byte(i))
			base, err := l.Append(b)
			if err != nil {
				t.Fatalf("append %d: %v", i, err)
			}
			if base != next {
				t.Fatalf("append %d: base %d, want %d", i, base, next)
			}
			h := mustCheck(t, b)
			next = h.LastOffset() + 1
			want = append(want, append([]byte(nil), b...))
		}
		if got := l.HighWatermark(); got != next {
			t.Fatalf("hw %d, want %d", got, next)
		}
		if l.SegmentCount() < 3 {
			t.Fatalf("segments %d, want rolls", l.SegmentCount())
		}
		check := func(l *Log) {
			t.Helper()
			var off int64
			for i, w := range want {
				h := mustCheck(t, w)
				for o := h.BaseOffset; o <= h.LastOffset(); o++ {
					got, err := l.Read(o, 1)
					if err != nil {
						t.Fatalf("read %d: %v", o, err)
					}
					if !bytes.Equal(got, w) {
						t.Fatalf("read %d (batch %d): got %d bytes, want batch of %d", o, i, len(got), len(w))
					}
				}
				off = h.LastOffset() + 1
			}
			if b, err := l.Read(off, 100); err != nil || b != nil {
				t.Fatalf("read at hw: %v %v", b, err)
			}
			if _, err := l.Read(off+1, 100); !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatalf("read past hw: %v", err)
			}
			// Reading everything in big chunks gives the concatenation.
			var all []byte
			for o := int64(0); o < off; {
				b, err := l.Read(o, 1000)
				if err != nil {
					t.Fatal(err)
				}
				all = append(all, b...)
				for p := 0; p < len(b); {
					h := mustCheck(t, b[p:])
					o = h.LastOffset() + 1
					p += h.Size()
				}
			}
			if !bytes.Equal(all, bytes.Join(want, nil)) {
				t.Fatalf("concatenated read differs")
			}
		}
		check(l)
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = openT(t, dir, opts)
		check(l)
		if got := l.LogEndOffset(); got != next {
			t.Fatalf("leo after reopen %d, want %d", got, next)
		}
		off, err := l.OffsetForTime(1000 + 50*10)
		if err != nil {
			t.Fatal(err)
		}
		if h := mustCheck(t, want[50]); off != h.BaseOffset {
			t.Fatalf("offset for time: %d, want %d", off, h.BaseOffset)
		}
		if _, err := l.OffsetForTime(1 << 50); !errors.Is(err, ErrNotFound) {
			t.Fatalf("offset for future time: %v", err)
		}
		ts, mo := l.MaxTimestamp()
		if h := mustCheck(t, want[99]); ts != h.MaxTimestamp || mo != h.BaseOffset {
			t.Fatalf("max timestamp %d@%d, want %d@%d", ts, mo, h.MaxTimestamp, h.BaseOffset)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Read(0, 1); !errors.Is(err, ErrClosed) {
			t.Fatalf("read after close: %v", err)
		}
	})
}

func TestWriteRejectsBadBatchWhole(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		l := openT(t, dir, o)
		defer l.Close()
		good := makeBatch(2, 10, 1, 1)
		bad := makeBatch(2, 10, 1, 2)
		bad[len(bad)-1] ^= 1
		buf := append(append([]byte(nil), good...), bad...)
		_, _, err := l.Write(buf)
		var be *record.BatchError
		if !errors.As(err, &be) || !be.Corrupt || be.Pos != len(good) {
			t.Fatalf("err %v, want corrupt record.BatchError at %d", err, len(good))
		}
		if l.LogEndOffset() != 0 {
			t.Fatalf("leo %d after rejected write", l.LogEndOffset())
		}
	})
}

func TestRetention(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		now := time.UnixMilli(1_000_000)
		opts := o
		opts.SegmentBytes = 1000
		opts.Now = func() time.Time { return now }
		l := openT(t, dir, opts)
		defer l.Close()
		for i := 0; i < 30; i++ {
			if _, err := l.Append(makeBatch(1, 300, now.UnixMilli(), 1)); err != nil {
				t.Fatal(err)
			}
		}
		segs := l.SegmentCount()
		opts.RetentionBytes = 2000
		if err := l.Reconfigure(opts); err != nil {
			t.Fatal(err)
		}
		n, err := l.EnforceRetention()
		if err != nil || n == 0 {
			t.Fatalf("retention by size: %d %v", n, err)
		}
		if l.SegmentCount() != segs-n || l.Size() < 2000 {
			t.Fatalf("segments %d size %d", l.SegmentCount(), l.Size())
		}
		if _, err := l.Read(0, 10); !errors.Is(err, ErrOffsetOutOfRange) {
			t.Fatalf("read below start: %v", err)
		}
		if _, err := l.Read(l.LogStartOffset(), 10); err != nil {
			t.Fatalf("read at start: %v", err)
		}
		now = now.Add(8 * 24 * time.Hour)
		n, err = l.EnforceRetention()
		if err != nil || n == 0 {
			t.Fatalf("retention by age: %d %v", n, err)
		}
		if l.SegmentCount() != 1 || l.LogStartOffset() != l.LogEndOffset() || l.Size() != 0 {
			t.Fatalf("after age retention: segs %d start %d end %d", l.SegmentCount(), l.LogStartOffset(), l.LogEndOffset())
		}
	})
}

// TestClosedIndexesBounded checks that reading every segment keeps at most
// maxLoadedIndex closed segments' indexes in memory (heap does not grow
// with data stored) while reads stay correct.
func TestClosedIndexesBounded(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		o.SegmentBytes = 2000
		o.IndexIntervalBytes = 100
		l := openT(t, dir, o)
		var written [][]byte
		for i := 0; i < 300; i++ {
			b := makeBatch(1, 150, int64(i), byte(i))
			if _, err := l.Append(b); err != nil {
				t.Fatal(err)
			}
			written = append(written, append([]byte(nil), b...))
		}
		l.Close()
		l = openT(t, dir, o)
		defer l.Close()
		if l.SegmentCount() < 30 {
			t.Fatalf("only %d segments", l.SegmentCount())
		}
		loaded := func() int {
			n := 0
			for _, s := range l.mu.segs {
				s.imu.Lock()
				if s.loaded {
					n++
				}
				s.imu.Unlock()
			}
			return n
		}
		if n := loaded(); n != 1 {
			t.Fatalf("%d indexes loaded right after open, want only the active one", n)
		}
		for i, w := range written {
			got, err := l.Read(int64(i), 1)
			if err != nil || !bytes.Equal(got, w) {
				t.Fatalf("read %d: %v", i, err)
			}
			if n := loaded(); n > maxLoadedIndex+1 {
				t.Fatalf("%d indexes in memory, want at most %d", n, maxLoadedIndex+1)
			}
		}
	})
}

func TestCheckFindsCorruption(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		o.SegmentBytes = 1000
		l := openUnchecked(t, dir, o) // damaged below on purpose
		defer l.Close()
		for i := 0; i < 10; i++ {
			if _, err := l.Append(makeBatch(2, 100, int64(i), byte(i))); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.Check(); err != nil {
			t.Fatalf("check of a good log: %v", err)
		}
		// Flip a byte inside the first (closed) segment behind the log's back.
		flip(t, o.FS, filepath.Join(dir, segmentName(0, logSuffix)), 100)
		var ce *CorruptionError
		if err := l.Check(); !errors.As(err, &ce) || !errors.Is(err, record.ErrInvalidBatch) {
			t.Fatalf("check: %v, want CorruptionError wrapping a record.BatchError", err)
		}
	})
}

func TestVerify(t *testing.T) {
	forAllPerms(t, func(t *testing.T, o Options, dir string) {
		o.SegmentBytes = 1000
		o.IndexIntervalBytes = 100
		l := openUnchecked(t, dir, o) // damaged below on purpose
		for i := 0; i < 12; i++ {
			if _, err := l.Append(makeBatch(2, 100, int64(i), byte(i))); err != nil {
				t.Fatal(err)
			}
		}
		segs := l.SegmentCount()
		l.Close()
		r, err := Verify(o.FS, dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := r.Err(); err != nil || !r.Clean || len(r.Segments) != segs {
			t.Fatalf("healthy log: err %v clean %v segments %d/%d", err, r.Clean, len(r.Segments), segs)
		}
		var records int64
		for _, s := range r.Segments {
			records += s.Records
			if !s.IndexOK || !s.TimeIndexOK {
				t.Fatalf("segment %d: index ok %v time index ok %v", s.Base, s.IndexOK, s.TimeIndexOK)
			}
		}
		if records != 24 {
			t.Fatalf("records %d, want 24", records)
		}
		flip(t, o.FS, filepath.Join(dir, segmentName(0, logSuffix)), 70)
		r, err = Verify(o.FS, dir)
		if err != nil {
			t.Fatal(err)
		}
		var ce *CorruptionError
		if err := r.Err(); !errors.As(err, &ce) || r.Segments[0].ValidBytes != 0 {
			t.Fatalf("corrupt log: %v, valid bytes %d", err, r.Segments[0].ValidBytes)
		}
	})
}
