package commitlog

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// BenchmarkDiskRounds measures the disk, not the log: one goroutine writes
// k 16 KiB batches into the page cache and then fsyncs, round after round,
// into a file whose blocks are reserved 8 MiB ahead as the log's active
// segment reserves them. k=1 is one fsync per append; k=16 is what a commit
// round covering 16 appenders could reach if all 16 were always ready when
// the previous fsync returned. It is the ceiling BenchmarkAppend's always
// rows are compared with in docs/benchmarks.md.
func BenchmarkDiskRounds(b *testing.B) {
	for _, k := range []int{1, 16} {
		b.Run(fmt.Sprintf("batches-per-fsync=%d", k), func(b *testing.B) {
			f, err := os.OpenFile(filepath.Join(b.TempDir(), "rounds.log"), os.O_CREATE|os.O_RDWR, 0o644)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			buf := batchOfSize(benchBatchSize, 1024, 1)
			const reserve = 8 << 20
			var off, reserved int64
			b.SetBytes(int64(len(buf)))
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for done := 0; done < b.N; {
				for i := 0; i < k && done < b.N; i++ {
					if off+int64(len(buf)) > reserved {
						if err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_KEEP_SIZE, reserved, reserve); err != nil {
							b.Fatal(err)
						}
						reserved += reserve
					}
					if _, err := f.WriteAt(buf, off); err != nil {
						b.Fatal(err)
					}
					off += int64(len(buf))
					done++
				}
				if err := f.Sync(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "batches/s")
		})
	}
}

// BenchmarkVolumeSyncFiles measures the disk, not the log: what one
// syncfs(2) costs when a commit round's bytes are spread over many files,
// as a round over many partitions spreads them, against the same bytes
// appended to one file. Each op appends bytes/files to each of the files
// and syncs the volume. The per-file cost (a data write and inode update
// of its own for every file) is what bounds records/s at 1,000 partitions
// (docs/scale.md).
//
//	go test ./internal/commitlog -run '^$' -bench VolumeSyncFiles -benchtime 100x
//
// The journal=true rows write the same bytes to the files without syncing
// them, append them to one preallocated journal file and fdatasync it, and
// sync the volume once per 64 MiB of journal (the journal is then reused):
// what a round would cost if it made its bytes durable in one file (see
// "What bounds records/s at 1,000 partitions" in docs/scale.md).
func BenchmarkVolumeSyncFiles(b *testing.B) {
	const bytes = 1 << 20
	for _, c := range []struct {
		files   int
		journal bool
	}{{1, false}, {16, false}, {256, false}, {1024, false}, {256, true}, {1024, true}} {
		files := c.files
		b.Run(fmt.Sprintf("files=%d/journal=%v", files, c.journal), func(b *testing.B) {
			dir := b.TempDir()
			fs := make([]*os.File, files)
			for i := range fs {
				f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(i)), os.O_CREATE|os.O_RDWR, 0o644)
				if err != nil {
					b.Fatal(err)
				}
				defer f.Close()
				fs[i] = f
			}
			buf := make([]byte, bytes/files)
			if err := unix.Syncfs(int(fs[0].Fd())); err != nil {
				b.Skipf("no syncfs here: %v", err)
			}
			var journal *os.File
			var jpos int64
			const journalBytes = 64 << 20
			if c.journal {
				var err error
				if journal, err = os.OpenFile(filepath.Join(dir, "journal"), os.O_CREATE|os.O_RDWR, 0o644); err != nil {
					b.Fatal(err)
				}
				defer journal.Close()
				if _, err := journal.WriteAt(make([]byte, journalBytes), 0); err != nil {
					b.Fatal(err)
				}
				if err := unix.Syncfs(int(journal.Fd())); err != nil {
					b.Fatal(err)
				}
			}
			jbuf := make([]byte, len(buf)*files)
			b.SetBytes(bytes)
			b.ResetTimer()
			for range b.N {
				for _, f := range fs {
					if _, err := f.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				if journal == nil {
					if err := unix.Syncfs(int(fs[0].Fd())); err != nil {
						b.Fatal(err)
					}
					continue
				}
				if jpos+int64(len(jbuf)) > journalBytes {
					if err := unix.Syncfs(int(journal.Fd())); err != nil {
						b.Fatal(err)
					}
					jpos = 0
				}
				if _, err := journal.WriteAt(jbuf, jpos); err != nil {
					b.Fatal(err)
				}
				jpos += int64(len(jbuf))
				if err := unix.Fdatasync(int(journal.Fd())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
