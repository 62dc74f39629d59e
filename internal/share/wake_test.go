package share

import (
	"context"
	"testing"
	"time"
)

// TestParkedFetchWakesAtBackoffEnd: fetches parked while a record is
// acquired (one by the holder, one by another member) are woken by its
// release and come back when its backoff ends, not at their own MaxWait.
func TestParkedFetchWakesAtBackoffEnd(t *testing.T) {
	e := openEnv(t, t.TempDir(), Config{SweepInterval: time.Hour}) // no sweep: only wakes and timers
	e.b.CreateTopic("t", 1, nil, false)
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest", ConfigBackoff, "300", ConfigBackoffMax, "300")
	e.produce(t, "t", 0, "poison")
	e.join(t, "g", "m1", "t")
	e.join(t, "g", "m2", "t")
	tp := []TP{{"t", 0}}
	res, err := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: tp})
	if err != nil || len(res[0].Acquired) != 1 {
		t.Fatalf("first fetch = %+v, %v", res, err)
	}
	type got struct {
		ranges []Range
		at     time.Time
	}
	done := make(chan got, 2)
	for _, m := range []string{"m1", "m2"} {
		go func() {
			res, _ := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: m, Partitions: tp, MaxWait: 5 * time.Second})
			done <- got{res[0].Acquired, time.Now()}
		}()
	}
	time.Sleep(100 * time.Millisecond) // both parked
	released := time.Now()
	if err := e.c.Ack(context.Background(), "g", "m1", TP{"t", 0}, []AckBatch{{0, 0, []AckType{AckRelease}}}); err != nil {
		t.Fatal(err)
	}
	// One parked fetch gets the record at the backoff's end (270–330 ms
	// after the release, ±10 %); the other keeps waiting.
	select {
	case g := <-done:
		d := g.at.Sub(released)
		if len(g.ranges) != 1 || g.ranges[0].Deliveries != 2 {
			t.Fatalf("woken fetch acquired %v", g.ranges)
		}
		if d < 270*time.Millisecond || d > 330*time.Millisecond+100*time.Millisecond {
			t.Fatalf("redelivered %v after the release, want the 300 ms backoff ±10 %%", d)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("no parked fetch woke at the backoff's end")
	}
}
