package main

import (
	"strings"
	"testing"
)

// TestSoakVerdictsAtEqualConnections checks that a goroutine spike which
// comes with extra client connections fails the raw flatness figure but
// not the one judged at the most common connection count, and that a
// spike at an unchanged connection count fails both.
func TestSoakVerdictsAtEqualConnections(t *testing.T) {
	point := func(min, goroutines, conns float64) scalePoint {
		return scalePoint{Target: "eddy", X: min, Values: map[string]float64{
			"records_per_sec": 1000, "rss_mb": 50, "goroutines": goroutines, "open_files": 50 + conns, "connections": conns,
		}}
	}
	r := &scaleReport{Targets: []scaleTarget{{Name: "eddy"}}}
	for i := 1; i <= 10; i++ {
		g, c := 25.0, 4.0
		if i%5 == 0 {
			g, c = 33, 8 // a client's metadata connections, open at the sample
		}
		r.Points = append(r.Points, point(float64(i), g, c))
	}
	got := strings.Join(soakVerdicts(r, 2), "\n")
	for _, want := range []string{"goroutines 32 %", "at 4 client connections (6 of 8 intervals): goroutines 0 %, open files 0 %"} {
		if !strings.Contains(got, want) {
			t.Errorf("verdict %q lacks %q", got, want)
		}
	}

	r.Points[7].Values["goroutines"] = 40 // minute 8: a spike with no new connection
	got = strings.Join(soakVerdicts(r, 2), "\n")
	if !strings.Contains(got, "(6 of 8 intervals): goroutines 60 %") {
		t.Errorf("a spike at the common connection count is hidden: %q", got)
	}
}
