package commitlog

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

type modelBatch struct {
	base, last, baseTs, maxTs int64
	b                         []byte
}

// model is the simple in-memory log the real one is checked against.
type model struct {
	batches []modelBatch
	start   int64
	next    int64
}

func (m *model) append(b []byte) {
	for pos := 0; pos < len(b); {
		h, _ := record.ParseBatchHeader(b[pos:])
		m.batches = append(m.batches, modelBatch{h.BaseOffset, h.LastOffset(), h.BaseTimestamp, h.MaxTimestamp, append([]byte(nil), b[pos:pos+h.Size()]...)})
		m.next = h.LastOffset() + 1
		pos += h.Size()
	}
}

func (m *model) indexOf(off int64) int {
	for i, b := range m.batches {
		if b.last >= off {
			return i
		}
	}
	return len(m.batches)
}

func TestModel(t *testing.T) {
	seeds := 12
	if testing.Short() {
		seeds = 3
	}
	for seed := 0; seed < seeds; seed++ {
		policy := []SyncPolicy{SyncAlways, SyncNever, SyncInterval}[seed%3]
		t.Run(fmt.Sprintf("seed%d-%s", seed, policy), func(t *testing.T) { runModel(t, uint64(seed), policy) })
	}
}

func runModel(t *testing.T, seed uint64, policy SyncPolicy) {
	rng := rand.New(rand.NewPCG(seed, 99))
	fs := vfs.NewMem()
	now := time.UnixMilli(1_000_000)
	o := memOpts(fs, policy)
	o.SyncInterval = time.Hour
	o.SegmentBytes = int64(500 + rng.IntN(3000))
	o.IndexIntervalBytes = rng.IntN(600)
	o.RetentionAge = -1
	o.SegmentAge = 0
	o.Now = func() time.Time { return now }
	l := openT(t, crashDir, o)
	defer func() { l.Close() }()
	var m model
	ts := int64(5000)
	for step := 0; step < 400; step++ {
		what := rng.IntN(100)
		switch {
		case what < 50: // append 1-3 batches in one call
			var buf []byte
			for k := 0; k < 1+rng.IntN(3); k++ {
				ts += int64(rng.IntN(20)) - 5
				buf = append(buf, makeBatch(1+rng.IntN(5), rng.IntN(200), ts, byte(step))...)
			}
			base, err := l.Append(buf)
			if err != nil {
				t.Fatalf("step %d append: %v", step, err)
			}
			if base != m.next {
				t.Fatalf("step %d: base %d, model %d", step, base, m.next)
			}
			m.append(buf)
		case what < 75: // read
			off := m.start + rng.Int64N(m.next-m.start+1)
			maxBytes := rng.IntN(2000)
			got, err := l.Read(off, maxBytes)
			if err != nil {
				t.Fatalf("step %d read %d: %v", step, off, err)
			}
			i := m.indexOf(off)
			if i == len(m.batches) {
				if got != nil {
					t.Fatalf("step %d: read at end gave %d bytes", step, len(got))
				}
				break
			}
			var want []byte
			for j := i; j < len(m.batches); j++ {
				if j > i && len(want)+len(m.batches[j].b) > maxBytes {
					break
				}
				want = append(want, m.batches[j].b...)
			}
			// A read stops at a segment end, so got may be a prefix of want
			// (of at least one batch).
			if len(got) == 0 || !bytes.HasPrefix(want, got) || !bytes.HasPrefix(got, m.batches[i].b) {
				t.Fatalf("step %d: read %d max %d: got %d bytes, want prefix of %d starting with batch %d", step, off, maxBytes, len(got), len(want), i)
			}
		case what < 80: // out of range reads
			if _, err := l.Read(m.next+1+rng.Int64N(5), 100); !errors.Is(err, ErrOffsetOutOfRange) {
				t.Fatalf("step %d: read past end: %v", step, err)
			}
			if m.start > 0 {
				if _, err := l.Read(rng.Int64N(m.start), 100); !errors.Is(err, ErrOffsetOutOfRange) {
					t.Fatalf("step %d: read below start: %v", step, err)
				}
			}
		case what < 85: // offset for time
			q := ts - int64(rng.IntN(300)) + 10
			got, err := l.OffsetForTime(q)
			want := int64(-1)
			for _, b := range m.batches {
				if b.maxTs >= q {
					// makeBatch gives record i the timestamp baseTs+i.
					want = b.base + max(0, q-b.baseTs)
					break
				}
			}
			if want < 0 {
				if !errors.Is(err, ErrNotFound) {
					t.Fatalf("step %d: offset for time %d: %d %v, want not found", step, q, got, err)
				}
			} else if err != nil || got != want {
				t.Fatalf("step %d: offset for time %d: %d %v, want %d", step, q, got, err, want)
			}
		case what < 89: // retention by size, segment size change
			o.RetentionBytes = int64(rng.IntN(8000))
			o.SegmentBytes = int64(500 + rng.IntN(3000))
			if err := l.Reconfigure(o); err != nil {
				t.Fatal(err)
			}
			if _, err := l.EnforceRetention(); err != nil {
				t.Fatalf("step %d: retention: %v", step, err)
			}
			o.RetentionBytes = -1
			l.Reconfigure(o)
			start := l.LogStartOffset()
			i := m.indexOf(start)
			if i < len(m.batches) && m.batches[i].base != start {
				t.Fatalf("step %d: log start %d inside a batch", step, start)
			}
			m.batches = m.batches[i:]
			m.start = start
		case what < 93: // clean close and reopen
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l = openT(t, crashDir, o)
		case what < 97: // power cut
			fs = fs.CrashClone()
			o.FS = fs
			l.Close() // closes the old image's files; the clone is unaffected
			l = openT(t, crashDir, o)
			got := readAllBatches(t, l)
			if policy == SyncAlways && len(got) != len(m.batches) {
				t.Fatalf("step %d: %d batches after crash, model has %d (all acked)", step, len(got), len(m.batches))
			}
			for i := range got {
				if i >= len(m.batches) || !bytes.Equal(got[i], m.batches[i].b) {
					t.Fatalf("step %d: batch %d after crash differs from model", step, i)
				}
			}
			m.batches = m.batches[:len(got)]
			m.next = l.LogEndOffset()
			if len(m.batches) > 0 && m.batches[len(m.batches)-1].last+1 != m.next {
				t.Fatalf("step %d: leo %d after crash, model %d", step, m.next, m.batches[len(m.batches)-1].last+1)
			}
		default: // metadata
			if l.LogEndOffset() != m.next || l.HighWatermark() != m.next || l.LogStartOffset() != m.start {
				t.Fatalf("step %d: leo/hw/start %d/%d/%d, model %d/%d", step, l.LogEndOffset(), l.HighWatermark(), l.LogStartOffset(), m.next, m.start)
			}
			var size int64
			for _, b := range m.batches {
				size += int64(len(b.b))
			}
			if l.Size() != size {
				t.Fatalf("step %d: size %d, model %d", step, l.Size(), size)
			}
			if err := l.Check(); err != nil {
				t.Fatalf("step %d: check: %v", step, err)
			}
			wantTs, wantOff := int64(-1), int64(-1)
			for _, b := range m.batches {
				if b.maxTs > wantTs {
					wantTs, wantOff = b.maxTs, b.base
				}
			}
			if gotTs, gotOff := l.MaxTimestamp(); len(m.batches) > 0 && (gotTs != wantTs || gotOff != wantOff) {
				t.Fatalf("step %d: max timestamp %d@%d, model %d@%d", step, gotTs, gotOff, wantTs, wantOff)
			}
		}
	}
}
