package broker

import "testing"

// TestGrowViewOut: a view fetch's output grows at once to its estimated
// final size (size per record so far times the records left, plus a
// margin), within the fetch's limit; without an estimate it doubles; it
// never overflows on a huge log.
func TestGrowViewOut(t *testing.T) {
	for _, tc := range []struct {
		name                string
		len, cap, need, max int
		seen, left          int64
		min, atMost         int
	}{
		{"no estimate yet: doubles", 1, 64 << 10, 200 << 10, 8 << 20, 0, 49000, 200 << 10, 256 << 10},
		{"estimate: 100 B/record, 49,000 left", 100 << 10, 300 << 10, 200 << 10, 8 << 20, 1000, 49000, 5_600_000, 6 << 20},
		{"estimate over the limit: the limit", 1 << 20, 1 << 20, 200 << 10, 2 << 20, 1000, 1_000_000, 2<<20 + 200<<10, 3 << 20},
		{"huge log: no overflow", 1 << 20, 1 << 20, 200 << 10, 8 << 20, 1, 1 << 62, 8 << 20, 9 << 20},
		{"nothing left: doubles", 1 << 20, 1 << 20, 200 << 10, 8 << 20, 1000, 0, 2 << 20, 2<<20 + 2<<20/4}, // append's rounding: up to 1.25×
	} {
		out := make([]byte, tc.len, tc.cap)
		out[0] = 1
		got := growViewOut(out, tc.need, tc.max, tc.seen, tc.left)
		if len(got) != tc.len || got[0] != 1 {
			t.Fatalf("%s: lost the output", tc.name)
		}
		if c := cap(got); c-len(got) < tc.need || c < tc.min || c > tc.atMost {
			t.Errorf("%s: cap %d, want %d..%d with room for %d", tc.name, c, tc.min, tc.atMost, tc.need)
		}
	}
}
