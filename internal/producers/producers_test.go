package producers

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"path/filepath"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/record"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// batch builds a valid RecordBatch v2 with n empty-value records.
func batch(pid int64, epoch int16, seq int32, n int) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		var r []byte
		r = append(r, 0)                     // attributes
		r = binary.AppendVarint(r, 0)        // timestamp delta
		r = binary.AppendVarint(r, int64(i)) // offset delta
		r = binary.AppendVarint(r, -1)       // key
		r = binary.AppendVarint(r, 1)        // value length
		r = append(r, 'v')                   // value
		r = binary.AppendVarint(r, 0)        // headers
		recs = binary.AppendVarint(recs, int64(len(r)))
		recs = append(recs, r...)
	}
	b := make([]byte, record.BatchHeaderSize, record.BatchHeaderSize+len(recs))
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(record.BatchHeaderSize-12+len(recs)))
	b[16] = 2
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], 1000)
	be.PutUint64(b[35:], 1000)
	be.PutUint64(b[43:], uint64(pid))
	be.PutUint16(b[51:], uint16(epoch))
	be.PutUint32(b[53:], uint32(seq))
	be.PutUint32(b[57:], uint32(n))
	b = append(b, recs...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func hdr(t *testing.T, b []byte) []record.BatchHeader {
	t.Helper()
	hs, err := record.ValidateBatches(b)
	if err != nil {
		t.Fatal(err)
	}
	return hs
}

func newManager(t testing.TB, dir string) (*Manager, *meta.Store) {
	t.Helper()
	s, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := New(Config{Meta: s, IDBlock: 3})
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

func TestProducerIDsUniqueAcrossRestarts(t *testing.T) {
	dir := t.TempDir()
	seen := map[int64]bool{}
	for range 3 {
		m, s := newManager(t, dir)
		for range 4 {
			id, epoch, err := m.InitProducerID("")
			if err != nil || epoch != 0 || seen[id] {
				t.Fatalf("id %d epoch %d err %v (seen %v)", id, epoch, err, seen[id])
			}
			seen[id] = true
		}
		m.Close()
		s.Close()
	}
	m, s := newManager(t, dir)
	defer s.Close()
	if _, _, err := m.InitProducerID("txn-1"); !errors.Is(err, ErrTransactionsUnsupported) {
		t.Fatalf("transactional id: %v", err)
	}
}

func TestSequenceChecks(t *testing.T) {
	m, s := newManager(t, t.TempDir())
	defer s.Close()
	app := func(b []byte, base int64) (*broker.Duplicate, error) {
		hs := hdr(t, b)
		dup, err := m.CheckAppend(broker.Append{Topic: "t", Headers: hs})
		if err == nil && dup == nil {
			m.RecordAppend(broker.Append{Topic: "t", Headers: hs}, base, -1)
		}
		return dup, err
	}
	// Non-idempotent batches pass untouched.
	if d, err := app(batch(-1, -1, -1, 2), 0); d != nil || err != nil {
		t.Fatal(d, err)
	}
	// An unknown producer may start anywhere (KIP-360).
	if d, err := app(batch(7, 0, 10, 3), 2); d != nil || err != nil {
		t.Fatal(d, err)
	}
	if d, err := app(batch(7, 0, 13, 2), 5); d != nil || err != nil {
		t.Fatal(d, err)
	}
	// Retry of either of the last batches: acknowledged with its offsets.
	d, err := app(batch(7, 0, 10, 3), 99)
	if err != nil || d == nil || d.Base != 2 || d.Next != 5 {
		t.Fatalf("dup: %+v %v", d, err)
	}
	d, err = app(batch(7, 0, 13, 2), 99)
	if err != nil || d == nil || d.Base != 5 || d.Next != 7 {
		t.Fatalf("dup: %+v %v", d, err)
	}
	// A gap, or an overlap that is not an exact retry, is out of order.
	for _, b := range [][]byte{batch(7, 0, 16, 1), batch(7, 0, 14, 1), batch(7, 0, 0, 1)} {
		if _, err := app(b, 99); !errors.Is(err, ErrOutOfOrderSequence) {
			t.Fatalf("want out of order, got %v", err)
		}
	}
	// Next in sequence is fine.
	if d, err := app(batch(7, 0, 15, 1), 7); d != nil || err != nil {
		t.Fatal(d, err)
	}
	// Only the last 5 batches are remembered.
	for i := int32(16); i < 21; i++ {
		if _, err := app(batch(7, 0, i, 1), int64(i)-8); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := app(batch(7, 0, 15, 1), 99); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("retry older than 5 batches: %v", err)
	}
	// A new epoch must start at 0; then the old epoch is fenced.
	if _, err := app(batch(7, 1, 5, 1), 99); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("new epoch not at 0: %v", err)
	}
	if d, err := app(batch(7, 1, 0, 1), 13); d != nil || err != nil {
		t.Fatal(d, err)
	}
	if _, err := app(batch(7, 0, 21, 1), 99); !errors.Is(err, ErrInvalidProducerEpoch) {
		t.Fatalf("old epoch: %v", err)
	}
	// Sequences wrap at MaxInt32.
	if _, err := app(batch(8, 0, 2147483646, 2), 20); err != nil {
		t.Fatal(err)
	}
	if _, err := app(batch(8, 0, 0, 1), 22); err != nil {
		t.Fatalf("wrapped sequence: %v", err)
	}
	// Transactional batches are refused.
	tb := batch(9, 0, 0, 1)
	binary.BigEndian.PutUint16(tb[21:], record.AttrTransactional)
	binary.BigEndian.PutUint32(tb[17:], crc32.Checksum(tb[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := app(tb, 99); !errors.Is(err, ErrTransactionalBatch) {
		t.Fatalf("transactional batch: %v", err)
	}
	// Two batches in one append are checked against each other.
	two := append(batch(10, 0, 0, 1), batch(10, 0, 2, 1)...)
	if _, err := app(two, 99); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap inside one append: %v", err)
	}
}

func openBroker(t testing.TB, dir string, s *meta.Store, hooks ...broker.AppendHook) *broker.Broker {
	t.Helper()
	cfg := broker.DefaultConfig()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.Meta = s
	cfg.Hooks = hooks
	b, err := broker.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDedupThroughBrokerAndRebuild(t *testing.T) {
	dir := t.TempDir()
	m, s := newManager(t, dir)
	b := openBroker(t, dir, s, m)
	if _, err := b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	pid, epoch, _ := m.InitProducerID("")
	w1, err := b.Append("t", 0, batch(pid, epoch, 0, 3))
	if err != nil || w1.Base != 0 || w1.Next != 3 {
		t.Fatalf("%+v %v", w1, err)
	}
	w2, err := b.Append("t", 0, batch(pid, epoch, 0, 3))
	if err != nil || !w2.Duplicate || w2.Base != 0 || w2.Next != 3 {
		t.Fatalf("retry %+v %v", w2, err)
	}
	if _, err := b.Append("t", 0, batch(pid, epoch, 3, 2)); err != nil {
		t.Fatal(err)
	}
	b.Close()
	m.Close()

	// After a restart the state comes back from the log.
	m2, err := New(Config{Meta: s})
	if err != nil {
		t.Fatal(err)
	}
	b2 := openBroker(t, dir, s, m2)
	defer func() { b2.Close(); s.Close() }()
	if err := m2.Rebuild(b2, 0); err != nil {
		t.Fatal(err)
	}
	w3, err := b2.Append("t", 0, batch(pid, epoch, 3, 2))
	if err != nil || !w3.Duplicate || w3.Base != 3 || w3.Next != 5 {
		t.Fatalf("retry after restart %+v %v", w3, err)
	}
	if _, err := b2.Append("t", 0, batch(pid, epoch, 7, 1)); !errors.Is(err, ErrOutOfOrderSequence) {
		t.Fatalf("gap after restart: %v", err)
	}
	_, hw, _, _ := b2.Offsets("t", 0)
	if hw != 5 {
		t.Fatalf("high watermark %d, want 5 (nothing written twice)", hw)
	}
	if id, _, _ := m2.InitProducerID(""); id <= pid {
		t.Fatalf("producer id %d reused after restart (had %d)", id, pid)
	}
}

// TestDeletedTopicForgetsSequences: a batch that was written to a topic,
// retried after the topic was deleted and re-created under the same name,
// must be written to the new topic, not acknowledged with the old offsets.
func TestDeletedTopicForgetsSequences(t *testing.T) {
	dir := t.TempDir()
	m, s := newManager(t, dir)
	b := openBroker(t, dir, s, m)
	defer func() { b.Close(); m.Close(); s.Close() }()
	if _, err := b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	pid, epoch, _ := m.InitProducerID("")
	if _, err := b.Append("t", 0, batch(pid, epoch, 0, 3)); err != nil {
		t.Fatal(err)
	}
	if err := b.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if _, err := b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	w, err := b.Append("t", 0, batch(pid, epoch, 0, 3))
	if err != nil || w.Duplicate || w.Base != 0 || w.Next != 3 {
		t.Fatalf("append to the re-created topic: %+v %v, want a fresh write at 0..3", w, err)
	}
	if _, hw, _, _ := b.Offsets("t", 0); hw != 3 {
		t.Fatalf("re-created topic holds %d records, want 3", hw)
	}
}
