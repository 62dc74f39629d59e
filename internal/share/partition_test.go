package share

import (
	"errors"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Unix(1_700_000_000, 0)

func lim() Limits {
	return Limits{LockDuration: 30 * time.Second, DeliveryLimit: 5, MaxLocks: 2000}
}

func TestAcquireAckTable(t *testing.T) {
	type step struct {
		op      string // acquire, ack, expire, releaseMember
		member  string
		max     int
		at      time.Duration
		first   int64
		last    int64
		types   []AckType
		want    []Range
		wantErr error
	}
	tests := []struct {
		name      string
		limits    Limits
		hw        int64
		steps     []step
		wantStart int64
		wantEnd   int64
	}{
		{
			name: "acquire then accept advances start", limits: lim(), hw: 10,
			steps: []step{
				{op: "acquire", member: "a", max: 4, want: []Range{{0, 3, 1}}},
				{op: "acquire", member: "b", max: 100, want: []Range{{4, 9, 1}}},
				{op: "ack", member: "a", first: 0, last: 3, types: []AckType{AckAccept}},
			},
			wantStart: 4, wantEnd: 10,
		},
		{
			name: "ack of another member's record is refused, nothing changes", limits: lim(), hw: 3,
			steps: []step{
				{op: "acquire", member: "a", max: 3, want: []Range{{0, 2, 1}}},
				{op: "ack", member: "b", first: 0, last: 0, types: []AckType{AckAccept}, wantErr: ErrInvalidRecordState},
				{op: "ack", member: "a", first: 0, last: 3, types: []AckType{AckAccept}, wantErr: ErrInvalidRecordState},
				{op: "ack", member: "a", first: 0, last: 2, types: []AckType{AckAccept, AckAccept}, wantErr: ErrInvalidAck},
			},
			wantStart: 0, wantEnd: 3,
		},
		{
			name: "release redelivers with count+1, per-offset types", limits: lim(), hw: 3,
			steps: []step{
				{op: "acquire", member: "a", max: 3, want: []Range{{0, 2, 1}}},
				{op: "ack", member: "a", first: 0, last: 2, types: []AckType{AckAccept, AckRelease, AckAccept}},
				{op: "acquire", member: "b", max: 3, want: []Range{{1, 1, 2}}},
			},
			wantStart: 1, wantEnd: 3,
		},
		{
			name: "lock timeout releases", limits: lim(), hw: 2,
			steps: []step{
				{op: "acquire", member: "a", max: 2, want: []Range{{0, 1, 1}}},
				{op: "acquire", member: "b", max: 2, at: 29 * time.Second, want: nil},
				{op: "acquire", member: "b", max: 2, at: 30 * time.Second, want: []Range{{0, 1, 2}}},
				{op: "ack", member: "a", first: 0, last: 0, types: []AckType{AckAccept}, wantErr: ErrInvalidRecordState},
			},
			wantStart: 0, wantEnd: 2,
		},
		{
			name: "delivery limit archives", limits: Limits{LockDuration: time.Second, DeliveryLimit: 2, MaxLocks: 10}, hw: 1,
			steps: []step{
				{op: "acquire", member: "a", max: 1, want: []Range{{0, 0, 1}}},
				{op: "ack", member: "a", first: 0, last: 0, types: []AckType{AckRelease}},
				{op: "acquire", member: "a", max: 1, want: []Range{{0, 0, 2}}},
				{op: "ack", member: "a", first: 0, last: 0, types: []AckType{AckRelease}},
				{op: "acquire", member: "a", max: 1, want: nil},
			},
			wantStart: 1, wantEnd: 1,
		},
		{
			name: "reject archives at once, gaps archive", limits: lim(), hw: 3,
			steps: []step{
				{op: "acquire", member: "a", max: 3, want: []Range{{0, 2, 1}}},
				{op: "ack", member: "a", first: 0, last: 2, types: []AckType{AckReject, AckGap, AckAccept}},
			},
			wantStart: 3, wantEnd: 3,
		},
		{
			name: "max record locks is backpressure", limits: Limits{LockDuration: time.Second, DeliveryLimit: 5, MaxLocks: 3}, hw: 10,
			steps: []step{
				{op: "acquire", member: "a", max: 10, want: []Range{{0, 2, 1}}},
				{op: "acquire", member: "b", max: 10, want: nil},
				{op: "ack", member: "a", first: 0, last: 0, types: []AckType{AckAccept}},
				{op: "acquire", member: "b", max: 10, want: []Range{{3, 3, 1}}},
			},
			wantStart: 1, wantEnd: 4,
		},
		{
			name: "acknowledged records behind an unfinished one do not count as locks", limits: Limits{LockDuration: time.Second, DeliveryLimit: 5, MaxLocks: 2}, hw: 10,
			steps: []step{
				{op: "acquire", member: "a", max: 10, want: []Range{{0, 1, 1}}},
				{op: "ack", member: "a", first: 1, last: 1, types: []AckType{AckAccept}},
				{op: "acquire", member: "b", max: 10, want: []Range{{2, 2, 1}}},
				{op: "ack", member: "b", first: 2, last: 2, types: []AckType{AckAccept}},
				{op: "acquire", member: "b", max: 10, want: []Range{{3, 3, 1}}},
			},
			wantStart: 0, wantEnd: 4,
		},
		{
			name: "member leaving releases its records", limits: lim(), hw: 4,
			steps: []step{
				{op: "acquire", member: "a", max: 2, want: []Range{{0, 1, 1}}},
				{op: "acquire", member: "b", max: 2, want: []Range{{2, 3, 1}}},
				{op: "releaseMember", member: "a"},
				{op: "acquire", member: "b", max: 5, want: []Range{{0, 1, 2}}},
			},
			wantStart: 0, wantEnd: 4,
		},
		{
			name: "renew extends the lock", limits: lim(), hw: 1,
			steps: []step{
				{op: "acquire", member: "a", max: 1, want: []Range{{0, 0, 1}}},
				{op: "ack", member: "a", at: 20 * time.Second, first: 0, last: 0, types: []AckType{AckRenew}},
				{op: "acquire", member: "b", max: 1, at: 40 * time.Second, want: nil},
				{op: "ack", member: "a", at: 45 * time.Second, first: 0, last: 0, types: []AckType{AckAccept}},
			},
			wantStart: 1, wantEnd: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := NewPartition()
			for i, s := range tc.steps {
				now := t0.Add(s.at)
				switch s.op {
				case "acquire":
					got := p.Acquire(now, s.member, s.max, 0, tc.hw, 0, tc.limits)
					if !reflect.DeepEqual(got, s.want) {
						t.Fatalf("step %d acquire = %v, want %v", i, got, s.want)
					}
				case "ack":
					err := p.Ack(now, s.member, s.first, s.last, s.types, tc.limits)
					if !errors.Is(err, s.wantErr) || (err != nil) != (s.wantErr != nil) {
						t.Fatalf("step %d ack err = %v, want %v", i, err, s.wantErr)
					}
				case "releaseMember":
					p.ReleaseMember(now, s.member, tc.limits)
				}
			}
			if p.Start() != tc.wantStart || p.End() != tc.wantEnd {
				t.Fatalf("window = [%d,%d), want [%d,%d)", p.Start(), p.End(), tc.wantStart, tc.wantEnd)
			}
		})
	}
}

func TestAutoOffsetResetAndRetention(t *testing.T) {
	p := NewPartition()
	got := p.Acquire(t0, "a", 10, 0, 8, 5, lim()) // latest = 5
	if !reflect.DeepEqual(got, []Range{{5, 7, 1}}) {
		t.Fatalf("acquire from reset = %v", got)
	}
	// Retention moved the log start past the window.
	got = p.Acquire(t0.Add(time.Hour), "a", 10, 7, 9, 0, lim())
	if !reflect.DeepEqual(got, []Range{{7, 7, 2}, {8, 8, 1}}) {
		t.Fatalf("after log start moved = %v", got)
	}
}

func TestBackoff(t *testing.T) {
	l := Limits{LockDuration: time.Minute, DeliveryLimit: 10, MaxLocks: 100, BackoffFirst: 100 * time.Millisecond, BackoffMax: time.Second}
	for _, tc := range []struct {
		deliveries int
		want       time.Duration
	}{{1, 100 * time.Millisecond}, {2, 200 * time.Millisecond}, {3, 400 * time.Millisecond}, {4, 800 * time.Millisecond}, {5, time.Second}, {9, time.Second}} {
		for _, j := range []float64{0, 0.5, 0.999} {
			l.Jitter = func() float64 { return j }
			got := l.Backoff(tc.deliveries)
			lo, hi := time.Duration(float64(tc.want)*0.9), time.Duration(float64(tc.want)*1.1)
			if got < lo || got > hi {
				t.Errorf("Backoff(%d) jitter %.3f = %v, want within [%v,%v]", tc.deliveries, j, got, lo, hi)
			}
		}
	}
	l.Jitter = nil
	// A released record waits; the records behind it do not.
	p := NewPartition()
	p.Acquire(t0, "a", 3, 0, 3, 0, l)
	if err := p.Ack(t0, "a", 0, 0, []AckType{AckRelease}, l); err != nil {
		t.Fatal(err)
	}
	if err := p.Ack(t0, "a", 1, 2, []AckType{AckRelease}, l); err != nil {
		t.Fatal(err)
	}
	if got := p.Acquire(t0.Add(99*time.Millisecond), "b", 10, 0, 5, 0, l); !reflect.DeepEqual(got, []Range{{3, 4, 1}}) {
		t.Fatalf("during backoff = %v, want only new records", got)
	}
	if got := p.Acquire(t0.Add(100*time.Millisecond), "b", 10, 0, 5, 0, l); !reflect.DeepEqual(got, []Range{{0, 2, 2}}) {
		t.Fatalf("after backoff = %v", got)
	}
	if w := p.NextWake(); !w.Equal(t0.Add(99*time.Millisecond + time.Minute)) {
		t.Fatalf("NextWake = %v", w)
	}
}

func TestDLQStates(t *testing.T) {
	l := lim()
	l.DLQ = true
	l.DeliveryLimit = 1
	p := NewPartition()
	p.Acquire(t0, "a", 3, 0, 3, 0, l)
	if err := p.Ack(t0, "a", 0, 2, []AckType{AckReject, AckRelease, AckAccept}, l); err != nil {
		t.Fatal(err)
	}
	pend := p.PendingDLQ(10)
	want := []Pending{{0, 1, ReasonRejected, -1}, {1, 1, ReasonDeliveryLimit, -1}}
	if !reflect.DeepEqual(pend, want) {
		t.Fatalf("pending = %+v, want %+v", pend, want)
	}
	if p.Start() != 0 {
		t.Fatalf("start moved past archiving records: %d", p.Start())
	}
	p.NoteDLQFrom(0, 17)
	if got := p.PendingDLQ(1); got[0].DLQFrom != 17 {
		t.Fatalf("DLQFrom not noted: %+v", got)
	}
	p.DLQDone(0)
	p.DLQDone(1)
	if p.Start() != 3 {
		t.Fatalf("start = %d, want 3", p.Start())
	}
}

func TestRestoreCountsAcquired(t *testing.T) {
	l := Limits{LockDuration: time.Minute, DeliveryLimit: 2, MaxLocks: 100}
	p := NewPartition()
	p.Acquire(t0, "a", 4, 0, 4, 0, l)
	_ = p.Ack(t0, "a", 0, 0, []AckType{AckAccept}, l)
	_ = p.Ack(t0, "a", 2, 2, []AckType{AckRelease}, l)
	p.Acquire(t0, "b", 1, 0, 4, 0, l) // offset 2 again: 2nd delivery
	snap, err := DecodeSnapshot(EncodeSnapshot(p.Snapshot()))
	if err != nil {
		t.Fatal(err)
	}
	q := NewPartition()
	q.Restore(snap, t0, l)
	// 0 acknowledged (start 1); 1 and 3 available again with 1 delivery
	// counted; 2 had its 2nd delivery: archived at the limit.
	got := q.Acquire(t0, "c", 10, 0, 4, 0, l)
	if want := []Range{{1, 1, 2}, {3, 3, 2}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after restore = %v, want %v", got, want)
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	for _, s := range []Snapshot{
		{Start: -1},
		{Start: 0},
		{Start: 42, Records: []RecordState{{State: Acknowledged}, {State: Acknowledged}, {State: Acquired, Deliveries: 3}, {State: Archiving, Deliveries: 5, Reason: ReasonDeliveryLimit, DLQFrom: -1}, {State: Archiving, Deliveries: 5, Reason: ReasonRejected, DLQFrom: 9}, {State: Available, Deliveries: 2}}},
	} {
		got, err := DecodeSnapshot(EncodeSnapshot(s))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, s) {
			t.Fatalf("round trip = %+v, want %+v", got, s)
		}
	}
}

func FuzzDecodeSnapshot(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1})
	f.Add(EncodeSnapshot(Snapshot{Start: -1}))
	valid := EncodeSnapshot(Snapshot{Start: 7, Records: []RecordState{{State: Acquired, Deliveries: 1}, {State: Archiving, Reason: ReasonRejected, DLQFrom: 3}}})
	f.Add(valid)
	f.Add(append(append([]byte{}, valid...), 0xff, 0xff))
	f.Add([]byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := DecodeSnapshot(b)
		if err != nil {
			return
		}
		again, err := DecodeSnapshot(EncodeSnapshot(s))
		if err != nil || !reflect.DeepEqual(again.Records, s.Records) && len(s.Records) > 0 {
			t.Fatalf("re-encode of decoded snapshot: %v", err)
		}
	})
}
