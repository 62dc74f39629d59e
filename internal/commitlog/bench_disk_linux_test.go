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
