package share

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/eddy-streaming/eddy/internal/meta"
)

func openTestLog(t *testing.T, dir string, segSize int64) (*LogStore, *meta.Store) {
	t.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := openLogStore(StateLogDir(dir), m, segSize)
	if err != nil {
		m.Close()
		t.Fatal(err)
	}
	return s, m
}

func loadAll(t *testing.T, s *LogStore) map[Key]Snapshot {
	t.Helper()
	out := map[Key]Snapshot{}
	err := s.Load(func(string, GroupRecord) error { return nil }, func(k Key, sn Snapshot) error {
		out[k] = sn
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func snap(start int64, states ...State) Snapshot {
	s := Snapshot{Start: start}
	for i, st := range states {
		s.Records = append(s.Records, RecordState{State: st, Deliveries: int16(i%3 + 1)})
	}
	return s
}

// TestLogStoreReopen: snapshots, deletes and rolls survive a reopen; the
// last write of a key wins and only the newest segment is kept.
func TestLogStoreReopen(t *testing.T) {
	dir := t.TempDir()
	s, m := openTestLog(t, dir, 4096) // small segments: many rolls
	a, b, c := Key{"g", "t", 0}, Key{"g", "t", 1}, Key{"h", "t", 0}
	want := map[Key]Snapshot{}
	for i := range 300 {
		snaps := map[Key]Snapshot{a: snap(int64(i), Acquired, Acknowledged), b: snap(int64(2*i), Available)}
		if i%7 == 0 {
			snaps[c] = snap(int64(i), Archived, Acquired, Available)
		}
		if err := s.SavePartitions(snaps); err != nil {
			t.Fatal(err)
		}
		for k, v := range snaps {
			want[k] = v
		}
	}
	if err := s.DeletePartition(b); err != nil {
		t.Fatal(err)
	}
	delete(want, b)
	if err := s.SavePartitions(map[Key]Snapshot{{"h", "u", 3}: snap(5, Available)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteGroup("h"); err != nil {
		t.Fatal(err)
	}
	delete(want, c)
	s.Close()
	m.Close()

	segs, _ := os.ReadDir(StateLogDir(dir))
	if len(segs) != 1 {
		t.Fatalf("segments after rolls: %d, want 1", len(segs))
	}
	s, m = openTestLog(t, dir, 4096)
	defer m.Close()
	defer s.Close()
	if got := loadAll(t, s); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen:\n got %v\nwant %v", got, want)
	}
}

// TestLogStoreTornTail: a last frame that is torn (half written, or a bit
// flipped) ends the log there; the state before it loads, and writes
// after the reopen land and survive another reopen.
func TestLogStoreTornTail(t *testing.T) {
	for _, damage := range []string{"truncate", "flip"} {
		t.Run(damage, func(t *testing.T) {
			dir := t.TempDir()
			s, m := openTestLog(t, dir, 1<<20)
			k := Key{"g", "t", 0}
			if err := s.SavePartitions(map[Key]Snapshot{k: snap(10, Acquired)}); err != nil {
				t.Fatal(err)
			}
			before := s.pos
			if err := s.SavePartitions(map[Key]Snapshot{k: snap(11, Acknowledged, Acquired, Acquired)}); err != nil {
				t.Fatal(err)
			}
			end, path := s.pos, s.segPath(s.seq)
			s.Close()
			m.Close()
			f, err := os.OpenFile(path, os.O_RDWR, 0)
			if err != nil {
				t.Fatal(err)
			}
			switch damage {
			case "truncate": // the frame's second half never reached the disk
				mid := before + (end-before)/2
				if _, err := f.WriteAt(make([]byte, end-mid), mid); err != nil {
					t.Fatal(err)
				}
			case "flip":
				var b [1]byte
				f.ReadAt(b[:], end-1)
				b[0] ^= 0x40
				f.WriteAt(b[:], end-1)
			}
			f.Close()

			s, m = openTestLog(t, dir, 1<<20)
			if got := loadAll(t, s)[k]; !reflect.DeepEqual(got, snap(10, Acquired)) {
				t.Fatalf("after a torn last frame: %+v, want the frame before it", got)
			}
			if err := s.SavePartitions(map[Key]Snapshot{k: snap(12, Available)}); err != nil {
				t.Fatal(err)
			}
			s.Close()
			m.Close()
			s, m = openTestLog(t, dir, 1<<20)
			defer m.Close()
			defer s.Close()
			if got := loadAll(t, s)[k]; !reflect.DeepEqual(got, snap(12, Available)) {
				t.Fatalf("write after recovery: %+v", got)
			}
		})
	}
}

// TestLogStoreInterruptedRoll: a crash during a roll leaves a .tmp
// segment (removed on open) or two complete segments (read in order).
func TestLogStoreInterruptedRoll(t *testing.T) {
	dir := t.TempDir()
	s, m := openTestLog(t, dir, 1<<20)
	k := Key{"g", "t", 0}
	if err := s.SavePartitions(map[Key]Snapshot{k: snap(1, Acquired)}); err != nil {
		t.Fatal(err)
	}
	old := s.segPath(s.seq)
	oldBytes, _ := os.ReadFile(old)
	if err := s.roll(0); err != nil {
		t.Fatal(err)
	}
	if err := s.SavePartitions(map[Key]Snapshot{k: snap(2, Available)}); err != nil {
		t.Fatal(err)
	}
	newSeq := s.seq
	s.Close()
	m.Close()
	// The old segment's removal did not survive; a half-made next one
	// did.
	os.WriteFile(old, oldBytes, 0o644)
	os.WriteFile(filepath.Join(StateLogDir(dir), "99999999999999999999.state.tmp"), []byte("junk"), 0o644)

	s, m = openTestLog(t, dir, 1<<20)
	defer m.Close()
	defer s.Close()
	if got := loadAll(t, s)[k]; !reflect.DeepEqual(got, snap(2, Available)) {
		t.Fatalf("after an interrupted roll: %+v", got)
	}
	if s.seq != newSeq {
		t.Fatalf("writing to segment %d, want the newest %d", s.seq, newSeq)
	}
	if _, err := os.Stat(filepath.Join(StateLogDir(dir), "99999999999999999999.state.tmp")); !os.IsNotExist(err) {
		t.Fatalf("leftover .tmp segment not removed: %v", err)
	}
}

// TestLogStoreMovesMetaState: snapshots an older Eddy kept in meta.db move
// into the log on open.
func TestLogStoreMovesMetaState(t *testing.T) {
	dir := t.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	k := Key{"g", "t", 2}
	old := NewMetaStore(m)
	if err := old.SaveGroup("g", GroupRecord{}); err != nil {
		t.Fatal(err)
	}
	if err := old.SavePartitions(map[Key]Snapshot{k: snap(7, Acquired, Available)}); err != nil {
		t.Fatal(err)
	}
	m.Close()
	s, m := openTestLog(t, dir, 1<<20)
	if got := loadAll(t, s)[k]; !reflect.DeepEqual(got, snap(7, Acquired, Available)) {
		t.Fatalf("moved snapshot = %+v", got)
	}
	n := 0
	m.ForEach(bucketPartitions, "", func(string, []byte) error { n++; return nil })
	if n != 0 {
		t.Fatalf("%d snapshots left in meta.db", n)
	}
	s.Close()
	m.Close()
	s, m = openTestLog(t, dir, 1<<20)
	defer m.Close()
	defer s.Close()
	if got := loadAll(t, s)[k]; !reflect.DeepEqual(got, snap(7, Acquired, Available)) {
		t.Fatalf("after reopen = %+v", got)
	}
}

// FuzzStateLogFrames feeds arbitrary segment contents to the frame reader
// and decoder: no panic, and what decodes re-encodes to the same state.
func FuzzStateLogFrames(f *testing.F) {
	k := Key{"g", "t", 0}
	var ents []byte
	ents = appendEntry(ents, opPut, k.String(), EncodeSnapshot(snap(3, Acquired, Archived)))
	ents = appendEntry(ents, opDeletePart, Key{"g", "t", 1}.String(), nil)
	ents = appendEntry(ents, opDeleteGroup, "h", nil)
	f.Add(frame(nil, 3, ents))
	f.Add(append(frame(nil, 3, ents), frame(nil, 1, appendEntry(nil, opPut, k.String(), EncodeSnapshot(snap(4))))...))
	f.Add([]byte{0, 0, 0, 3, 1, 2, 3, 4, 1, 9})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := &LogStore{latest: map[Key][]byte{}}
		for len(b) > 0 {
			p, n := readFrame(b)
			if n == 0 {
				break
			}
			if err := s.apply(p); err != nil {
				break
			}
			b = b[n:]
		}
		for _, v := range s.latest {
			if sn, err := DecodeSnapshot(v); err == nil {
				if _, err := DecodeSnapshot(EncodeSnapshot(sn)); err != nil {
					t.Fatalf("re-encoded snapshot does not decode: %v", err)
				}
			}
		}
	})
}

// BenchmarkStoreSave compares one durable write of six share-partitions'
// states: the share-state log against a bbolt transaction (MetaStore).
func BenchmarkStoreSave(b *testing.B) {
	snaps := map[Key]Snapshot{}
	for p := range 6 {
		snaps[Key{"g", "t", int32(p)}] = snap(int64(p*1000), Acknowledged, Acknowledged, Acquired, Acquired, Available)
	}
	run := func(b *testing.B, st Store) {
		for b.Loop() {
			if err := st.SavePartitions(snaps); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("log", func(b *testing.B) {
		dir := b.TempDir()
		m, err := meta.Open(filepath.Join(dir, "meta.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		ls, err := OpenLogStore(StateLogDir(dir), m)
		if err != nil {
			b.Fatal(err)
		}
		defer ls.Close()
		run(b, ls)
	})
	b.Run("bbolt", func(b *testing.B) {
		m, err := meta.Open(filepath.Join(b.TempDir(), "meta.db"))
		if err != nil {
			b.Fatal(err)
		}
		defer m.Close()
		run(b, NewMetaStore(m))
	})
}
