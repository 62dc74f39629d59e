package broker_test

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/record"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type env struct {
	dir string
	m   *meta.Store
	b   *broker.Broker
	cfg func(*broker.Config)
}

func open(t *testing.T, dir string, cfg func(*broker.Config)) *env {
	t.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	c := broker.DefaultConfig()
	c.DataDir, c.Meta = dir, m
	if cfg != nil {
		cfg(&c)
	}
	b, err := broker.Open(c)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	e := &env{dir: dir, m: m, b: b, cfg: cfg}
	t.Cleanup(e.close)
	return e
}

func (e *env) close() {
	if e.b != nil {
		e.b.Close()
		e.m.Close()
		e.b = nil
	}
}

func (e *env) reopen(t *testing.T) *env {
	e.close()
	return open(t, e.dir, e.cfg)
}

// batch builds an uncompressed RecordBatch v2 with n records.
func batch(ts int64, n int, value string) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		body := []byte{0}                                   // attributes
		body = binary.AppendVarint(body, 0)                 // timestamp delta
		body = binary.AppendVarint(body, int64(i))          // offset delta
		body = binary.AppendVarint(body, -1)                // null key
		body = binary.AppendVarint(body, int64(len(value))) // value
		body = append(body, value...)
		body = binary.AppendVarint(body, 0) // headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, record.BatchHeaderSize, record.BatchHeaderSize+len(recs))
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(record.BatchHeaderSize-12+len(recs)))
	b[16] = 2
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts))
	be.PutUint64(b[43:], ^uint64(0))
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(n))
	b = append(b, recs...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

func TestValidateTopicName(t *testing.T) {
	for _, c := range []struct {
		name string
		ok   bool
	}{
		{"orders", true}, {"a.b_c-D9", true}, {strings.Repeat("x", 249), true},
		{"", false}, {".", false}, {"..", false}, {strings.Repeat("x", 250), false},
		{"has space", false}, {"slash/", false}, {"ü", false}, {"a:b", false},
	} {
		err := broker.ValidateTopicName(c.name)
		if (err == nil) != c.ok || (err != nil && !errors.Is(err, broker.ErrInvalidTopic)) {
			t.Errorf("%q: %v", c.name, err)
		}
	}
}

func TestTopicLifecycleAndPersistence(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("a.b", 2, map[string]string{"retention.ms": "1000", "eddy.fsync": "never"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateTopic("a_b", 1, nil, false); !errors.Is(err, broker.ErrInvalidTopic) {
		t.Fatalf("colliding name: %v", err)
	}
	if _, err := e.b.CreateTopic("a.b", 1, nil, false); !errors.Is(err, broker.ErrTopicExists) {
		t.Fatalf("twice: %v", err)
	}
	if _, err := e.b.CreateTopic("x", 0, nil, false); !errors.Is(err, broker.ErrInvalidPartitions) {
		t.Fatalf("0 partitions: %v", err)
	}
	if _, err := e.b.CreateTopic("forever", 1, map[string]string{"retention.ms": "9223372036854775807", "segment.ms": "9223372036854775807"}, false); err != nil {
		t.Fatalf("Long.MAX_VALUE durations: %v", err)
	}
	for _, bad := range []map[string]string{{"retention.ms": "soon"}, {"eddy.fsync": "maybe"}, {"message.timestamp.type": "Now"}, {"nope": "1"}, {"segment.bytes": "10"}, {"segment.bytes": "4294967296"}} {
		if _, err := e.b.CreateTopic("x", 1, bad, false); !errors.Is(err, broker.ErrInvalidConfig) {
			t.Fatalf("config %v: %v", bad, err)
		}
	}
	if _, err := e.b.Append("a.b", 1, batch(1, 3, "v")); err != nil {
		t.Fatal(err)
	}
	if err := e.b.CreatePartitions("a.b", 3, false); err != nil {
		t.Fatal(err)
	}
	if err := e.b.AlterTopicConfigs("a.b", []broker.ConfigOp{{Name: "max.message.bytes", Op: broker.OpSet, Value: "500"}}, false); err != nil {
		t.Fatal(err)
	}
	id := mustTopic(t, e.b, "a.b").ID

	e = e.reopen(t)
	info := mustTopic(t, e.b, "a.b")
	if info.Partitions != 3 || info.ID != id || info.Config.RetentionMs != 1000 || info.Config.Fsync != "never" || info.Config.MaxMessageBytes != 500 {
		t.Fatalf("after reopen: %+v", info)
	}
	if _, hw, _, _ := e.b.Offsets("a.b", 1); hw != 3 {
		t.Fatalf("hw %d after reopen", hw)
	}
	if _, err := e.b.Append("a.b", 0, batch(1, 1, strings.Repeat("x", 600))); !errors.Is(err, broker.ErrMessageTooLarge) {
		t.Fatalf("over max.message.bytes: %v", err)
	}
	if err := e.b.DeleteTopic("a.b"); err != nil {
		t.Fatal(err)
	}
	e = e.reopen(t)
	if _, err := e.b.Topic("a.b"); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("deleted topic back after reopen: %v", err)
	}
	// The name is free again and the new topic starts empty.
	if _, err := e.b.CreateTopic("a.b", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, hw, _, _ := e.b.Offsets("a.b", 1); hw != 0 {
		t.Fatalf("recreated topic has hw %d", hw)
	}
}

func mustTopic(t *testing.T, b *broker.Broker, name string) broker.TopicInfo {
	t.Helper()
	info, err := b.Topic(name)
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestAutoCreate(t *testing.T) {
	e := open(t, t.TempDir(), func(c *broker.Config) { c.DefaultPartitions = 3 })
	info, err := e.b.EnsureTopic("auto")
	if err != nil || info.Partitions != 3 {
		t.Fatalf("ensure: %+v %v", info, err)
	}
	if _, err := e.b.EnsureTopic("bad name"); !errors.Is(err, broker.ErrInvalidTopic) {
		t.Fatalf("bad name: %v", err)
	}
	if _, err := e.b.Write("never-created", 0, batch(1, 1, "v"), broker.WriteOptions{}); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("write to unknown: %v", err)
	}
	off := open(t, t.TempDir(), func(c *broker.Config) { c.AutoCreateTopics = false })
	if _, err := off.b.EnsureTopic("auto"); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("auto-create off: %v", err)
	}
}

func TestWriteFetchAndOffsets(t *testing.T) {
	now := time.UnixMilli(5_000_000)
	e := open(t, t.TempDir(), func(c *broker.Config) { c.Now = func() time.Time { return now } })
	if _, err := e.b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateTopic("lat", 1, map[string]string{"message.timestamp.type": "LogAppendTime"}, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		w, err := e.b.Append("t", 0, batch(int64(1000*(i+1)), 2, "v"))
		if err != nil || w.Base != int64(2*i) || w.Next != int64(2*i+2) || w.LogAppendTime != -1 || w.Records != 2 {
			t.Fatalf("append %d: %+v %v", i, w, err)
		}
	}
	res, err := e.b.Fetch("t", 0, 3, 1)
	if err != nil || res.HighWatermark != 10 || len(res.Batches) == 0 {
		t.Fatalf("fetch: %+v %v", res, err)
	}
	if h, _ := record.ParseBatchHeader(res.Batches); h.BaseOffset != 2 {
		t.Fatalf("fetch from 3 starts at batch %d", h.BaseOffset)
	}
	if res, err := e.b.Fetch("t", 0, 10, 100); err != nil || len(res.Batches) != 0 {
		t.Fatalf("fetch at hw: %d bytes, %v", len(res.Batches), err)
	}
	if _, err := e.b.Fetch("t", 0, 11, 100); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Fatalf("fetch past end: %v", err)
	}
	if _, err := e.b.Fetch("t", 1, 0, 100); !errors.Is(err, broker.ErrUnknownPartition) {
		t.Fatalf("unknown partition: %v", err)
	}
	for _, c := range []struct{ ts, off, rts int64 }{
		{broker.EarliestTimestamp, 0, -1}, {broker.LatestTimestamp, 10, -1}, {broker.MaxTimestamp, 8, 5000},
		{2500, 4, 3000}, {3000, 4, 3000}, {0, 0, 1000}, {99999, -1, -1},
	} {
		off, ts, err := e.b.ListOffset("t", 0, c.ts)
		if err != nil || off != c.off || ts != c.rts {
			t.Errorf("ListOffset(%d) = %d, %d, %v; want %d, %d", c.ts, off, ts, err, c.off, c.rts)
		}
	}
	w, err := e.b.Append("lat", 0, batch(1, 1, "v"))
	if err != nil || w.LogAppendTime != now.UnixMilli() {
		t.Fatalf("log append time: %+v %v", w, err)
	}
	res, _ = e.b.Fetch("lat", 0, 0, 100)
	if _, err := record.CheckBatch(res.Batches); err != nil {
		t.Fatalf("stamped batch invalid: %v", err)
	}
	if h, _ := record.ParseBatchHeader(res.Batches); h.MaxTimestamp != now.UnixMilli() || h.Attributes&record.AttrTimestampLogAppend == 0 {
		t.Fatalf("stamped header %+v", h)
	}
	// A bad codec id is refused and nothing is written.
	bad := batch(1, 1, "v")
	bad[22] |= 6
	binary.BigEndian.PutUint32(bad[17:], crc32.Checksum(bad[21:], crc32.MakeTable(crc32.Castagnoli)))
	if _, err := e.b.Write("t", 0, bad, broker.WriteOptions{}); !errors.Is(err, broker.ErrUnsupportedCompression) {
		t.Fatalf("codec 6: %v", err)
	}
	corrupt := batch(1, 1, "v")
	corrupt[len(corrupt)-1] ^= 1
	var be *record.BatchError
	if _, err := e.b.Write("t", 0, corrupt, broker.WriteOptions{}); !errors.As(err, &be) || !be.Corrupt {
		t.Fatalf("corrupt: %v", err)
	}
	if _, hw, _, _ := e.b.Offsets("t", 0); hw != 10 {
		t.Fatalf("rejected writes changed hw to %d", hw)
	}
}

func TestWaiterWakes(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	for _, tp := range []string{"a", "b"} {
		if _, err := e.b.CreateTopic(tp, 1, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	w := e.b.NewWaiter()
	defer w.Close()
	w.Add("a", 0)
	w.Add("b", 0)
	w.Add("missing", 0) // ignored
	if e.b.Waiting() != 2 {
		t.Fatalf("waiting %d", e.b.Waiting())
	}
	select {
	case <-w.C():
		t.Fatal("woke before any write")
	default:
	}
	go func() { _, _ = e.b.Append("b", 0, batch(1, 1, "v")) }()
	select {
	case <-w.C():
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken by a write")
	}
	// Deleting a topic wakes its waiters too.
	go func() { _ = e.b.DeleteTopic("a") }()
	select {
	case <-w.C():
	case <-time.After(5 * time.Second):
		t.Fatal("waiter not woken by delete")
	}
	w.Close()
	if e.b.Waiting() != 0 {
		t.Fatalf("waiting %d after close", e.b.Waiting())
	}
}

func TestRetention(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("r", 1, map[string]string{"segment.bytes": "1024", "retention.bytes": "2048"}, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := e.b.Append("r", 0, batch(time.Now().UnixMilli(), 1, strings.Repeat("x", 200))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.b.EnforceRetention(); n == 0 {
		t.Fatal("retention deleted nothing")
	}
	start, hw, _, _ := e.b.Offsets("r", 0)
	if start == 0 || hw != 40 {
		t.Fatalf("after retention start %d hw %d", start, hw)
	}
	if _, err := e.b.Fetch("r", 0, 0, 100); !errors.Is(err, broker.ErrOffsetOutOfRange) {
		t.Fatalf("fetch below log start: %v", err)
	}
	for _, ps := range e.b.Partitions() {
		if ps.Topic == "r" && ps.Size > 4096 {
			t.Fatalf("partition still %d bytes", ps.Size)
		}
	}
}

// TestScanBatchesAfterRetention: a producer-state rebuild that chose its
// start before retention moved the log start scans from the new start
// instead of failing (test/powerloss found a restart failing this way).
func TestScanBatchesAfterRetention(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("r", 1, map[string]string{"segment.bytes": "1024", "retention.bytes": "2048"}, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 40; i++ {
		if _, err := e.b.Append("r", 0, batch(time.Now().UnixMilli(), 1, strings.Repeat("x", 200))); err != nil {
			t.Fatal(err)
		}
	}
	if n := e.b.EnforceRetention(); n == 0 {
		t.Fatal("retention deleted nothing")
	}
	start, hw, _, _ := e.b.Offsets("r", 0)
	var first, n int64 = -1, 0
	err := e.b.ScanBatches("r", 0, 0, func(h record.BatchHeader, _ []byte) error {
		if first < 0 {
			first = h.BaseOffset
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatalf("scan from 0 after retention moved the start to %d: %v", start, err)
	}
	if first != start || n != hw-start {
		t.Fatalf("scanned %d batches from %d; want %d from %d", n, first, hw-start, start)
	}
}

// TestConcurrentAutoCreate: many Metadata-style EnsureTopic calls for one
// new topic all see it, created once.
func TestConcurrentAutoCreate(t *testing.T) {
	e := open(t, t.TempDir(), func(c *broker.Config) { c.DefaultPartitions = 8 })
	errs := make(chan error, 16)
	ids := make(chan [16]byte, 16)
	for i := 0; i < 16; i++ {
		go func() {
			info, err := e.b.EnsureTopic("race")
			errs <- err
			ids <- info.ID
		}()
	}
	var first [16]byte
	for i := 0; i < 16; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		id := <-ids
		if i == 0 {
			first = id
		} else if id != first {
			t.Fatal("two topic ids for one topic")
		}
	}
}
