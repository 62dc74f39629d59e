package pubsub

import (
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// dispatcher turns the records of one partition's poll into Events, with
// less work per record than one newEvent each: the Events of a poll live
// in a slab the router reuses from poll to poll (eventSlabs), and the
// attributes that repeat from one record to the
// next (type, source, subject, specversion, content type) reuse the
// previous record's string instead of allocating a new one. Only ce_id
// takes an allocation per record. A dispatcher is used by one goroutine.
type dispatcher struct {
	group   string
	share   bool
	schemas *Schemas

	typ, source, subject, specVersion, contentType string
}

// events fills evs (len(recs) long at least) with the Events of recs and
// returns them.
func (d *dispatcher) events(evs []Event, recs []*kgo.Record) []Event {
	evs = evs[:len(recs)]
	for i, r := range recs {
		d.fill(&evs[i], r)
	}
	return evs
}

// slab is the memory of one partition's poll: its Events and their
// handlers.
type slab struct {
	evs []Event
	hs  []HandlerFunc
}

// eventSlabs keeps slabs from one poll to the next: a poll's Events are
// then no new allocation for the garbage collector to scan and free, a
// cost that dominates the SDK's own per event otherwise. A handler must
// therefore not keep its *Event after it returns (Event.Clone).
var eventSlabs sync.Pool

// getSlab returns a slab for n records.
func getSlab(n int) *slab {
	s, _ := eventSlabs.Get().(*slab)
	if s == nil || cap(s.evs) < n {
		s = &slab{evs: make([]Event, n), hs: make([]HandlerFunc, n)}
	}
	s.evs, s.hs = s.evs[:n], s.hs[:n]
	return s
}

// putSlab clears s, so that it keeps no record alive, and keeps it for
// the next poll.
func putSlab(s *slab) {
	clear(s.evs)
	clear(s.hs)
	eventSlabs.Put(s)
}

// fill sets ev from r, as newEvent does.
func (d *dispatcher) fill(ev *Event, r *kgo.Record) {
	*ev = Event{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: r.Key, Data: r.Value, Headers: r.Headers, Timestamp: r.Timestamp,
		Group: d.group, Share: d.share, DeliveryCount: r.DeliveryCount(), Record: r,
		schemas: d.schemas,
	}
	for _, h := range r.Headers {
		switch h.Key {
		case HeaderID:
			ev.ID = string(h.Value)
		case HeaderType:
			ev.Type = reuse(&d.typ, h.Value)
		case HeaderSource:
			ev.Source = reuse(&d.source, h.Value)
		case HeaderSubject:
			ev.Subject = reuse(&d.subject, h.Value)
		case HeaderSpecVersion:
			ev.SpecVersion = reuse(&d.specVersion, h.Value)
		case HeaderContentType:
			ev.ContentType = reuse(&d.contentType, h.Value)
		case HeaderTime:
			if t, ok := parseTime(h.Value); ok {
				ev.Time = t
			}
		}
	}
	if ev.Time.IsZero() {
		ev.Time = r.Timestamp
	}
}

// reuse returns b as a string: *prev when it holds the same bytes (no
// allocation), else a new string, kept in *prev for the next record.
func reuse(prev *string, b []byte) string {
	if string(b) != *prev {
		*prev = string(b)
	}
	return *prev
}

// parseTime parses a ce_time (RFC 3339). The form the Publisher and the
// event store write, UTC with "Z" and up to nine fractional digits, is
// read without allocating; any other form goes through time.Parse.
func parseTime(b []byte) (time.Time, bool) {
	if t, ok := parseUTC(b); ok {
		return t, true
	}
	t, err := time.Parse(time.RFC3339Nano, string(b))
	return t, err == nil
}

// parseUTC parses "2006-01-02T15:04:05[.999999999]Z".
func parseUTC(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[len(b)-1] != 'Z' || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' {
		return time.Time{}, false
	}
	num := func(s []byte) (int, bool) {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	year, ok1 := num(b[0:4])
	month, ok2 := num(b[5:7])
	day, ok3 := num(b[8:10])
	hour, ok4 := num(b[11:13])
	minute, ok5 := num(b[14:16])
	sec, ok6 := num(b[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		n, ok := num(frac[1:])
		if !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	t := time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC)
	if t.Day() != day { // February 30th and the like
		return time.Time{}, false
	}
	return t, true
}
