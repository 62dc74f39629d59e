package eventstore

import (
	"hash/maphash"
	"sync"
)

// recentIDs remembers the first event id of the latest appends, so an
// Any/StreamExists append only reads the stream's tail to detect a retry
// when its first id was appended recently (KurrentDB keeps a similar
// cache). Numeric and NoStream appends need no cache: their position says
// where to look.
//
// It keeps a 64-bit hash of topic, stream and id, not the strings: the map
// and ring hold no pointers, so the garbage collector neither scans them
// nor keeps request bodies alive through them. A hash collision only makes
// an append read its stream's tail (alreadyStored compares the real ids),
// never changes its outcome.
type recentIDs struct {
	mu   sync.Mutex
	ids  map[uint64]struct{}
	ring []uint64
	next int
}

const recentIDsCap = 1 << 16

// recentSeed seeds the hashes of every recentIDs of the process.
var recentSeed = maphash.MakeSeed()

func recentKey(topic, stream, id string) uint64 {
	var h maphash.Hash
	h.SetSeed(recentSeed)
	h.WriteString(topic)
	h.WriteByte(0)
	h.WriteString(stream)
	h.WriteByte(0)
	h.WriteString(id)
	return max(h.Sum64(), 1) // 0 marks an empty ring slot
}

func (r *recentIDs) add(topic, stream, id string) {
	k := recentKey(topic, stream, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = make(map[uint64]struct{}, recentIDsCap)
		r.ring = make([]uint64, recentIDsCap)
	}
	if _, ok := r.ids[k]; ok {
		return
	}
	if old := r.ring[r.next]; old != 0 {
		delete(r.ids, old)
	}
	r.ring[r.next] = k
	r.next = (r.next + 1) % recentIDsCap
	r.ids[k] = struct{}{}
}

func (r *recentIDs) seen(topic, stream, id string) bool {
	k := recentKey(topic, stream, id)
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.ids[k]
	return ok
}
