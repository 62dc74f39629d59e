package commitlog

import (
	"encoding/binary"
	"sort"
)

// Index files (.index and .timeindex) start with an 8-byte header followed
// by fixed-size big-endian entries; see docs/format/log.md.
//
//	.index entry:     relOffset uint32 | position uint32              (8 bytes)
//	.timeindex entry: timestamp int64  | relOffset uint32             (12 bytes)
//
// Both are derived data: a missing or damaged index is rebuilt from the log.
const (
	idxHeaderSize  = 8
	idxEntrySize   = 8
	tidxEntrySize  = 12
	idxVersion     = 1
	maxLoadedIndex = 8 // closed segments whose indexes stay in memory
)

var (
	idxMagic  = [4]byte{'E', 'D', 'I', 'X'}
	tidxMagic = [4]byte{'E', 'D', 'T', 'I'}
)

func indexHeader(magic [4]byte, entrySize int) []byte {
	h := make([]byte, idxHeaderSize)
	copy(h, magic[:])
	h[4] = idxVersion
	h[5] = byte(entrySize)
	return h
}

// checkIndexHeader reports whether b starts with a valid header of the kind.
func checkIndexHeader(b []byte, magic [4]byte, entrySize int) bool {
	return len(b) >= idxHeaderSize && [4]byte(b[:4]) == magic && b[4] == idxVersion && int(b[5]) == entrySize
}

func putIdxEntry(dst []byte, rel uint32, pos uint32) []byte {
	dst = binary.BigEndian.AppendUint32(dst, rel)
	return binary.BigEndian.AppendUint32(dst, pos)
}

func idxEntry(b []byte, i int) (rel, pos uint32) {
	e := b[i*idxEntrySize:]
	return binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
}

func putTidxEntry(dst []byte, ts int64, rel uint32) []byte {
	dst = binary.BigEndian.AppendUint64(dst, uint64(ts))
	return binary.BigEndian.AppendUint32(dst, rel)
}

func tidxEntry(b []byte, i int) (ts int64, rel uint32) {
	e := b[i*tidxEntrySize:]
	return int64(binary.BigEndian.Uint64(e)), binary.BigEndian.Uint32(e[8:])
}

// idxLookup returns the position of the last entry whose relative offset is
// <= rel, or 0 when there is none (the segment start).
func idxLookup(b []byte, rel uint32) int64 {
	n := len(b) / idxEntrySize
	i := sort.Search(n, func(i int) bool { r, _ := idxEntry(b, i); return r > rel })
	if i == 0 {
		return 0
	}
	_, pos := idxEntry(b, i-1)
	return int64(pos)
}

// tidxLookup returns the relative offset of the last entry whose timestamp
// is < ts; every batch up to and including that offset's batch is older than
// ts. ok is false when no entry qualifies (scan from the segment start).
func tidxLookup(b []byte, ts int64) (rel uint32, ok bool) {
	n := len(b) / tidxEntrySize
	i := sort.Search(n, func(i int) bool { t, _ := tidxEntry(b, i); return t >= ts })
	if i == 0 {
		return 0, false
	}
	_, rel = tidxEntry(b, i-1)
	return rel, true
}

// validIdxPrefix returns the length in bytes of the longest prefix of index
// entries that are strictly increasing in offset and position and point
// inside a log of size bytes.
func validIdxPrefix(b []byte, size int64) int {
	n := len(b) / idxEntrySize
	var lastRel, lastPos uint32
	for i := 0; i < n; i++ {
		rel, pos := idxEntry(b, i)
		if int64(pos) >= size || (i > 0 && (rel <= lastRel || pos <= lastPos)) {
			return i * idxEntrySize
		}
		lastRel, lastPos = rel, pos
	}
	return n * idxEntrySize
}

// validTidxPrefix returns the length of the longest prefix of time entries
// that are non-decreasing in timestamp, strictly increasing in offset and
// below maxRel.
func validTidxPrefix(b []byte, maxRel int64) int {
	n := len(b) / tidxEntrySize
	var lastTs int64
	var lastRel uint32
	for i := 0; i < n; i++ {
		ts, rel := tidxEntry(b, i)
		if int64(rel) >= maxRel || (i > 0 && (ts < lastTs || rel <= lastRel)) {
			return i * tidxEntrySize
		}
		lastTs, lastRel = ts, rel
	}
	return n * tidxEntrySize
}
