package commitlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/eddy-streaming/eddy/internal/vfs"
)

// The clean-shutdown marker (.clean_shutdown, 40 bytes, big-endian):
//
//	0  8 magic "EDDYCLN\x00"
//	8  2 version (1)
//	10 2 reserved (0)
//	12 8 next offset (log end offset at Close)
//	20 8 active segment base offset
//	28 8 active segment size in bytes
//	36 4 CRC-32C of bytes 0..35
const (
	markerSize    = 40
	markerVersion = 1
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var markerMagic = [8]byte{'E', 'D', 'D', 'Y', 'C', 'L', 'N', 0}

type cleanMarker struct {
	next, activeBase, activeSize int64
}

func encodeMarker(m cleanMarker) []byte {
	b := make([]byte, markerSize)
	copy(b, markerMagic[:])
	be := binary.BigEndian
	be.PutUint16(b[8:], markerVersion)
	be.PutUint64(b[12:], uint64(m.next))
	be.PutUint64(b[20:], uint64(m.activeBase))
	be.PutUint64(b[28:], uint64(m.activeSize))
	be.PutUint32(b[36:], crc32.Checksum(b[:36], castagnoli))
	return b
}

func decodeMarker(b []byte) (cleanMarker, error) {
	if len(b) != markerSize {
		return cleanMarker{}, fmt.Errorf("marker is %d bytes, want %d", len(b), markerSize)
	}
	be := binary.BigEndian
	if [8]byte(b[:8]) != markerMagic {
		return cleanMarker{}, errors.New("bad marker magic")
	}
	if v := be.Uint16(b[8:]); v != markerVersion {
		return cleanMarker{}, fmt.Errorf("unknown marker version %d", v)
	}
	if crc32.Checksum(b[:36], castagnoli) != be.Uint32(b[36:]) {
		return cleanMarker{}, errors.New("marker CRC mismatch")
	}
	return cleanMarker{
		next:       int64(be.Uint64(b[12:])),
		activeBase: int64(be.Uint64(b[20:])),
		activeSize: int64(be.Uint64(b[28:])),
	}, nil
}

// writeCleanMarker durably writes the marker (writeFileAtomic).
func writeCleanMarker(fs vfs.FS, dir string, m cleanMarker) error {
	return writeFileAtomic(fs, dir, cleanMarkerName, "clean marker", encodeMarker(m))
}

// writeFileAtomic durably replaces dir/name with b: temp file, fsync,
// rename, directory fsync, so a crash leaves the old or the new content,
// never a torn one. what names the file in errors.
func writeFileAtomic(fs vfs.FS, dir, name, what string, b []byte) error {
	path := filepath.Join(dir, name)
	tmp := path + ".tmp"
	f, err := fs.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("write %s: %w", what, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", what, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("sync %s: %w", what, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", what, err)
	}
	if err := fs.Rename(tmp, path); err != nil {
		return fmt.Errorf("rename %s: %w", what, err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return fmt.Errorf("sync log dir: %w", err)
	}
	return nil
}

// readCleanMarker reads the marker. present reports whether a marker file
// existed, valid whether it decoded.
//
// A marker that matches the files stays until the log's first write
// (removeCleanMarker from write), so that a log that is not written
// between a start and a crash reopens as cleanly as it was opened: after
// a kill -9 with 10,000 partitions only those written are scanned, and
// a start does not unlink 10,000 files (the unlinks were most of a clean
// start-up's CPU). A marker that does not match is removed at once.
//
// The removal is not made durable (no directory fsync: 10,000 of them were
// most of a clean start-up with 10,000 partitions). A power cut can bring
// the marker back, and it is then still true: recover trusts a marker only
// while the active segment has the base and the size it names, bytes up
// to that size were fsynced by the Close that wrote it, and nothing
// rewrites them afterwards (appends, zero-fills and preallocation only
// grow the file; a repair truncates no lower than the durable end; a roll
// changes the active base). Any durable change of the active segment since
// then fails the match and the tail is scanned as after a crash
// (TestStaleCleanMarker).
func readCleanMarker(fs vfs.FS, dir string) (m cleanMarker, valid, present bool) {
	f, oerr := fs.Open(filepath.Join(dir, cleanMarkerName))
	if oerr != nil {
		return m, false, false
	}
	b, rerr := io.ReadAll(io.LimitReader(f, markerSize+1))
	f.Close()
	if rerr == nil {
		if dm, derr := decodeMarker(b); derr == nil {
			m, valid = dm, true
		}
	}
	return m, valid, true
}

// removeCleanMarker removes the marker (see readCleanMarker), so that a
// crash after new writes is not taken for a clean stop.
func removeCleanMarker(fs vfs.FS, dir string) error {
	if err := fs.Remove(filepath.Join(dir, cleanMarkerName)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove clean marker: %w", err)
	}
	return nil
}
