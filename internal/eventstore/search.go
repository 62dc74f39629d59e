package eventstore

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// StreamHead is one stream found by Streams: its name, partition and
// current version (the version of its last event).
type StreamHead struct {
	Stream    string `json:"stream"`
	Partition int32  `json:"partition"`
	Version   int64  `json:"version"`
}

// MaxStreamsPage bounds the limit of one Streams call.
const MaxStreamsPage = 1000

// Streams returns up to limit streams of topic whose names start with
// prefix and sort after after (byte order), in byte order, and whether
// more follow. It reads the index, not the log: the index file's entries
// plus those not flushed yet.
//
// The index keys a stream by its length first (ekey), so the names of one
// length are in byte order and each length is a separate range: Streams
// seeks each length from len(prefix) to MaxStreamLen, takes at most limit
// names past after from each, and merges them. A page costs about
// MaxStreamLen seeks per partition plus the names it returns.
func (s *Store) Streams(topic, prefix, after string, limit int) ([]StreamHead, bool, error) {
	if limit <= 0 || limit > MaxStreamsPage {
		return nil, false, fmt.Errorf("%w: limit %d is outside 1..%d", ErrInvalidStream, limit, MaxStreamsPage)
	}
	info, err := s.streamTopic(topic)
	if err != nil {
		return nil, false, err
	}
	var found []StreamHead
	for p := int32(0); p < info.Partitions; p++ {
		pi := s.partIndex(topic, p)
		if pi == nil {
			continue
		}
		names, err := pi.searchNames(prefix, after, limit+1)
		if err != nil {
			return nil, false, fmt.Errorf("search streams of %s-%d: %w", topic, p, err)
		}
		for _, n := range names {
			found = append(found, StreamHead{Stream: n, Partition: p})
		}
	}
	sort.Slice(found, func(i, j int) bool { return found[i].Stream < found[j].Stream })
	more := len(found) > limit
	if more {
		found = found[:limit]
	}
	for i := range found {
		pi := s.partIndex(topic, found[i].Partition)
		if pi == nil {
			continue
		}
		pi.mu.Lock()
		n, err := pi.headLocked([]byte(found[i].Stream))
		pi.mu.Unlock()
		if err != nil {
			return nil, false, err
		}
		found[i].Version = n - 1
	}
	return found, more, nil
}

// searchNames returns up to limit distinct stream names of this partition
// with prefix, after after, in byte order.
func (pi *partIndex) searchNames(prefix, after string, limit int) ([]string, error) {
	set := map[string]struct{}{}
	// The pending entries first: an entry flushed between the two reads
	// is then in the file when the file is read.
	pi.mu.Lock()
	for name := range pi.pend {
		if strings.HasPrefix(name, prefix) && name > after {
			set[name] = struct{}{}
		}
	}
	pi.mu.Unlock()
	err := pi.s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(pi.bucket)
		if b == nil {
			return nil
		}
		eb := b.Bucket(bktEvents)
		if eb == nil {
			return nil
		}
		c := eb.Cursor()
		for l := len(prefix); l <= MaxStreamLen; l++ {
			lp := binary.AppendUvarint(nil, uint64(l))
			want := append(lp[:len(lp):len(lp)], prefix...)
			seek := want
			if len(after) == l && after >= prefix {
				// Past every run of after itself.
				seek = binary.BigEndian.AppendUint64(append(lp[:len(lp):len(lp)], after...), math.MaxUint64)
			} else if after > prefix {
				if ak := append(lp[:len(lp):len(lp)], after...); bytes.Compare(ak, want) > 0 {
					seek = ak
				}
			}
			n := 0
			for k, _ := c.Seek(seek); k != nil && bytes.HasPrefix(k, want) && n < limit; {
				name, _, ok := parseEkey(k)
				if !ok {
					k, _ = c.Next()
					continue
				}
				if name > after {
					set[name] = struct{}{}
					n++
				}
				// Skip the stream's other runs.
				k, _ = c.Seek(binary.BigEndian.AppendUint64(append(lp[:len(lp):len(lp)], name...), math.MaxUint64))
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read stream index: %w", err)
	}
	out := make([]string, 0, len(set))
	for n := range set {
		out = append(out, n)
	}
	sort.Strings(out)
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}
