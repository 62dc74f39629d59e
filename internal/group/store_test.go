package group

import (
	"fmt"
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

func TestGroupRecordRoundTrip(t *testing.T) {
	r := groupRecord{generation: 4, emptySince: time.UnixMilli(99), protocolType: "consumer", stable: true,
		protocol: "range", leader: "m1", members: []memberRecord{
			{id: "m1", instanceID: "i1", clientID: "c", host: "/h", session: time.Second, rebalance: 2 * time.Second,
				protocols: []Protocol{{Name: "range", Metadata: []byte{1}}, {Name: "rr", Metadata: []byte{}}}, assignment: []byte{9}},
			{id: "m2", session: time.Second, rebalance: time.Second, protocols: []Protocol{{Name: "range", Metadata: []byte{2}}}, assignment: []byte{}},
		}}
	got, err := decodeGroupRecord(encodeGroupRecord(r))
	if err != nil || fmt.Sprint(got) != fmt.Sprint(r) {
		t.Fatalf("%+v %v, want %+v", got, err, r)
	}
	// Version 1 still loads.
	got, err = decodeGroupRecord(encodeGroup(3, time.UnixMilli(5), "consumer"))
	if err != nil || got.generation != 3 || got.protocolType != "consumer" || got.stable {
		t.Fatalf("v1: %+v %v", got, err)
	}
	if _, err := decodeGroupRecord(encodeGroupRecord(r)[:30]); err == nil {
		t.Fatal("truncated record decoded")
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
	f.Add(encodeGroupRecord(groupRecord{generation: 2, stable: true, members: []memberRecord{{id: "a", protocols: []Protocol{{Name: "p"}}}}}))
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
		if r, err := decodeGroupRecord(b); err == nil && len(b) > 0 && b[0] == groupRecordV2 {
			if _, err := decodeGroupRecord(encodeGroupRecord(r)); err != nil {
				t.Fatalf("re-encoded group record does not decode: %v", err)
			}
		}
		if g, k, err := parseOffsetKey(string(b)); err == nil {
			if offsetKey(g, k) != string(b) {
				t.Fatalf("offset key does not round-trip")
			}
		}
	})
}
