package share

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// Key names one share-partition.
type Key struct {
	Group, Topic string
	Partition    int32
}

func (k Key) String() string {
	return k.Group + "\x00" + k.Topic + "\x00" + strconv.Itoa(int(k.Partition))
}

func parseKey(s string) (Key, error) {
	parts := strings.Split(s, "\x00")
	if len(parts) != 3 {
		return Key{}, fmt.Errorf("share state key %q: want group, topic, partition", s)
	}
	p, err := strconv.ParseInt(parts[2], 10, 32)
	if err != nil {
		return Key{}, fmt.Errorf("share state key %q: %w", s, err)
	}
	return Key{Group: parts[0], Topic: parts[1], Partition: int32(p)}, nil
}

// Store keeps share-group state durably. It is the one interface the
// coordinator writes through, so the state can later move into a
// replicated metadata log (DESIGN.md §9). Every write is durable when it
// returns.
type Store interface {
	// SavePartitions stores partition snapshots in one durable write.
	SavePartitions(snaps map[Key]Snapshot) error
	// DeletePartition forgets a partition's state.
	DeletePartition(k Key) error
	// SaveGroup stores a group's record (its existence and configs).
	SaveGroup(group string, g GroupRecord) error
	// DeleteGroup forgets a group and every partition state of it.
	DeleteGroup(group string) error
	// Load calls group for every stored group, then part for every stored
	// partition snapshot.
	Load(group func(name string, g GroupRecord) error, part func(k Key, s Snapshot) error) error
}

// GroupRecord is the durable part of a share group.
type GroupRecord struct {
	// Configs are the group's dynamic configs (IncrementalAlterConfigs
	// on resource type GROUP).
	Configs map[string]string `json:"configs,omitempty"`
}

const (
	bucketPartitions = "share_partitions"
	bucketGroups     = "share_groups"
	snapshotVersion  = 1
)

// MetaStore is the Store keeping everything in Eddy's embedded meta store
// (one bbolt transaction, two fsyncs, per write). Eddy runs on LogStore;
// MetaStore keeps groups for it and reads what older versions stored.
type MetaStore struct{ m *meta.Store }

// NewMetaStore returns a Store writing into m.
func NewMetaStore(m *meta.Store) *MetaStore { return &MetaStore{m: m} }

// SavePartitions implements Store: one bbolt transaction, one fsync.
func (s *MetaStore) SavePartitions(snaps map[Key]Snapshot) error {
	err := s.m.Update(func(tx *meta.Tx) error {
		for k, snap := range snaps {
			if err := tx.Put(bucketPartitions, k.String(), EncodeSnapshot(snap)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save share state of %d partitions: %w", len(snaps), err)
	}
	return nil
}

// DeletePartition implements Store.
func (s *MetaStore) DeletePartition(k Key) error {
	if err := s.m.Delete(bucketPartitions, k.String()); err != nil {
		return fmt.Errorf("delete share state %s/%s/%d: %w", k.Group, k.Topic, k.Partition, err)
	}
	return nil
}

// SaveGroup implements Store.
func (s *MetaStore) SaveGroup(group string, g GroupRecord) error {
	b, err := json.Marshal(g)
	if err != nil {
		return err
	}
	if err := s.m.Put(bucketGroups, group, b); err != nil {
		return fmt.Errorf("save share group %s: %w", group, err)
	}
	return nil
}

// DeleteGroup implements Store.
func (s *MetaStore) DeleteGroup(group string) error {
	err := s.m.Update(func(tx *meta.Tx) error {
		if err := tx.Delete(bucketGroups, group); err != nil {
			return err
		}
		return tx.DeletePrefix(bucketPartitions, group+"\x00")
	})
	if err != nil {
		return fmt.Errorf("delete share group %s: %w", group, err)
	}
	return nil
}

func decodeGroup(name string, v []byte) (GroupRecord, error) {
	var g GroupRecord
	if err := json.Unmarshal(v, &g); err != nil {
		return g, fmt.Errorf("share group %s: %w", name, err)
	}
	return g, nil
}

// Load implements Store.
func (s *MetaStore) Load(group func(string, GroupRecord) error, part func(Key, Snapshot) error) error {
	err := s.m.ForEach(bucketGroups, "", func(k string, v []byte) error {
		g, err := decodeGroup(k, v)
		if err != nil {
			return err
		}
		return group(k, g)
	})
	if err != nil {
		return fmt.Errorf("load share groups: %w", err)
	}
	err = s.m.ForEach(bucketPartitions, "", func(k string, v []byte) error {
		key, err := parseKey(k)
		if err != nil {
			return err
		}
		snap, err := DecodeSnapshot(v)
		if err != nil {
			return fmt.Errorf("share state %s/%s/%d: %w", key.Group, key.Topic, key.Partition, err)
		}
		return part(key, snap)
	})
	if err != nil {
		return fmt.Errorf("load share state: %w", err)
	}
	return nil
}

// EncodeSnapshot encodes s as runs of equal record states:
//
//	u8 version (1) | varint start | uvarint runs |
//	runs × ( u8 state | uvarint deliveries | uvarint count | [Archiving: u8 reason | varint dlqFrom] )
//
// (docs/format/share-state.md).
func EncodeSnapshot(s Snapshot) []byte {
	b := make([]byte, 0, 16+len(s.Records))
	b = append(b, snapshotVersion)
	b = binary.AppendVarint(b, s.Start)
	type run struct {
		r RecordState
		n int
	}
	var runs []run
	for _, r := range s.Records {
		if r.State != Archiving {
			r.Reason, r.DLQFrom = 0, 0
		}
		if n := len(runs); n > 0 && runs[n-1].r == r {
			runs[n-1].n++
			continue
		}
		runs = append(runs, run{r, 1})
	}
	b = binary.AppendUvarint(b, uint64(len(runs)))
	for _, r := range runs {
		b = append(b, byte(r.r.State))
		b = binary.AppendUvarint(b, uint64(uint16(r.r.Deliveries)))
		b = binary.AppendUvarint(b, uint64(r.n))
		if r.r.State == Archiving {
			b = append(b, byte(r.r.Reason))
			b = binary.AppendVarint(b, r.r.DLQFrom)
		}
	}
	return b
}

// errCorrupt is wrapped by every DecodeSnapshot error.
var errCorrupt = errors.New("corrupt share state")

// maxSnapshotRecords bounds a decoded snapshot (far above any
// group.share.partition.max.record.locks) so a corrupt count cannot
// allocate without bound.
const maxSnapshotRecords = 1 << 22

// DecodeSnapshot decodes EncodeSnapshot's output.
func DecodeSnapshot(b []byte) (Snapshot, error) {
	var s Snapshot
	if len(b) == 0 {
		return s, fmt.Errorf("%w: empty", errCorrupt)
	}
	if b[0] != snapshotVersion {
		return s, fmt.Errorf("%w: version %d", errCorrupt, b[0])
	}
	b = b[1:]
	uv := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	sv := func() (int64, bool) {
		v, n := binary.Varint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	start, ok := sv()
	if !ok || start < -1 {
		return s, fmt.Errorf("%w: start offset", errCorrupt)
	}
	s.Start = start
	runs, ok := uv()
	if !ok || runs > maxSnapshotRecords {
		return s, fmt.Errorf("%w: run count", errCorrupt)
	}
	for range runs {
		if len(b) == 0 {
			return s, fmt.Errorf("%w: truncated run", errCorrupt)
		}
		st := State(b[0])
		b = b[1:]
		if st > Archiving {
			return s, fmt.Errorf("%w: state %d", errCorrupt, st)
		}
		d, ok1 := uv()
		n, ok2 := uv()
		if !ok1 || !ok2 || d > 1<<15-1 || n == 0 || n > maxSnapshotRecords-uint64(len(s.Records)) {
			return s, fmt.Errorf("%w: run", errCorrupt)
		}
		r := RecordState{State: st, Deliveries: int16(d)}
		if st == Archiving {
			if len(b) == 0 {
				return s, fmt.Errorf("%w: truncated run", errCorrupt)
			}
			r.Reason = Reason(b[0])
			b = b[1:]
			if r.DLQFrom, ok = sv(); !ok {
				return s, fmt.Errorf("%w: dlq offset", errCorrupt)
			}
		}
		for range n {
			s.Records = append(s.Records, r)
		}
	}
	if len(b) != 0 {
		return s, fmt.Errorf("%w: %d trailing bytes", errCorrupt, len(b))
	}
	if s.Start < 0 && len(s.Records) > 0 {
		return s, fmt.Errorf("%w: records without a start offset", errCorrupt)
	}
	return s, nil
}
