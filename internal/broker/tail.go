package broker

import "sync"

// tailCacheMax is the largest write the partition keeps a copy of for
// fetches: small writes are the per-request-cost regime (a producer at
// linger 0 with a consumer parked on the partition), where the consumer's
// next fetch asks for exactly the last write.
const tailCacheMax = 16 << 10

// tailCache is a copy of a partition's last write, as stored (offsets
// assigned, LogAppendTime stamped), so the fetch that follows it — the
// consumer parked at the log end — is served without locating and reading
// it back from the log (an index search and a pread per fetch).
type tailCache struct {
	mu         sync.Mutex
	base, next int64 // offsets of the cached write; base < 0: empty
	data       []byte
}

// set replaces the cache with the write [base, next) of stored; writes
// larger than tailCacheMax empty it.
func (t *tailCache) set(base, next int64, stored []byte) {
	t.mu.Lock()
	if len(stored) > tailCacheMax {
		t.base, t.next, t.data = -1, -1, t.data[:0]
	} else {
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
