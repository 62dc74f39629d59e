package broker

import (
	"sync"
	"sync/atomic"
	"time"
)

// tailCacheMax is the largest write the partition keeps a copy of for
// fetches: small writes are the per-request-cost regime (a producer at
// linger 0 with a consumer parked on the partition), where the consumer's
// next fetch asks for exactly the last write.
const tailCacheMax = 16 << 10

// tailWanted is how long after a fetch of the partition its writes are
// still copied: longer than the longest wait of a consumer parked at the
// log end (fetch.max.wait.ms is 500 ms in Kafka's clients, FetchMaxWait
// 5 s in franz-go), so a consumer that keeps up never misses the copy.
const tailWanted = 10 * time.Second

// fetchedAtStep is how stale the last-fetch time may be: fetches closer
// together than this do not store it again.
const fetchedAtStep = int64(100 * time.Millisecond)

// tailCache is a copy of a partition's last write, as stored (offsets
// assigned, LogAppendTime stamped), so the fetch that follows it — the
// consumer parked at the log end — is served without locating and reading
// it back from the log (an index search and a pread per fetch).
//
// The copy is made only while someone fetches the partition (within
// tailWanted of the last fetch): a partition that is only written, or not
// used at all, holds no buffer and pays no copy. At 10,000 partitions
// under produce load the copies were 46 % of the broker's live heap.
type tailCache struct {
	fetchedAt atomic.Int64 // when the partition was last fetched, Unix ns; 0: never

	mu         sync.Mutex
	base, next int64 // offsets of the cached write; base < 0: empty
	data       []byte
}

// fetched records a fetch of the partition at now (Unix ns).
func (t *tailCache) fetched(now int64) {
	if now-t.fetchedAt.Load() >= fetchedAtStep {
		t.fetchedAt.Store(now)
	}
}

// wanted reports whether a fetch came within tailWanted of now.
func (t *tailCache) wanted(now int64) bool {
	at := t.fetchedAt.Load()
	return at != 0 && now-at < int64(tailWanted)
}

// set replaces the cache with the write [base, next) of stored, made at
// now (Unix ns). Writes larger than tailCacheMax empty it; while nobody
// fetches the partition it is emptied and its buffer released.
func (t *tailCache) set(base, next int64, stored []byte, now int64) {
	wanted := t.wanted(now)
	t.mu.Lock()
	switch {
	case !wanted:
		t.base, t.next, t.data = -1, -1, nil
	case len(stored) > tailCacheMax:
		t.base, t.next, t.data = -1, -1, t.data[:0]
	default:
		t.base, t.next = base, next
		t.data = append(t.data[:0], stored...)
	}
	t.mu.Unlock()
}

// reset empties the cache.
func (t *tailCache) reset() {
	t.mu.Lock()
	t.base, t.next, t.data = -1, -1, t.data[:0]
	t.mu.Unlock()
}

// releaseIdle empties the cache and releases its buffer when nobody has
// fetched the partition within tailWanted of now (Unix ns), for partitions
// that are no longer written either.
func (t *tailCache) releaseIdle(now int64) {
	if t.wanted(now) {
		return
	}
	t.mu.Lock()
	if !t.wanted(now) {
		t.base, t.next, t.data = -1, -1, nil
	}
	t.mu.Unlock()
}

// read appends the cached write to dst when a fetch from offset with
// maxBytes would return exactly it: offset is the write's first offset,
// the whole write is below the high watermark hw (visible, and under
// fsync=always durable), and it fits maxBytes.
func (t *tailCache) read(dst []byte, offset, hw int64, maxBytes int) ([]byte, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.base < 0 || offset != t.base || t.next > hw || len(t.data) > maxBytes || len(t.data) == 0 {
		return dst, false
	}
	return append(dst, t.data...), true
}
