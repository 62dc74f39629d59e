package pubsub

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// FuzzParseTime: parseTime agrees with time.Parse(RFC3339Nano) on every
// input — the fast path for the "…Z" form included.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-12-07T05:17:13Z", "2026-12-07T05:17:13.123456789Z", "2026-12-07T05:17:13.1Z",
		"2026-12-07T05:17:13.Z", "2026-12-07T05:17:13.1234567891Z", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z",
		"2026-12-07T24:00:00Z", "2026-12-07T05:17:60Z", "2026-12-07T05:17:13+01:00", "2026-12-07T05:17:13.5-07:30",
		"2026-12-07 05:17:13Z", "+026-12-07T05:17:13Z", "2026-1a-07T05:17:13Z", "", "Z", "0000-01-01T00:00:00Z",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if ok != (err == nil) {
			t.Fatalf("parseTime(%q) ok=%v, time.Parse error %v", s, ok, err)
		}
		if ok && !got.Equal(want) {
			t.Fatalf("parseTime(%q) = %v, time.Parse %v", s, got, want)
		}
	})
}

// TestDispatcherEvents: the Events of a poll carry each record's own
// attributes, also when they change from one record to the next, and the
// same ones newEvent reads.
func TestDispatcherEvents(t *testing.T) {
	var recs []*kgo.Record
	for i, m := range []Message{
		{Topic: "t", Type: "A", Source: "s1", Subject: "x"},
		{Topic: "t", Type: "A", Source: "s1"},
		{Topic: "t", Type: "B", Source: "s2", ContentType: "application/avro", Time: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("", 3600))},
		{Topic: "t", Type: "A", Source: "s1", Subject: "y"},
	} {
		m.Data = map[string]int{"i": i}
		r, err := m.Record()
		if err != nil {
			t.Fatal(err)
		}
		r.Topic, r.Offset = "t", int64(i)
		recs = append(recs, r)
	}
	recs = append(recs, &kgo.Record{Topic: "t", Offset: 4, Timestamp: time.Unix(7, 0)}) // no headers
	d := dispatcher{group: "g", share: true}
	evs := d.events(make([]Event, len(recs)), recs)
	for i, r := range recs {
		want := newEvent(r, "g", true)
		got := evs[i]
		if got.ID != want.ID || got.Type != want.Type || got.Source != want.Source || got.Subject != want.Subject ||
			got.SpecVersion != want.SpecVersion || got.ContentType != want.ContentType || !got.Time.Equal(want.Time) ||
			got.Offset != int64(i) || got.Group != "g" || !got.Share {
			t.Fatalf("event %d: %+v, want %+v", i, got, want)
		}
	}
	if evs[2].Type != "B" || evs[3].Type != "A" || evs[1].Subject != "" || evs[3].Subject != "y" || evs[4].Type != "" ||
		!evs[4].Time.Equal(time.Unix(7, 0)) || !evs[2].Time.Equal(time.Date(2026, 1, 2, 2, 4, 5, 6, time.UTC)) {
		t.Fatalf("events %+v", evs)
	}
	if evs[0].ID == evs[1].ID || evs[0].ID == "" {
		t.Fatalf("ids %q %q", evs[0].ID, evs[1].ID)
	}
}
