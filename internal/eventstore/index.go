package eventstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/eddy-streaming/eddy/internal/record"
)

// Index layout in the bbolt file (docs/format/eventstore-index.md): one
// top-level bucket per partition, "p/<topic>/<partition>", holding
//
//	meta:   "v" → 3 (format version), "checkpoint" → u64 (every record below
//	        it is in the index), "topic_id" → 16 bytes
//	events: ekey(stream, first) → u64 offset ‖ u32 count: a run of count
//	        events, versions first.. at offsets offset.. (one append's
//	        events are one run)
//	byoff:  u64 offset of a run → ekey(stream, first) (to roll back)
//
// with ekey = uvarint(len(stream)) ‖ stream ‖ u64 version, all big-endian.
// A stream's head (next version) is the end of its last run in events.
// (Format 2 also kept a heads bucket, stream → next version: a second
// random leaf dirtied per stream in every flush, for a lookup events
// answers with the same cursor descent. A format-2 bucket is rebuilt from
// the log, as any other unknown format.)
var (
	bktMeta   = []byte("meta")
	bktEvents = []byte("events")
	bktByOff  = []byte("byoff")
	keyVer    = []byte("v")
	keyCkpt   = []byte("checkpoint")
	keyTopic  = []byte("topic_id")
)

const indexFormatVersion = 3

func partBucket(topic string, part int32) []byte {
	return []byte("p/" + topic + "/" + strconv.Itoa(int(part)))
}

func ekey(dst []byte, stream string, version int64) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(stream)))
	dst = append(dst, stream...)
	return binary.BigEndian.AppendUint64(dst, uint64(version))
}

func ekeyPrefix(stream string) []byte {
	return append(binary.AppendUvarint(nil, uint64(len(stream))), stream...)
}

func parseEkey(k []byte) (stream string, version int64, ok bool) {
	n, w := binary.Uvarint(k)
	if w <= 0 || uint64(len(k)-w) != n+8 {
		return "", 0, false
	}
	return string(k[w : w+int(n)]), int64(binary.BigEndian.Uint64(k[w+int(n):])), true
}

func u64(v int64) []byte { return binary.BigEndian.AppendUint64(nil, uint64(v)) }

// runValue encodes a run's first offset and length.
func runValue(off, n int64) []byte { return appendRunValue(make([]byte, 0, 12), off, n) }

// appendRunValue appends runValue(off, n) to dst.
func appendRunValue(dst []byte, off, n int64) []byte {
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(dst, uint64(off)), uint32(n))
}

func parseRun(v []byte) (off, n int64, ok bool) {
	if len(v) != 12 {
		return 0, 0, false
	}
	return int64(binary.BigEndian.Uint64(v)), int64(binary.BigEndian.Uint32(v[8:])), true
}

func getU64(b []byte) (int64, bool) {
	if len(b) != 8 {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(b)), true
}

// entry is one indexed event.
type entry struct {
	stream          string
	version, offset int64
}

// staged is what CheckAppend learned for RecordAppend: an event of the
// append at record position rel (offset = base + rel).
type staged struct {
	stream  string
	version int64
	rel     int64
}

// partIndex is the per-key index of one partition: the durable part in
// bbolt up to the checkpoint, and the entries appended since in memory
// (pending), flushed once the log has made them durable.
type partIndex struct {
	s      *Store
	topic  string
	part   int32
	bucket []byte

	mu      sync.Mutex
	heads   map[string]int64 // cache of next versions, including pending
	pending []entry          // in offset order, not yet in bbolt
	pend    map[string][]pos // pending by stream, so reads need not scan pending
	indexed int64            // every record below is indexed (in memory)
	flushed int64            // the checkpoint in bbolt
	staged  []staged
	scratch map[string]int64
	// cuts counts log tail cuts the index followed (truncateLocked).
	cuts atomic.Int64
	// partitions is the topic's partition count as the store last saw
	// it: a keyed record produced over Kafka must land in its stream's
	// partition (Partition) among that many.
	partitions atomic.Int32
}

func newPartIndex(s *Store, topic string, part int32) *partIndex {
	return &partIndex{s: s, topic: topic, part: part, bucket: partBucket(topic, part),
		heads: make(map[string]int64), scratch: make(map[string]int64), pend: make(map[string][]pos)}
}

// headLocked returns the number of events of stream (its next version).
func (pi *partIndex) headLocked(stream []byte) (int64, error) {
	if v, ok := pi.heads[string(stream)]; ok {
		return v, nil
	}
	var v int64
	err := pi.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(pi.bucket)
		if b == nil {
			return nil
		}
		if eb := b.Bucket(bktEvents); eb != nil {
			v = headFromEvents(eb, stream)
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("read stream head: %w", err)
	}
	if len(pi.heads) < pi.s.cfg.CacheStreams {
		pi.heads[string(stream)] = v
	}
	return v, nil
}

// headFromEvents returns a stream's next version from the file: the end
// of its last run (0: no runs).
func headFromEvents(events *bolt.Bucket, stream []byte) int64 {
	prefix := binary.AppendUvarint(make([]byte, 0, len(stream)+18), uint64(len(stream)))
	prefix = append(prefix, stream...)
	c := events.Cursor()
	k, v := c.Seek(binary.BigEndian.AppendUint64(prefix[:len(prefix):len(prefix)], math.MaxUint64))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if len(k) != len(prefix)+8 || !bytes.HasPrefix(k, prefix) {
		return 0
	}
	_, n, ok := parseRun(v)
	if !ok {
		return 0
	}
	return int64(binary.BigEndian.Uint64(k[len(prefix):])) + n
}

// indexLocked adds an event to the in-memory part.
func (pi *partIndex) indexLocked(stream string, version, offset int64) {
	pi.heads[stream] = version + 1
	pi.pending = append(pi.pending, entry{stream: stream, version: version, offset: offset})
	pi.pend[stream] = append(pi.pend[stream], pos{version, offset})
}

// indexBatchLocked indexes every keyed record of a stored batch (catch-up).
func (pi *partIndex) indexBatchLocked(h record.BatchHeader, batch []byte, from int64) error {
	return forEachRecord(h, batch, func(r *Record) error {
		if r.Key == nil || r.Offset < from {
			return nil
		}
		v, err := pi.headLocked(r.Key)
		if err != nil {
			return err
		}
		pi.indexLocked(string(r.Key), v, r.Offset)
		return nil
	})
}

// flushJob is one partition's share of a flush.
type flushJob struct {
	pi      *partIndex
	n       int
	entries []entry
	ckpt    int64
	// streams is what the job takes of prepareFlushMax's stream budget:
	// at most its distinct streams, maxStreams when it was cut short.
	streams int
}

// prepareFlushMax picks the pending entries below hw (durable in the
// log) of at most maxStreams distinct streams (0: all): what a bbolt commit costs in
// memory is the leaves it dirties (each copied in the heap and faulted
// into the mapping), about one per distinct stream (its events leaf;
// byoff keys ascend), not the entries, of which one stream's consecutive
// appends share leaves. A job cut short checkpoints at the first entry
// it leaves pending, below which every keyed record is then in the file.
//
// Called with s.flushMu held, which keeps pending[:n] unchanged (only
// flushes and log truncations, both under flushMu, replace it; appends
// only add past its end), so the streams are counted without pi.mu.
func (pi *partIndex) prepareFlushMax(hw int64, maxStreams int) (flushJob, bool) {
	pi.mu.Lock()
	pending := pi.pending
	n := sort.Search(len(pending), func(i int) bool { return pending[i].offset >= hw })
	ckpt := min(hw, pi.indexed)
	flushed := pi.flushed
	pi.mu.Unlock()
	streams := n // an upper bound, counted when it matters
	if maxStreams > 0 && n > maxStreams {
		seen := make(map[string]struct{}, maxStreams)
		for i, e := range pending[:n] {
			_, ok := seen[e.stream]
			if i >= maxTxEntries || (!ok && len(seen) == maxStreams) {
				n, ckpt = i, e.offset
				seen = nil
				break
			}
			if !ok {
				seen[e.stream] = struct{}{}
			}
		}
		streams = maxStreams // cut short: the budget is used up
		if seen != nil {
			streams = len(seen)
		}
	}
	if n == 0 && ckpt <= flushed {
		return flushJob{}, false
	}
	return flushJob{pi: pi, n: n, entries: pending[:n:n], ckpt: ckpt, streams: streams}, true
}

// maxTxEntries bounds the entries of one transaction whatever their
// streams (they are in the heap until it commits).
const maxTxEntries = 64 << 10

func (j *flushJob) write(tx *bolt.Tx) error {
	b, err := tx.CreateBucketIfNotExists(j.pi.bucket)
	if err != nil {
		return err
	}
	meta, events, byoff, err := subBuckets(b)
	if err != nil {
		return err
	}
	// Consecutive events of one stream at consecutive offsets (one
	// append) are one run: one key per append instead of one per event.
	type run struct {
		stream            string
		first, off, count int64
	}
	var runs []run
	for _, e := range j.entries {
		if l := len(runs) - 1; l >= 0 && runs[l].stream == e.stream && runs[l].first+runs[l].count == e.version && runs[l].off+runs[l].count == e.offset {
			runs[l].count++
		} else {
			runs = append(runs, run{e.stream, e.version, e.offset, 1})
		}
	}
	// Keys are put in sorted order: bbolt then fills pages in sequence
	// instead of splitting them at random (several times faster for
	// batches of many streams). byoff keys ascend already.
	// Keys and values are carved from one buffer sized for all of them
	// (bbolt keeps them until the transaction commits): one allocation
	// per flush instead of several per run.
	type kv struct{ k, v []byte }
	evs := make([]kv, 0, len(runs))
	size := 0
	for _, r := range runs {
		size += binary.MaxVarintLen64 + len(r.stream) + 8 + 12 + 8
	}
	arena := make([]byte, 0, size)
	carve := func(start int) []byte { return arena[start:len(arena):len(arena)] }
	for _, r := range runs {
		start := len(arena)
		arena = ekey(arena, r.stream, r.first)
		k := carve(start)
		start = len(arena)
		arena = appendRunValue(arena, r.off, r.count)
		v := carve(start)
		start = len(arena)
		arena = binary.BigEndian.AppendUint64(arena, uint64(r.off))
		evs = append(evs, kv{k, v})
		if err := byoff.Put(carve(start), k); err != nil {
			return err
		}
	}
	slices.SortFunc(evs, func(a, b kv) int { return bytes.Compare(a.k, b.k) })
	for _, e := range evs {
		if err := events.Put(e.k, e.v); err != nil {
			return err
		}
	}
	if old, _ := getU64(meta.Get(keyCkpt)); j.ckpt > old {
		return meta.Put(keyCkpt, u64(j.ckpt))
	}
	return nil
}

// finishFlush drops the flushed entries from memory and trims the cache.
func (pi *partIndex) finishFlush(j flushJob) {
	pi.mu.Lock()
	defer pi.mu.Unlock()
	pi.pending = append([]entry(nil), pi.pending[j.n:]...)
	pi.rebuildPendLocked()
	if j.ckpt > pi.flushed {
		pi.flushed = j.ckpt
	}
	if len(pi.heads) > pi.s.cfg.CacheStreams {
		// Streams with unflushed events must stay (the file does not know
		// their heads yet); keep up to half the cache of the others. A new
		// map, because a Go map never shrinks.
		heads := make(map[string]int64, pi.s.cfg.CacheStreams/2+len(pi.pending))
		for _, e := range pi.pending {
			heads[e.stream] = pi.heads[e.stream]
		}
		for k, v := range pi.heads {
			if len(heads) >= pi.s.cfg.CacheStreams/2 {
				break
			}
			heads[k] = v
		}
		pi.heads = heads
	}
}

func subBuckets(b *bolt.Bucket) (meta, events, byoff *bolt.Bucket, err error) {
	if meta, err = b.CreateBucketIfNotExists(bktMeta); err != nil {
		return
	}
	if events, err = b.CreateBucketIfNotExists(bktEvents); err != nil {
		return
	}
	byoff, err = b.CreateBucketIfNotExists(bktByOff)
	return
}

// loadCheckpoint reads the partition's checkpoint, resetting the bucket
// when it belongs to an earlier topic of the same name or an unknown
// format version.
func (s *Store) loadCheckpoint(bucket []byte, topicID [16]byte) (int64, error) {
	var ckpt int64
	err := s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b != nil {
			meta := b.Bucket(bktMeta)
			ok := meta != nil && bytes.Equal(meta.Get(keyTopic), topicID[:])
			if ok {
				v, _ := getU64(meta.Get(keyVer))
				ok = v == indexFormatVersion
			}
			if ok {
				ckpt, _ = getU64(meta.Get(keyCkpt))
				return nil
			}
			if err := tx.DeleteBucket(bucket); err != nil {
				return err
			}
		}
		b, err := tx.CreateBucket(bucket)
		if err != nil {
			return err
		}
		meta, _, _, err := subBuckets(b)
		if err != nil {
			return err
		}
		if err := meta.Put(keyVer, u64(indexFormatVersion)); err != nil {
			return err
		}
		if err := meta.Put(keyTopic, topicID[:]); err != nil {
			return err
		}
		return meta.Put(keyCkpt, u64(0))
	})
	if err != nil {
		return 0, fmt.Errorf("load index checkpoint %s: %w", bucket, err)
	}
	return ckpt, nil
}

// rollBack removes every indexed event at or above end: the index got
// ahead of the log (whose unsynced tail a crash dropped). A stream's head
// (the end of its last run) goes back with its runs to the version of its
// first removed event.
func (s *Store) rollBack(bucket []byte, end int64) (removed int, err error) {
	err = s.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucket)
		if b == nil {
			return nil
		}
		meta, events, byoff, err := subBuckets(b)
		if err != nil {
			return err
		}
		type del struct{ off, ek []byte }
		var dels []del
		c := byoff.Cursor()
		k, v := c.Seek(u64(end))
		for ; k != nil; k, v = c.Next() {
			dels = append(dels, del{append([]byte(nil), k...), append([]byte(nil), v...)})
		}
		// The run starting last before end may reach past it: shorten it.
		pk, pv := c.Last()
		if len(dels) > 0 {
			c.Seek(dels[0].off)
			pk, pv = c.Prev()
		}
		if pk != nil {
			_, _, ok := parseEkey(pv)
			off, n, ok2 := parseRun(events.Get(pv))
			if !ok || !ok2 {
				return errors.New("corrupt index run")
			}
			if off+n > end {
				keep := end - off
				if err := events.Put(append([]byte(nil), pv...), runValue(off, keep)); err != nil {
					return err
				}
			}
		}
		for _, d := range dels {
			if _, _, ok := parseEkey(d.ek); !ok {
				return errors.New("corrupt byoff entry")
			}
			if err := events.Delete(d.ek); err != nil {
				return err
			}
			if err := byoff.Delete(d.off); err != nil {
				return err
			}
		}
		removed = len(dels)
		return meta.Put(keyCkpt, u64(end))
	})
	if err != nil {
		return 0, fmt.Errorf("roll back index %s to %d: %w", bucket, end, err)
	}
	return removed, nil
}

// pos is an event's place: version in its stream and offset in the log.
type pos struct{ version, offset int64 }

// streamPositions returns the number of the stream's events below hw
// (durable) and up to limit of their positions from version from, forward
// or backward (from < 0: the last).
func (pi *partIndex) streamPositions(stream string, from int64, limit int, backward bool, hw int64) (count int64, out []pos, err error) {
	// Pending first, then bbolt: an entry leaves pending only after its
	// flush committed, so it is in one of the two views.
	pi.mu.Lock()
	count, err = pi.headLocked([]byte(stream))
	var mem []pos
	for _, p := range pi.pend[stream] {
		if p.offset >= hw {
			// Not durable: readers see the stream without it (and
			// without every later event, which is not durable either).
			count = min(count, p.version)
			break
		}
		mem = append(mem, p)
	}
	pi.mu.Unlock()
	if err != nil {
		return 0, nil, err
	}
	if backward && (from < 0 || from >= count) {
		from = count - 1
	}
	if from < 0 {
		from = 0
	}
	seen := make(map[int64]bool)
	add := func(p pos) {
		if !seen[p.version] {
			seen[p.version] = true
			out = append(out, p)
		}
	}
	for _, p := range mem {
		if (!backward && p.version >= from) || (backward && p.version <= from) {
			add(p)
		}
	}
	prefix := ekeyPrefix(stream)
	err = pi.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(pi.bucket)
		if b == nil {
			return nil
		}
		events := b.Bucket(bktEvents)
		if events == nil {
			return nil
		}
		c := events.Cursor()
		// Start at the run holding from: the last run whose first version
		// is <= from (or, forward, the first run after it).
		target := ekey(nil, stream, from)
		k, v := c.Seek(target)
		if k == nil || !bytes.Equal(k, target) {
			pk, pv := c.Last()
			if k != nil {
				c.Seek(target)
				pk, pv = c.Prev()
			}
			if pk != nil && bytes.HasPrefix(pk, prefix) {
				k, v = pk, pv
			} else if backward {
				k = nil
			} else if k != nil {
				c.Seek(target) // forward from the first run after from
			}
		}
		n := 0
		for k != nil && bytes.HasPrefix(k, prefix) && n < limit {
			_, first, ok := parseEkey(k)
			off, cnt, ok2 := parseRun(v)
			if !ok || !ok2 {
				// Another stream whose name extends this prefix cannot
				// match: the length prefix makes ekeys prefix-free.
				break
			}
			if backward {
				for ver := min(from, first+cnt-1, count-1); ver >= first && n < limit; ver-- {
					add(pos{ver, off + ver - first})
					n++
				}
				k, v = c.Prev()
				continue
			}
			if first >= count {
				break
			}
			for ver := max(from, first); ver < first+cnt && ver < count && n < limit; ver++ {
				add(pos{ver, off + ver - first})
				n++
			}
			k, v = c.Next()
		}
		return nil
	})
	if err != nil {
		return 0, nil, fmt.Errorf("read stream index: %w", err)
	}
	sort.Slice(out, func(i, j int) bool {
		if backward {
			return out[i].version > out[j].version
		}
		return out[i].version < out[j].version
	})
	if len(out) > limit {
		out = out[:limit]
	}
	return count, out, nil
}

// versionAt returns the version of the event at offset, from the pending
// entries or the file.
func (pi *partIndex) versionAt(offset int64) (int64, bool, error) {
	pi.mu.Lock()
	i := sort.Search(len(pi.pending), func(i int) bool { return pi.pending[i].offset >= offset })
	if i < len(pi.pending) && pi.pending[i].offset == offset {
		v := pi.pending[i].version
		pi.mu.Unlock()
		return v, true, nil
	}
	pi.mu.Unlock()
	var v int64
	var ok bool
	err := pi.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(pi.bucket)
		if b == nil || b.Bucket(bktByOff) == nil || b.Bucket(bktEvents) == nil {
			return nil
		}
		c := b.Bucket(bktByOff).Cursor()
		k, ek := c.Seek(u64(offset))
		if k == nil || !bytes.Equal(k, u64(offset)) {
			if k == nil {
				k, ek = c.Last()
			} else {
				k, ek = c.Prev()
			}
		}
		if k == nil {
			return nil
		}
		_, first, ok1 := parseEkey(ek)
		off, cnt, ok2 := parseRun(b.Bucket(bktEvents).Get(ek))
		if ok1 && ok2 && offset >= off && offset < off+cnt {
			v, ok = first+offset-off, true
		}
		return nil
	})
	return v, ok, err
}

// rebuildPendLocked recomputes pend from pending.
func (pi *partIndex) rebuildPendLocked() {
	pi.pend = make(map[string][]pos, len(pi.pend))
	for _, e := range pi.pending {
		pi.pend[e.stream] = append(pi.pend[e.stream], pos{e.version, e.offset})
	}
}
