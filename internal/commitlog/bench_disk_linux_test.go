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
func BenchmarkVolumeSyncFiles(b *testing.B) {
	const bytes = 1 << 20
	for _, files := range []int{1, 16, 256, 1024} {
		b.Run(fmt.Sprintf("files=%d", files), func(b *testing.B) {
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
			b.SetBytes(bytes)
			b.ResetTimer()
			for range b.N {
				for _, f := range fs {
					if _, err := f.Write(buf); err != nil {
						b.Fatal(err)
					}
				}
				if err := unix.Syncfs(int(fs[0].Fd())); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
