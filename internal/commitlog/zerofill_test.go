package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/vfs"
	dto "github.com/prometheus/client_model/go"
)

// zeroOpts are SyncAlways options on fs with segments big enough for
// zero-filling ahead (memOpts' 2 KiB segments are smaller than one fill).
func zeroOpts(fs vfs.FS) Options {
	o := memOpts(fs, SyncAlways)
	o.SegmentBytes = 512 << 10
	o.PreallocateBytes = 128 << 10
	o.IndexIntervalBytes = 4096
	return o
}

// activeFill waits for the active segment's zero-fill and returns its file
// path, its size and how far it is zero-filled.
func activeFill(l *Log) (path string, size, alloc int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.activeLocked()
	l.waitFill(a)
	return a.logPath, a.size, a.alloc
}

func fileSize(t *testing.T, fs vfs.FS, path string) int64 {
	t.Helper()
	st, err := fs.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// checkVerified runs Verify on a stopped log and fails on any problem or
// on zeros left in any segment when zerosOK is false.
func checkVerified(t *testing.T, fs vfs.FS, dir string, zerosOK bool) *VerifyReport {
	t.Helper()
	r, err := Verify(fs, dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, s := range r.Segments {
		if s.ZeroBytes > 0 && !zerosOK {
			t.Fatalf("segment %d keeps %d zero bytes", s.Base, s.ZeroBytes)
		}
	}
	return r
}

// TestZeroFillAheadAndReleased: an fsync=always log keeps its active
// segment zero-filled ahead of its end; sealing a segment and closing the
// log cut the zeros off, so only the active segment of a crashed log can
// hold them, and a clean reopen trusts the files.
func TestZeroFillAheadAndReleased(t *testing.T) {
	fs := vfs.NewMem()
	o := zeroOpts(fs)
	l := openT(t, "/data/z", o)
	var batches [][]byte
	ahead := false
	for l.SegmentCount() < 3 {
		b := makeBatch(4, 1000, int64(len(batches)), byte(len(batches)))
		if _, err := l.Append(b); err != nil {
			t.Fatal(err)
		}
		batches = append(batches, append([]byte(nil), b...))
		l.mu.Lock()
		if a := l.activeLocked(); a.fill != nil && a.fill.from < a.size {
			t.Fatalf("zero-filling from %d, below the data end %d", a.fill.from, a.size)
		}
		l.mu.Unlock()
		path, size, alloc := activeFill(l)
		if got := fileSize(t, fs, path); got > size {
			ahead = true
			if got != alloc || got%vfs.ZeroFillAlign != 0 {
				t.Fatalf("file is %d bytes, zero-filled to %d", got, alloc)
			}
		}
	}
	if !ahead {
		t.Fatal("the active segment was never zero-filled ahead of its end")
	}
	crashed := fs.CrashClone()
	r := checkVerified(t, crashed, "/data/z", true)
	for _, s := range r.Segments[:len(r.Segments)-1] {
		if s.ZeroBytes > 0 || s.Bytes != s.ValidBytes {
			t.Fatalf("sealed segment %d: %d bytes, %d valid, %d zero", s.Base, s.Bytes, s.ValidBytes, s.ZeroBytes)
		}
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if r := checkVerified(t, fs, "/data/z", false); !r.Clean {
		t.Fatal("clean-shutdown marker does not match the files after Close")
	}
	for _, from := range []*vfs.MemFS{fs, crashed} {
		l2 := openT(t, "/data/z", o.withFS(from))
		got := readAllBatches(t, l2)
		if from == fs && len(got) != len(batches) {
			t.Fatalf("read %d batches after a clean close, wrote %d", len(got), len(batches))
		}
		checkPrefix(t, "reopened", got, batches, len(got))
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		checkVerified(t, from, "/data/z", false)
	}
}

// TestPowerLossWhileZeroFilling cuts power at random moments while four
// appenders write through several segment rolls with zero-fills running:
// every acknowledged batch survives, and the zeros are gone after reopen.
func TestPowerLossWhileZeroFilling(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		t.Run(fmt.Sprint("seed=", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, seed))
			fs := vfs.NewMem()
			o := zeroOpts(fs)
			l := openT(t, "/data/z", o)
			const writers, per = 4, 60
			crashAt := map[int]bool{}
			for len(crashAt) < 3 {
				crashAt[1+rng.IntN(writers*per-1)] = true
			}
			type ack struct {
				base int64
				b    []byte
			}
			type crash struct {
				fs   *vfs.MemFS
				acks []ack
			}
			var mu sync.Mutex
			var acks []ack
			var crashes []crash
			var wg sync.WaitGroup
			for w := 0; w < writers; w++ {
				wg.Add(1)
				go func(w int) {
					defer wg.Done()
					for i := 0; i < per; i++ {
						b := makeBatch(4, 1000, int64(i), byte(w*per+i))
						base, err := l.Append(b)
						if err != nil {
							t.Error(err)
							return
						}
						mu.Lock()
						acks = append(acks, ack{base, append([]byte(nil), b...)})
						if crashAt[len(acks)] {
							crashes = append(crashes, crash{fs.CrashClone(), append([]ack(nil), acks...)})
						}
						mu.Unlock()
					}
				}(w)
			}
			wg.Wait()
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			for _, c := range crashes {
				l2 := openT(t, "/data/z", o.withFS(c.fs))
				if err := l2.Check(); err != nil {
					t.Fatalf("check after power loss: %v", err)
				}
				for _, a := range c.acks {
					if got, err := l2.Read(a.base, 1); err != nil || !bytes.Equal(got, a.b) {
						t.Fatalf("offset %d: acknowledged batch lost or changed (err %v)", a.base, err)
					}
				}
				if err := l2.Close(); err != nil {
					t.Fatal(err)
				}
				checkVerified(t, c.fs, "/data/z", false)
			}
		})
	}
}

// TestZeroFillFailures: a zero-fill that fails for lack of space only
// stops zero-filling; one whose fdatasync hits EIO fails the appends of the
// next commit round (the kernel reports the writeback error to the log's
// own descriptor too), after which the log works again. Nothing
// acknowledged is lost either way.
func TestZeroFillFailures(t *testing.T) {
	for _, tc := range []struct {
		err       error
		wantFails bool
	}{{syscall.ENOSPC, false}, {syscall.EIO, true}} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			fs := vfs.NewMem()
			o := zeroOpts(fs)
			l := openT(t, "/data/z", o)
			defer l.Close()
			fs.FailNext(vfs.OpFillZeros, tc.err)
			var acked [][]byte
			var bases []int64
			failed := 0
			for i := 0; i < 200; i++ {
				b := makeBatch(4, 1000, int64(i), byte(i))
				base, err := l.Append(b)
				if err != nil {
					if !errors.Is(err, tc.err) {
						t.Fatalf("append %d: %v, want %v", i, err, tc.err)
					}
					failed++
					continue
				}
				acked = append(acked, append([]byte(nil), b...))
				bases = append(bases, base)
			}
			if (failed > 0) != tc.wantFails || failed > 2 {
				t.Fatalf("%d appends failed", failed)
			}
			if len(acked) < 190 {
				t.Fatalf("only %d of 200 appends succeeded", len(acked))
			}
			l2 := openT(t, "/data/z", o.withFS(fs.CrashClone()))
			defer l2.Close()
			for i, b := range acked {
				if got, err := l2.Read(bases[i], 1); err != nil || !bytes.Equal(got, b) {
					t.Fatalf("offset %d after power loss: acknowledged batch lost (err %v)", bases[i], err)
				}
			}
		})
	}
}

// TestZeroFillOnlyWhileFsyncsAreSmall: a log whose fsyncs each make
// hundreds of KiB durable stops zero-filling (the zeros would cost more
// write bandwidth than the journal commits they save) and goes back to it
// when its fsyncs shrink.
func TestZeroFillOnlyWhileFsyncsAreSmall(t *testing.T) {
	fs := vfs.NewMem()
	o := zeroOpts(fs)
	o.SegmentBytes = 256 << 20
	o.PreallocateBytes = 4 << 20
	l := openT(t, "/data/z", o)
	defer l.Close()
	filled := func() float64 {
		var m dto.Metric
		if err := l.metrics.zeroFilled.Write(&m); err != nil {
			t.Fatal(err)
		}
		return m.GetCounter().GetValue()
	}
	big := makeBatch(500, 1000, 1, 1) // ~500 KB per append, one append per fsync
	for i := 0; i < 40; i++ {
		if _, err := l.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	activeFill(l)
	before := filled()
	for i := 0; i < 20; i++ {
		if _, err := l.Append(big); err != nil {
			t.Fatal(err)
		}
	}
	activeFill(l)
	if got := filled(); got != before {
		t.Fatalf("zero-filled %.0f more bytes while every fsync made %d bytes durable", got-before, len(big))
	}
	small := makeBatch(4, 1000, 1, 1)
	for i := 0; i < 300 && filled() == before; i++ {
		if _, err := l.Append(small); err != nil {
			t.Fatal(err)
		}
	}
	if filled() == before {
		t.Fatal("no zero-fill after 300 small fsyncs")
	}
	if err := l.Check(); err != nil {
		t.Fatal(err)
	}
}

// TestReconfigureDuringZeroFill: a fill still running when the log leaves
// SyncAlways must not write its zeros over the appends that follow.
func TestReconfigureDuringZeroFill(t *testing.T) {
	fs := vfs.NewMem()
	o := zeroOpts(fs)
	l := openT(t, "/data/z", o)
	defer l.Close()
	release := make(chan struct{})
	var once sync.Once
	var batches [][]byte
	var bases []int64
	appendOne := func(b []byte) {
		t.Helper()
		base, err := l.Append(b)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, append([]byte(nil), b...))
		bases = append(bases, base)
	}
	// A log zero-fills once minSoloRounds fsyncs in a row were its own.
	for i := 0; i < minSoloRounds; i++ {
		appendOne(makeBatch(1, 10, 0, 9))
	}
	fs.SetFault(func(op vfs.Op, _ string) error {
		if op == vfs.OpFillZeros {
			<-release // hold the fill until the appends below are written
		}
		return nil
	})
	appendOne(makeBatch(4, 1000, 0, 1)) // starts a fill, which blocks
	l.mu.Lock()
	running := l.activeLocked().fill != nil
	l.mu.Unlock()
	if !running {
		t.Fatal("no zero-fill started")
	}
	never := o
	never.Sync = SyncNever
	if err := l.Reconfigure(never); err != nil {
		t.Fatal(err)
	}
	go func() {
		time.Sleep(20 * time.Millisecond) // the big append below is waiting by now (or wrote into the fill's range)
		once.Do(func() { close(release) })
	}()
	appendOne(makeBatch(60, 1000, 1, 2)) // ~60 KB: reaches into the fill's range
	once.Do(func() { close(release) })
	fs.SetFault(nil)
	l.mu.Lock()
	l.waitFill(l.activeLocked())
	l.mu.Unlock()
	for i, b := range batches {
		if got, err := l.Read(bases[i], 1); err != nil || !bytes.Equal(got, b) {
			t.Fatalf("batch %d: overwritten by the fill's zeros (err %v)", i, err)
		}
	}
}
