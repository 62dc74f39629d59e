package vfs

import "testing"

func TestMeminfoBytes(t *testing.T) {
	m := []byte("MemTotal:       24000000 kB\nDirty:              1234 kB\nWriteback:             0 kB\nHugePages_Total:       0\n")
	for _, c := range []struct {
		key  string
		want int64
		ok   bool
	}{
		{"Dirty:", 1234 * 1024, true},
		{"Writeback:", 0, true},
		{"HugePages_Total:", 0, true},
		{"Missing:", 0, false},
	} {
		if got, ok := meminfoBytes(m, c.key); got != c.want || ok != c.ok {
			t.Errorf("%s = %d %v, want %d %v", c.key, got, ok, c.want, c.ok)
		}
	}
}
