package producers

import (
	"testing"
)

// BenchmarkRebuild measures the startup rebuild of 8 partitions holding
// 20,000 batches of 10 records each (the default tail scans the last
// 10,000 offsets of each).
func BenchmarkRebuild(b *testing.B) {
	dir := b.TempDir()
	m, s := newManager(b, dir)
	defer s.Close()
	br := openBroker(b, dir, s)
	defer br.Close()
	if _, err := br.CreateTopic("t", 8, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		b.Fatal(err)
	}
	for p := int32(0); p < 8; p++ {
		for i := int32(0); i < 20000; i++ {
			if _, err := br.Append("t", p, batch(int64(i%50), 0, (i/50)*10, 10)); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ResetTimer()
	for range b.N {
		if err := m.Rebuild(br, 0); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var n int
	for _, st := range m.parts {
		n += len(st.producers)
	}
	if n != 8*50 {
		b.Fatalf("rebuilt %d producer states, want %d", n, 8*50)
	}
}
