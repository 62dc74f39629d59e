package eventstore

import (
	"errors"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// plainStore is a Store that knows only the plain topic "plain".
func plainStore() *Store {
	s := &Store{kick: make(chan struct{}, 1)}
	s.mu.parts = map[partKey]*partIndex{}
	s.mu.plain = map[string]bool{"plain": true}
	return s
}

// plainBatch builds one batch of n records of size-byte random values;
// the record at index with (if ≥ 0) carries headers hdrs.
func plainBatch(t testing.TB, n, size, with int, hdrs []Header) ([]record.BatchHeader, []byte) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	bb := newBatchBuilder(time.Now().UnixMilli())
	for i := 0; i < n; i++ {
		val := make([]byte, size)
		for j := range val {
			val[j] = byte(r.Uint32())
		}
		var h []Header
		if i == with {
			h = hdrs
		}
		bb.add(bb.ts, []byte("k-"+strconv.Itoa(i)), val, h)
	}
	batch := bb.finish()
	h, err := record.CheckBatch(batch)
	if err != nil {
		t.Fatal(err)
	}
	return []record.BatchHeader{h}, batch
}

// TestPlainTopicRefusesExpectedHeader: both ways of looking (the byte
// search for small records, the record walk for larger ones) find the
// header wherever it is, among other headers or alone, and let records
// with other headers or none through.
func TestPlainTopicRefusesExpectedHeader(t *testing.T) {
	s := plainStore()
	exp := []Header{{Key: HeaderExpectedVersion, Value: []byte("3")}}
	others := []Header{{Key: "trace", Value: []byte("abc")}, {Key: "empty"}, {Key: "eddy-expected-versio", Value: []byte("x")}}
	mixed := append(append([]Header{}, others...), exp...)
	for _, size := range []int{10, 100, 1024, 20000} {
		for _, c := range []struct {
			name string
			with int
			hdrs []Header
			want bool
		}{
			{"none", -1, nil, false},
			{"other headers", 3, others, false},
			{"header first record", 0, exp, true},
			{"header last record", 7, exp, true},
			{"header after others", 4, mixed, true},
		} {
			hs, batch := plainBatch(t, 8, size, c.with, c.hdrs)
			_, err := s.CheckAppend(broker.Append{Topic: "plain", Headers: hs, Batches: batch})
			if got := errors.Is(err, ErrNotStreamTopic); got != c.want || (!c.want && err != nil) {
				t.Errorf("%d-byte records, %s: err %v, want refused=%v", size, c.name, err, c.want)
			}
			// A topic not yet known as plain (just created) answers
			// "index not ready" rather than accepting.
			_, err = s.CheckAppend(broker.Append{Topic: "new", Headers: hs, Batches: batch})
			if got := errors.Is(err, ErrIndexNotReady); got != c.want {
				t.Errorf("%d-byte records, %s, unknown topic: err %v, want not-ready=%v", size, c.name, err, c.want)
			}
		}
	}
}

// TestPlainTopicMalformedRecords: record framing that does not parse is
// not refused by the walk alone (the byte search decides, as before).
func TestPlainTopicMalformedRecords(t *testing.T) {
	s := plainStore()
	hs, batch := plainBatch(t, 4, 200, -1, nil)
	bad := append([]byte{}, batch...)
	bad[record.BatchHeaderSize] = 0x7f // first record's length: -64
	if _, err := s.CheckAppend(broker.Append{Topic: "plain", Headers: hs, Batches: bad}); err != nil {
		t.Fatalf("malformed records without the header key: %v", err)
	}
	if has, ok := record.HasHeaderKey(bad[record.BatchHeaderSize:], hs[0].RecordCount, HeaderExpectedVersion); ok || has {
		t.Fatalf("walk of malformed records: has %v ok %v, want not ok", has, ok)
	}
}

// BenchmarkPlainTopicCheck is what a produce to a plain topic pays, per
// batch of about 16 KiB of incompressible records (the eddy bench
// payload), for both ways of looking.
func BenchmarkPlainTopicCheck(b *testing.B) {
	for _, size := range []int{20, 100, 1024} {
		hs, batch := plainBatch(b, 16<<10/size, size, -1, nil)
		recs := batch[record.BatchHeaderSize:]
		b.Run("search/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			b.SetBytes(int64(len(batch)))
			for i := 0; i < b.N; i++ {
				if containsExpectedKey(recs) {
					b.Fatal("found")
				}
			}
		})
		b.Run("walk/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			b.SetBytes(int64(len(batch)))
			for i := 0; i < b.N; i++ {
				if has, ok := record.HasHeaderKey(recs, hs[0].RecordCount, HeaderExpectedVersion); has || !ok {
					b.Fatal("found")
				}
			}
		})
		s := plainStore()
		b.Run("hook/"+strconv.Itoa(size)+"B", func(b *testing.B) {
			b.SetBytes(int64(len(batch)))
			b.ReportAllocs()
			for i := 0; i < b.N; i++ {
				if _, err := s.CheckAppend(broker.Append{Topic: "plain", Headers: hs, Batches: batch}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
