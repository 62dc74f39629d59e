package group

import (
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	c := committed{offset: 42, leaderEpoch: 7, metadata: "md", commitTime: time.UnixMilli(1_700_000_000_123), topicID: [16]byte{1, 2, 3}}
	got, err := decodeOffset(encodeOffset(c))
	if err != nil || got != c {
		t.Fatalf("offset %+v %v, want %+v", got, err, c)
	}
	// Version 1 records (before topic ids) still load.
	v1 := []byte{1, 0, 0, 0, 0, 0, 0, 0, 42, 0, 0, 0, 7, 0, 0, 0x01, 0x8b, 0xcf, 0xe5, 0x68, 0x7b, 0, 0, 0, 2, 'm', 'd'}
	got, err = decodeOffset(v1)
	want := committed{offset: 42, leaderEpoch: 7, metadata: "md", commitTime: time.UnixMilli(1_700_000_000_123)}
	if err != nil || got != want {
		t.Fatalf("v1 offset %+v %v, want %+v", got, err, want)
	}
	k := tp{"orders", 5}
	g, gotK, err := parseOffsetKey(offsetKey("grp", k))
	if err != nil || g != "grp" || gotK != k {
		t.Fatalf("key %q %+v %v", g, gotK, err)
	}
	gen, since, ptype, err := decodeGroup(encodeGroup(9, time.UnixMilli(5), "consumer"))
	if err != nil || gen != 9 || !since.Equal(time.UnixMilli(5)) || ptype != "consumer" {
		t.Fatalf("group %d %v %q %v", gen, since, ptype, err)
	}
}

// FuzzDecodeRecords feeds arbitrary bytes to every meta record decoder:
// they must fail cleanly, never panic, and round-trip what they accept.
func FuzzDecodeRecords(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(encodeOffset(committed{offset: 1, metadata: "x", commitTime: time.UnixMilli(1)}))
	f.Add(append(encodeOffset(committed{offset: 1}), 0xff))
	f.Add(encodeGroup(3, time.Time{}, "consumer"))
	f.Add([]byte(offsetKey("g", tp{"t", 1})))
	f.Add([]byte(offsetKey("g", tp{"t", 1}) + "junk"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if c, err := decodeOffset(b); err == nil && b[0] == offsetRecordV2 {
			if string(encodeOffset(c)) != string(b) {
				t.Fatalf("offset record does not round-trip")
			}
		}
		if gen, since, ptype, err := decodeGroup(b); err == nil {
			if string(encodeGroup(gen, since, ptype)) != string(b) && !since.IsZero() {
				t.Fatalf("group record does not round-trip")
			}
		}
		if g, k, err := parseOffsetKey(string(b)); err == nil {
			if offsetKey(g, k) != string(b) {
				t.Fatalf("offset key does not round-trip")
			}
		}
	})
}
