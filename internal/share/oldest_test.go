package share

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// TestOldestAvailableAge: the age of the oldest record waiting is taken
// from its timestamp: a record past the window, then a released one in
// the window; nothing waiting is zero.
func TestOldestAvailableAge(t *testing.T) {
	now := time.Now()
	var clock atomic.Int64 // read by the sweep goroutine too
	setClock := func(d time.Duration) { clock.Store(now.Add(d).UnixNano()) }
	setClock(0)
	e := openEnv(t, t.TempDir(), Config{Now: func() time.Time { return time.Unix(0, clock.Load()) }})
	e.b.CreateTopic("t", 1, nil, false)
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest")
	e.produce(t, "t", 0, "a", "b") // timestamps ≈ now
	e.join(t, "g", "m1", "t")
	e.c.group("g").part("t", 0) // known to the group before any fetch
	age := func() time.Duration {
		t.Helper()
		info, err := e.c.Describe("g")
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range e.c.Status() {
			if s.Group == "g" && s.OldestAvailableAge != info.OldestAvailable.Seconds() {
				t.Fatalf("status %v s, describe %v", s.OldestAvailableAge, info.OldestAvailable)
			}
		}
		return info.OldestAvailable
	}
	setClock(10 * time.Second)
	// Uninitialized partition: nothing is known to wait yet.
	if a := age(); a != 0 {
		t.Fatalf("before the first fetch: %v", a)
	}
	res, err := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: []TP{{"t", 0}}, MaxRecords: 1})
	if err != nil || len(res[0].Acquired) != 1 {
		t.Fatalf("fetch %+v %v", res, err)
	}
	// Offset 1 is past the window and waits.
	if a := age(); a < 9*time.Second || a > 11*time.Second {
		t.Fatalf("record past the window: age %v, want ≈ 10 s", a)
	}
	if err := e.c.Ack(context.Background(), "g", "m1", TP{"t", 0}, []AckBatch{{0, 0, []AckType{AckRelease}}}); err != nil {
		t.Fatal(err)
	}
	setClock(20 * time.Second)
	if a := age(); a < 19*time.Second || a > 21*time.Second {
		t.Fatalf("released record: age %v, want ≈ 20 s", a)
	}
	res, _ = e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: []TP{{"t", 0}}, MaxRecords: 10})
	if err := e.c.Ack(context.Background(), "g", "m1", TP{"t", 0}, []AckBatch{{0, 1, []AckType{AckAccept}}}); err != nil {
		t.Fatalf("ack after %+v: %v", res, err)
	}
	if a := age(); a != 0 {
		t.Fatalf("nothing waits: age %v", a)
	}
}
