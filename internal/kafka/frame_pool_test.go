package kafka

import "testing"

func TestFramePool(t *testing.T) {
	for _, c := range []struct{ n, wantCap int }{
		{1, 1}, {128, 128}, // small frames: exact allocations
		{129, 256}, {2048, 2048}, {2049, 4096}, {4096, 4096}, {4097, 8192}, {100 << 10, 128 << 10}, {8 << 20, 8 << 20},
		{8<<20 + 1, 8<<20 + 1}, // past the largest class: exact again
	} {
		f := getFrame(c.n)
		if len(*f) < c.n || cap(*f) != c.wantCap {
			t.Fatalf("getFrame(%d): len %d cap %d, want cap %d", c.n, len(*f), cap(*f), c.wantCap)
		}
		putFrame(f)
		if g := getFrame(c.n); cap(*g) != c.wantCap {
			t.Fatalf("getFrame(%d) after put: cap %d, want %d", c.n, cap(*g), c.wantCap)
		}
	}
	putFrame(nil) // ignored
	odd := make([]byte, 5000)
	putFrame(&odd) // not a class size: ignored
	if f := getFrame(5000); cap(*f) != 8192 {
		t.Fatalf("an odd-sized buffer entered the pool: cap %d", cap(*f))
	}
}

func BenchmarkGetPutFrame(b *testing.B) {
	b.ReportAllocs()
	for range b.N {
		putFrame(getFrame(300 << 10))
	}
}
