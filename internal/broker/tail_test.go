package broker

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"path/filepath"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/record"
)

// tailBatch builds an uncompressed RecordBatch v2 of n records.
func tailBatch(n int, value []byte) []byte {
	var recs []byte
	for i := 0; i < n; i++ {
		body := []byte{0}
		body = binary.AppendVarint(body, 0)
		body = binary.AppendVarint(body, int64(i))
		body = binary.AppendVarint(body, -1)
		body = binary.AppendVarint(body, int64(len(value)))
		body = append(body, value...)
		body = binary.AppendVarint(body, 0)
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	b := make([]byte, record.BatchHeaderSize, record.BatchHeaderSize+len(recs))
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(record.BatchHeaderSize-12+len(recs)))
	b[16] = 2
	be.PutUint32(b[23:], uint32(n-1))
	be.PutUint64(b[27:], 1)
	be.PutUint64(b[35:], 1)
	be.PutUint64(b[43:], ^uint64(0))
	be.PutUint16(b[51:], 0xffff)
	be.PutUint32(b[53:], 0xffffffff)
	be.PutUint32(b[57:], uint32(n))
	b = append(b, recs...)
	be.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// TestTailCacheServesWhatTheLogHolds: the fetch at the log end right after
// a small write is served from the partition's copy of that write, and
// those bytes are exactly what the log stores (offsets assigned,
// LogAppendTime stamped); fetches it cannot answer whole (another offset,
// too small a maxBytes, a large write) read the log.
func TestTailCacheServesWhatTheLogHolds(t *testing.T) {
	dir := t.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	c := DefaultConfig()
	c.DataDir, c.Meta = dir, m
	b, err := Open(c)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, cfg := range []map[string]string{
		{"eddy.fsync": "always"},
		{"eddy.fsync": "never", "message.timestamp.type": "LogAppendTime"},
	} {
		topic := "tail-" + cfg["eddy.fsync"]
		if _, err := b.CreateTopic(topic, 1, cfg, false); err != nil {
			t.Fatal(err)
		}
		p, err := b.partition(topic, 0)
		if err != nil {
			t.Fatal(err)
		}
		fromLog := func(offset int64, max int) []byte {
			t.Helper()
			data, err := p.log.ReadInto(nil, offset, max)
			if err != nil {
				t.Fatal(err)
			}
			return data
		}
		// Nobody fetches yet: a write is not copied.
		w0, err := b.Append(topic, 0, tailBatch(1, []byte("value")))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.tail.read(nil, w0.Base, w0.Next, 1<<20); ok || p.tail.data != nil {
			t.Fatalf("%s: a write nobody fetches was copied", topic)
		}
		// A consumer fetches at the log end: the writes that follow are.
		if _, err := b.Fetch(topic, 0, w0.Next, 1<<20); err != nil {
			t.Fatal(err)
		}
		next := w0.Next
		for i, n := range []int{1, 3, 1} {
			w, err := b.Append(topic, 0, tailBatch(n, []byte("value")))
			if err != nil {
				t.Fatal(err)
			}
			if w.Base != next {
				t.Fatalf("write %d at %d, want %d", i, w.Base, next)
			}
			next = w.Next
			cached, ok := p.tail.read(nil, w.Base, w.Next, 1<<20)
			if !ok {
				t.Fatalf("%s write %d: not cached", topic, i)
			}
			if want := fromLog(w.Base, 1<<20); !bytes.Equal(cached, want) {
				t.Fatalf("%s write %d: cached bytes differ from the log's", topic, i)
			}
			res, err := b.Fetch(topic, 0, w.Base, 1<<20)
			if err != nil || !bytes.Equal(res.Batches, cached) {
				t.Fatalf("%s fetch at %d: %v, %d bytes", topic, w.Base, err, len(res.Batches))
			}
		}
		// Not the cached write's first offset, or too small a limit:
		// from the log (which still returns one whole batch).
		if _, ok := p.tail.read(nil, w0.Base, next, 1<<20); ok {
			t.Fatal("an older offset was served from the cache")
		}
		res, err := b.Fetch(topic, 0, 0, 1)
		if err != nil || !bytes.Equal(res.Batches, fromLog(0, 1)) {
			t.Fatalf("fetch from 0 with maxBytes 1: %v", err)
		}
		// Not yet visible: a write past the high watermark is not served.
		if _, ok := p.tail.read(nil, next-1, next-1, 1<<20); ok {
			t.Fatal("served a write past the high watermark")
		}
		// A large write empties the cache.
		w, err := b.Append(topic, 0, tailBatch(1, make([]byte, tailCacheMax)))
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := p.tail.read(nil, w.Base, w.Next, 1<<30); ok {
			t.Fatal("a write over tailCacheMax was cached")
		}
		res, err = b.Fetch(topic, 0, w.Base, 1<<30)
		if err != nil || !bytes.Equal(res.Batches, fromLog(w.Base, 1<<30)) {
			t.Fatalf("fetch of the large write: %v", err)
		}
	}
}

// TestTailCacheOnlyWhileFetched: a partition's writes are copied only
// within tailWanted of its last fetch; after that the next write, or the
// periodic sweep for a partition no longer written, releases the buffer.
func TestTailCacheOnlyWhileFetched(t *testing.T) {
	var c tailCache
	c.reset()
	batch := tailBatch(2, []byte("value"))
	now := time.Now().UnixNano()
	c.set(0, 2, batch, now)
	if c.data != nil {
		t.Fatal("copied a write of a partition never fetched")
	}
	c.fetched(now)
	c.set(2, 4, batch, now+1)
	if got, ok := c.read(nil, 2, 4, 1<<20); !ok || !bytes.Equal(got, batch) {
		t.Fatal("a write right after a fetch was not served from the copy")
	}
	// Fetches closer together than fetchedAtStep do not move the time.
	c.fetched(now + fetchedAtStep/2)
	if c.fetchedAt.Load() != now {
		t.Fatal("fetchedAt moved within fetchedAtStep")
	}
	c.releaseIdle(now + int64(tailWanted) - 1)
	if _, ok := c.read(nil, 2, 4, 1<<20); !ok {
		t.Fatal("released while still fetched within tailWanted")
	}
	c.set(4, 6, batch, now+int64(tailWanted)-1)
	if _, ok := c.read(nil, 4, 6, 1<<20); !ok {
		t.Fatal("not copied within tailWanted of the fetch")
	}
	// Idle past tailWanted: the sweep releases the buffer.
	c.releaseIdle(now + int64(tailWanted))
	if c.data != nil || c.base != -1 {
		t.Fatal("the sweep kept the copy of a partition nobody fetches")
	}
	// Fetched again: copies resume; then a write long after the last
	// fetch releases it by itself.
	later := now + 2*int64(tailWanted)
	c.fetched(later)
	c.set(6, 8, batch, later)
	if _, ok := c.read(nil, 6, 8, 1<<20); !ok {
		t.Fatal("copies did not resume after a new fetch")
	}
	c.set(8, 10, batch, later+int64(tailWanted))
	if c.data != nil {
		t.Fatal("a write long after the last fetch kept the buffer")
	}
}
