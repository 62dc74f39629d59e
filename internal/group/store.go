package group

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// Meta buckets and record formats (docs/format/groups.md describes them).
const (
	bucketOffsets = "group_offsets"
	bucketGroups  = "groups"

	offsetRecordV1 = 1
	offsetRecordV2 = 2
	groupRecordV1  = 1
)

// errCorruptRecord is wrapped by decode failures of stored records.
var errCorruptRecord = errors.New("corrupt group record")

// offsetKey is u16 len(group) | group | u16 len(topic) | topic | u32 partition,
// so one group's offsets share a prefix and sort by topic and partition.
func offsetKey(group string, k tp) string {
	b := make([]byte, 0, 8+len(group)+len(k.topic))
	b = binary.BigEndian.AppendUint16(b, uint16(len(group)))
	b = append(b, group...)
	b = binary.BigEndian.AppendUint16(b, uint16(len(k.topic)))
	b = append(b, k.topic...)
	b = binary.BigEndian.AppendUint32(b, uint32(k.partition))
	return string(b)
}

func offsetGroupPrefix(group string) string {
	b := binary.BigEndian.AppendUint16(nil, uint16(len(group)))
	return string(append(b, group...))
}

func parseOffsetKey(key string) (string, tp, error) {
	b := []byte(key)
	bad := fmt.Errorf("offset key %q: %w", key, errCorruptRecord)
	if len(b) < 2 {
		return "", tp{}, bad
	}
	gl := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) < gl+2 {
		return "", tp{}, bad
	}
	g := string(b[:gl])
	b = b[gl:]
	tl := int(binary.BigEndian.Uint16(b))
	b = b[2:]
	if len(b) != tl+4 {
		return "", tp{}, bad
	}
	return g, tp{string(b[:tl]), int32(binary.BigEndian.Uint32(b[tl:]))}, nil
}

// encodeOffset (version 2): u8 version=2 | i64 offset | i32 leaderEpoch |
// i64 commitTimeMs | [16]byte topicID | u32 len(metadata) | metadata.
// Version 1 records (no topic id) are still read.
func encodeOffset(c committed) []byte {
	b := make([]byte, 0, 41+len(c.metadata))
	b = append(b, offsetRecordV2)
	b = binary.BigEndian.AppendUint64(b, uint64(c.offset))
	b = binary.BigEndian.AppendUint32(b, uint32(c.leaderEpoch))
	b = binary.BigEndian.AppendUint64(b, uint64(c.commitTime.UnixMilli()))
	b = append(b, c.topicID[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(c.metadata)))
	return append(b, c.metadata...)
}

func decodeOffset(b []byte) (committed, error) {
	head := 25 // v1: version, offset, epoch, commit time, metadata length
	if len(b) > 0 && b[0] == offsetRecordV2 {
		head = 41
	} else if len(b) > 0 && b[0] != offsetRecordV1 {
		return committed{}, fmt.Errorf("offset record version %d: %w", b[0], errCorruptRecord)
	}
	if len(b) < head {
		return committed{}, fmt.Errorf("offset record of %d bytes: %w", len(b), errCorruptRecord)
	}
	n := int(binary.BigEndian.Uint32(b[head-4:]))
	if len(b) != head+n {
		return committed{}, fmt.Errorf("offset record metadata length %d: %w", n, errCorruptRecord)
	}
	c := committed{
		offset:      int64(binary.BigEndian.Uint64(b[1:])),
		leaderEpoch: int32(binary.BigEndian.Uint32(b[9:])),
		commitTime:  time.UnixMilli(int64(binary.BigEndian.Uint64(b[13:]))),
		metadata:    string(b[head:]),
	}
	if head == 41 {
		copy(c.topicID[:], b[21:37])
	}
	return c, nil
}

// encodeGroup: u8 version=1 | i32 generation | i64 emptySinceMs |
// u16 len(protocolType) | protocolType.
func encodeGroup(gen int32, emptySince time.Time, ptype string) []byte {
	b := make([]byte, 0, 15+len(ptype))
	b = append(b, groupRecordV1)
	b = binary.BigEndian.AppendUint32(b, uint32(gen))
	var ms int64
	if !emptySince.IsZero() {
		ms = emptySince.UnixMilli()
	}
	b = binary.BigEndian.AppendUint64(b, uint64(ms))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ptype)))
	return append(b, ptype...)
}

func decodeGroup(b []byte) (gen int32, emptySince time.Time, ptype string, err error) {
	if len(b) < 15 || b[0] != groupRecordV1 {
		return 0, time.Time{}, "", fmt.Errorf("group record: %w", errCorruptRecord)
	}
	n := int(binary.BigEndian.Uint16(b[13:]))
	if len(b) != 15+n {
		return 0, time.Time{}, "", fmt.Errorf("group record: %w", errCorruptRecord)
	}
	gen = int32(binary.BigEndian.Uint32(b[1:]))
	if ms := int64(binary.BigEndian.Uint64(b[5:])); ms != 0 {
		emptySince = time.UnixMilli(ms)
	}
	return gen, emptySince, string(b[15:]), nil
}

// persistGroup stores the generation, protocol type and empty-since time so
// generations keep increasing across restarts and expiry survives them,
// and, when the group is Stable, its members and assignments (see
// groupRecord). Runs on the loop.
func (g *group) persistGroup() {
	rec := encodeGroupRecord(g.record())
	if err := g.c.w.write(func(tx *meta.Tx) error { return tx.Put(bucketGroups, g.name, rec) }); err != nil {
		g.c.log.Error("store group record", "group", g.name, "err", err)
	}
}

// load rebuilds groups from meta. A group last persisted Stable comes back
// Stable with its members, generation and assignments (each member gets a
// fresh session timeout), so its consumers carry on without a rebalance;
// any other group comes back Empty and its members rejoin.
func (c *Coordinator) load() error {
	now := c.cfg.Now()
	groups := map[string]*group{}
	get := func(name string) *group {
		g := groups[name]
		if g == nil {
			g = newGroup(c, name)
			g.emptySince = now
			groups[name] = g
		}
		return g
	}
	err := c.cfg.Meta.ForEach(bucketGroups, "", func(key string, v []byte) error {
		r, err := decodeGroupRecord(v)
		if err != nil {
			c.log.Warn("skip corrupt group record", "group", key, "err", err)
			return nil
		}
		get(key).restore(r)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load groups: %w", err)
	}
	var n int
	err = c.cfg.Meta.ForEach(bucketOffsets, "", func(key string, v []byte) error {
		name, k, err := parseOffsetKey(key)
		if err == nil {
			var o committed
			if o, err = decodeOffset(v); err == nil {
				get(name).offsets[k] = o
				n++
				return nil
			}
		}
		c.log.Warn("skip corrupt offset record", "err", err)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load offsets: %w", err)
	}
	c.mu.Lock()
	for name, g := range groups {
		c.mu.groups[name] = g
		g.start()
		if len(g.members) > 0 {
			g.post(g.armRestored)
		}
	}
	c.mu.Unlock()
	c.log.Info("groups loaded", "groups", len(groups), "offsets", n)
	return nil
}
