package commitlog

import (
	"bytes"
	"os"
	"testing"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// Seed corpora live in testdata/fuzz/<FuzzName>: empty, short, max-length
// header, valid, valid+garbage (see gen_corpus_test.go).

// FuzzRecover feeds arbitrary bytes to recovery as the tail of a segment
// after a valid prefix: Open must not fail or panic, must keep the valid
// prefix, and everything it keeps must be readable valid batches.
func FuzzRecover(f *testing.F) {
	f.Add([]byte{})
	f.Add(makeBatch(1, 10, 5, 2))
	f.Fuzz(func(t *testing.T, tail []byte) {
		fs := vfs.NewMem()
		o := memOpts(fs, SyncAlways)
		o.SegmentBytes = 1 << 30
		l, err := Open(crashDir, o)
		if err != nil {
			t.Fatal(err)
		}
		prefix := makeBatch(2, 30, 1, 1)
		if _, err := l.Append(prefix); err != nil {
			t.Fatal(err)
		}
		crashed := fs.CrashClone()
		l.Close()
		seg, _ := crashed.OpenFile(crashDir+"/"+segmentName(0, logSuffix), os.O_RDWR, 0)
		seg.WriteAt(tail, int64(len(prefix)))
		seg.Close()
		l2, err := Open(crashDir, o.withFS(crashed))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l2.Close()
		got := readAllBatches(t, l2)
		if len(got) == 0 || !bytes.Equal(got[0], prefix) {
			t.Fatalf("lost the valid prefix")
		}
		if l2.Size() > int64(len(prefix)+len(tail)) {
			t.Fatalf("size %d grew past the input", l2.Size())
		}
		if _, err := l2.Append(makeBatch(1, 1, 1, 1)); err != nil {
			t.Fatalf("append after recovery: %v", err)
		}
	})
}

// FuzzScanBatches runs the recovery scanner over arbitrary bytes.
func FuzzScanBatches(f *testing.F) {
	f.Add(makeBatch(1, 10, 5, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		end, next, reason := scanBatches(bytes.NewReader(b), 0, int64(len(b)), 0, nil, nil)
		if end < 0 || end > int64(len(b)) || next < 0 {
			t.Fatalf("end %d next %d for %d bytes", end, next, len(b))
		}
		if (end == int64(len(b))) != (reason == nil) {
			t.Fatalf("end %d of %d with reason %v", end, len(b), reason)
		}
	})
}

// FuzzRecoverIndex feeds arbitrary .index and .timeindex contents to crash
// recovery of a valid segment: whatever the indexes say, Open must keep
// every batch, and reads and Check must succeed.
func FuzzRecoverIndex(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Add(indexHeader(idxMagic, idxEntrySize), indexHeader(tidxMagic, tidxEntrySize))
	f.Add(append(indexHeader(idxMagic, idxEntrySize), putIdxEntry(nil, 0, 0)...), append(indexHeader(tidxMagic, tidxEntrySize), putTidxEntry(nil, 5, 0)...))
	f.Fuzz(func(t *testing.T, idx, tidx []byte) {
		fs := vfs.NewMem()
		o := memOpts(fs, SyncAlways)
		o.SegmentBytes = 1 << 30
		o.IndexIntervalBytes = 100
		l, err := Open(crashDir, o)
		if err != nil {
			t.Fatal(err)
		}
		var written [][]byte
		for i := 0; i < 8; i++ {
			b := makeBatch(1+i%2, 40, int64(i*3), byte(i))
			if _, err := l.Append(b); err != nil {
				t.Fatal(err)
			}
			written = append(written, append([]byte(nil), b...))
		}
		crashed := fs.CrashClone()
		l.Close()
		for _, p := range []struct {
			name string
			b    []byte
		}{{segmentName(0, idxSuffix), idx}, {segmentName(0, tidxSuffix), tidx}} {
			f, _ := crashed.OpenFile(crashDir+"/"+p.name, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
			f.Write(p.b)
			f.Close()
		}
		l2, err := Open(crashDir, o.withFS(crashed))
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		defer l2.Close()
		if err := l2.Check(); err != nil {
			t.Fatalf("check: %v", err)
		}
		checkPrefix(t, "recovered", readAllBatches(t, l2), written, len(written))
		for i := range written {
			got, err := l2.Read(int64(i), 1)
			if err != nil || len(got) == 0 {
				t.Fatalf("read %d: %v", i, err)
			}
		}
	})
}
