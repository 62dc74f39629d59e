package share

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// LogStore is the Store Eddy runs on: share-partition snapshots go to an
// append-only share-state log in their own directory, one frame and one
// fdatasync per write (the coordinator's saver hands it everything that
// changed meanwhile, so concurrent fetches and acknowledgements share it:
// group commit), and groups stay in the meta store (they change rarely).
//
// The log is a sequence of segment files, each zero-filled and fsynced
// when created so that a write only overwrites allocated blocks and its
// fdatasync flushes data, not file metadata. A full segment is replaced by
// a new one that starts with a checkpoint: the latest snapshot of every
// partition in one frame. The old segment is removed only once the new one
// is durable, so a crash at any point leaves a readable history. Load
// reads the segments in order; the last snapshot of a key wins, and a
// segment ends at its first frame that is zero, torn or fails its CRC
// (docs/format/share-state.md).
//
// A LogStore is safe for concurrent use.
type LogStore struct {
	dir     string
	meta    *meta.Store
	segSize int64

	mu     sync.Mutex
	f      *os.File
	seq    uint64 // current segment
	pos    int64  // next write offset in it
	size   int64  // its size
	latest map[Key][]byte
	buf    []byte
}

const (
	stateLogDirName  = "share-state"
	defaultSegSize   = 8 << 20
	frameHeaderSize  = 8
	opPut            = 1
	opDeletePart     = 2
	opDeleteGroup    = 3
	maxFramePayload  = 1 << 30
	segmentExtension = ".state"
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// StateLogDir is where OpenLogStore keeps the share-state log in a data
// directory.
func StateLogDir(dataDir string) string { return filepath.Join(dataDir, stateLogDirName) }

// OpenLogStore opens (creating if needed) the share-state log in dir,
// keeping groups in m. Snapshots an older Eddy kept in m's
// share_partitions bucket are moved into the log.
func OpenLogStore(dir string, m *meta.Store) (*LogStore, error) {
	return openLogStore(dir, m, defaultSegSize)
}

func openLogStore(dir string, m *meta.Store, segSize int64) (*LogStore, error) {
	s := &LogStore{dir: dir, meta: m, segSize: segSize, latest: map[Key][]byte{}}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("open share state log: %w", err)
	}
	if err := syncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("open share state log: %w", err)
	}
	segs, err := s.segments()
	if err != nil {
		return nil, err
	}
	for i, seq := range segs {
		end, err := s.replay(seq)
		if err != nil {
			return nil, err
		}
		if i == len(segs)-1 {
			f, err := os.OpenFile(s.segPath(seq), os.O_RDWR, 0)
			if err != nil {
				return nil, fmt.Errorf("open share state log: %w", err)
			}
			st, err := f.Stat()
			if err != nil {
				f.Close()
				return nil, fmt.Errorf("open share state log: %w", err)
			}
			s.f, s.seq, s.pos, s.size = f, seq, end, st.Size()
		}
	}
	// Snapshots left in the meta store by an older Eddy move into the
	// log (a crash in between leaves both; the log's win on Load).
	legacy := map[Key][]byte{}
	err = m.ForEach(bucketPartitions, "", func(k string, v []byte) error {
		key, err := parseKey(k)
		if err != nil {
			return err
		}
		if _, ok := s.latest[key]; !ok {
			legacy[key] = append([]byte(nil), v...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read share state from meta store: %w", err)
	}
	if s.f == nil {
		if err := s.roll(0); err != nil {
			return nil, err
		}
	}
	if len(legacy) > 0 {
		var ents []byte
		for k, v := range legacy {
			ents = appendEntry(ents, opPut, k.String(), v)
			s.latest[k] = v
		}
		if err := s.append(len(legacy), ents); err != nil {
			return nil, err
		}
		if err := m.Update(func(tx *meta.Tx) error { return tx.DeletePrefix(bucketPartitions, "") }); err != nil {
			return nil, fmt.Errorf("move share state out of the meta store: %w", err)
		}
	}
	return s, nil
}

func (s *LogStore) segPath(seq uint64) string {
	return filepath.Join(s.dir, fmt.Sprintf("%020d%s", seq, segmentExtension))
}

// segments lists the segment sequence numbers in order and removes
// leftovers of an interrupted roll.
func (s *LogStore) segments() ([]uint64, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("list share state log: %w", err)
	}
	var out []uint64
	for _, e := range ents {
		name := e.Name()
		if strings.HasSuffix(name, ".tmp") {
			_ = os.Remove(filepath.Join(s.dir, name))
			continue
		}
		seq, err := strconv.ParseUint(strings.TrimSuffix(name, segmentExtension), 10, 64)
		if err != nil || !strings.HasSuffix(name, segmentExtension) {
			continue
		}
		out = append(out, seq)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// replay applies segment seq's frames to s.latest and returns where its
// valid frames end.
func (s *LogStore) replay(seq uint64) (int64, error) {
	b, err := os.ReadFile(s.segPath(seq))
	if err != nil {
		return 0, fmt.Errorf("read share state log: %w", err)
	}
	pos := 0
	for {
		payload, n := readFrame(b[pos:])
		if n == 0 {
			return int64(pos), nil
		}
		if err := s.apply(payload); err != nil {
			// A frame with a good CRC that does not decode was written by
			// something else: refuse rather than guess.
			return 0, fmt.Errorf("share state log %s at %d: %w", s.segPath(seq), pos, err)
		}
		pos += n
	}
}

// readFrame returns the payload of the frame at the start of b and the
// frame's length, or n = 0 at the end of the valid frames.
func readFrame(b []byte) (payload []byte, n int) {
	if len(b) < frameHeaderSize {
		return nil, 0
	}
	l := binary.BigEndian.Uint32(b)
	if l == 0 || int64(l) > int64(len(b)-frameHeaderSize) || l > maxFramePayload {
		return nil, 0
	}
	payload = b[frameHeaderSize : frameHeaderSize+int(l)]
	if crc32.Checksum(payload, crcTable) != binary.BigEndian.Uint32(b[4:]) {
		return nil, 0
	}
	return payload, frameHeaderSize + int(l)
}

// apply applies one frame's entries to s.latest.
func (s *LogStore) apply(p []byte) error {
	n, k := binary.Uvarint(p)
	if k <= 0 {
		return fmt.Errorf("%w: entry count", errCorrupt)
	}
	p = p[k:]
	for range n {
		if len(p) == 0 {
			return fmt.Errorf("%w: truncated entry", errCorrupt)
		}
		op := p[0]
		p = p[1:]
		key, rest, ok := readBytes(p)
		if !ok {
			return fmt.Errorf("%w: entry key", errCorrupt)
		}
		p = rest
		switch op {
		case opPut:
			val, rest, ok := readBytes(p)
			if !ok {
				return fmt.Errorf("%w: entry value", errCorrupt)
			}
			p = rest
			k, err := parseKey(string(key))
			if err != nil {
				return err
			}
			s.latest[k] = append([]byte(nil), val...)
		case opDeletePart:
			k, err := parseKey(string(key))
			if err != nil {
				return err
			}
			delete(s.latest, k)
		case opDeleteGroup:
			for k := range s.latest {
				if k.Group == string(key) {
					delete(s.latest, k)
				}
			}
		default:
			return fmt.Errorf("%w: entry op %d", errCorrupt, op)
		}
	}
	if len(p) != 0 {
		return fmt.Errorf("%w: %d trailing bytes in frame", errCorrupt, len(p))
	}
	return nil
}

func readBytes(p []byte) (v, rest []byte, ok bool) {
	l, k := binary.Uvarint(p)
	if k <= 0 || l > uint64(len(p)-k) {
		return nil, nil, false
	}
	return p[k : k+int(l)], p[k+int(l):], true
}

func appendEntry(b []byte, op byte, key string, val []byte) []byte {
	b = append(b, op)
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	if op == opPut {
		b = binary.AppendUvarint(b, uint64(len(val)))
		b = append(b, val...)
	}
	return b
}

// append writes one frame of n entries and makes it durable, rolling to a
// new segment first when it does not fit. Callers hold s.mu or own s.
func (s *LogStore) append(n int, ents []byte) error {
	if s.f == nil {
		return fmt.Errorf("share state log: %w", os.ErrClosed)
	}
	need := int64(frameHeaderSize + binary.MaxVarintLen64 + len(ents))
	if s.pos+need > s.size {
		if err := s.roll(need); err != nil {
			return err
		}
	}
	s.buf = frame(s.buf[:0], n, ents)
	if _, err := s.f.WriteAt(s.buf, s.pos); err != nil {
		return fmt.Errorf("write share state log: %w", err)
	}
	if !skipLogSync {
		if err := fdatasync(s.f); err != nil {
			return fmt.Errorf("sync share state log: %w", err)
		}
	}
	s.pos += int64(len(s.buf))
	return nil
}

func frame(b []byte, n int, ents []byte) []byte {
	b = append(b, make([]byte, frameHeaderSize)...)
	b = binary.AppendUvarint(b, uint64(n))
	b = append(b, ents...)
	p := b[frameHeaderSize:]
	binary.BigEndian.PutUint32(b, uint32(len(p)))
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(p, crcTable))
	return b
}

// roll starts a new segment holding a checkpoint of s.latest with room
// for at least need more bytes, then removes the older segments.
func (s *LogStore) roll(need int64) error {
	var ents []byte
	for k, v := range s.latest {
		ents = appendEntry(ents, opPut, k.String(), v)
	}
	var cp []byte
	if len(s.latest) > 0 {
		cp = frame(nil, len(s.latest), ents)
	}
	size := max(s.segSize, 2*(int64(len(cp))+need))
	seq := s.seq + 1
	tmp := s.segPath(seq) + ".tmp"
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("create share state segment: %w", err)
	}
	fail := func(err error) error {
		f.Close()
		_ = os.Remove(tmp)
		return fmt.Errorf("create share state segment: %w", err)
	}
	if err := zeroFill(f, size); err != nil {
		return fail(err)
	}
	if _, err := f.WriteAt(cp, 0); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, s.segPath(seq)); err != nil {
		return fail(err)
	}
	if err := syncDir(s.dir); err != nil {
		return fail(err)
	}
	old := s.f
	s.f, s.seq, s.pos, s.size = f, seq, int64(len(cp)), size
	if old != nil {
		old.Close()
		segs, err := s.segments()
		if err != nil {
			return err
		}
		for _, q := range segs {
			if q < seq {
				if err := os.Remove(s.segPath(q)); err != nil && !errors.Is(err, os.ErrNotExist) {
					return fmt.Errorf("remove old share state segment: %w", err)
				}
			}
		}
		if err := syncDir(s.dir); err != nil {
			return fmt.Errorf("remove old share state segment: %w", err)
		}
	}
	return nil
}

func zeroFill(f *os.File, size int64) error {
	zero := make([]byte, 1<<20)
	for off := int64(0); off < size; off += int64(len(zero)) {
		n := min(int64(len(zero)), size-off)
		if _, err := f.WriteAt(zero[:n], off); err != nil {
			return err
		}
	}
	return nil
}

// SavePartitions implements Store: one frame, one fdatasync.
func (s *LogStore) SavePartitions(snaps map[Key]Snapshot) error {
	if len(snaps) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ents []byte
	enc := make(map[Key][]byte, len(snaps))
	for k, snap := range snaps {
		v := EncodeSnapshot(snap)
		enc[k] = v
		ents = appendEntry(ents, opPut, k.String(), v)
	}
	if err := s.append(len(snaps), ents); err != nil {
		return fmt.Errorf("save share state of %d partitions: %w", len(snaps), err)
	}
	for k, v := range enc {
		s.latest[k] = v
	}
	return nil
}

// DeletePartition implements Store.
func (s *LogStore) DeletePartition(k Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.append(1, appendEntry(nil, opDeletePart, k.String(), nil)); err != nil {
		return fmt.Errorf("delete share state %s/%s/%d: %w", k.Group, k.Topic, k.Partition, err)
	}
	delete(s.latest, k)
	return nil
}

// SaveGroup implements Store (in the meta store).
func (s *LogStore) SaveGroup(group string, g GroupRecord) error {
	return NewMetaStore(s.meta).SaveGroup(group, g)
}

// DeleteGroup implements Store: the group's partitions leave the log
// first, then the group leaves the meta store (a crash in between leaves
// an empty group, which can be deleted again).
func (s *LogStore) DeleteGroup(group string) error {
	s.mu.Lock()
	err := s.append(1, appendEntry(nil, opDeleteGroup, group, nil))
	if err == nil {
		for k := range s.latest {
			if k.Group == group {
				delete(s.latest, k)
			}
		}
	}
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("delete share group %s: %w", group, err)
	}
	return NewMetaStore(s.meta).DeleteGroup(group)
}

// Load implements Store: groups from the meta store, then the latest
// snapshot of every partition in the log.
func (s *LogStore) Load(group func(string, GroupRecord) error, part func(Key, Snapshot) error) error {
	err := s.meta.ForEach(bucketGroups, "", func(k string, v []byte) error {
		g, err := decodeGroup(k, v)
		if err != nil {
			return err
		}
		return group(k, g)
	})
	if err != nil {
		return fmt.Errorf("load share groups: %w", err)
	}
	s.mu.Lock()
	keys := make([]Key, 0, len(s.latest))
	for k := range s.latest {
		keys = append(keys, k)
	}
	vals := make([][]byte, len(keys))
	for i, k := range keys {
		vals[i] = s.latest[k]
	}
	s.mu.Unlock()
	for i, k := range keys {
		snap, err := DecodeSnapshot(vals[i])
		if err != nil {
			return fmt.Errorf("load share state %s/%s/%d: %w", k.Group, k.Topic, k.Partition, err)
		}
		if err := part(k, snap); err != nil {
			return err
		}
	}
	return nil
}

// Close closes the log file. The state is already durable.
func (s *LogStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// syncDir fsyncs a directory, making the entries in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}
