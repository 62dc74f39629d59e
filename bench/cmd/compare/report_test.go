package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		in   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{7}, 7}} {
		if got := median(c.in); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.in, got, c.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

func TestReplaceSection(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.md")
	block := func(s string) string { return beginMarker + "\n" + s + "\n" + endMarker + "\n" }
	if err := replaceSection(path, block("one")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("# B\n\nhand written\n"+block("one")+"\ntrailer\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := replaceSection(path, block("two")); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	s := string(got)
	if strings.Contains(s, "one") || !strings.Contains(s, "two") || !strings.Contains(s, "hand written") ||
		!strings.HasSuffix(s, "\ntrailer\n") || strings.Count(s, beginMarker) != 1 {
		t.Fatalf("replaced file:\n%s", s)
	}
}

func TestTargetsRatios(t *testing.T) {
	rep := &runReport{Measurements: []measurement{
		{Scenario: "produce-100B-1p", Peer: "eddy-always", RecordsPerSec: 200, CPUPerGB: 1},
		{Scenario: "produce-100B-1p", Peer: "kfake-sync", RecordsPerSec: 100, CPUPerGB: 2},
		{Scenario: "produce-100B-1p", Peer: "kfake-sync", RecordsPerSec: 300, Err: "boom"},
	}, Scenarios: []scenario{{Name: "produce-100B-1p"}}}
	var found bool
	for _, tg := range targets(rep) {
		if strings.HasPrefix(tg.what, "produce produce-100B-1p, fsync per batch") {
			found = true
			if tg.ratio != "2.00×" || tg.met != "yes" {
				t.Errorf("throughput target: %+v", tg)
			}
		}
		if strings.HasPrefix(tg.what, "broker CPU/GB") && (tg.ratio != "0.50×" || tg.met != "yes") {
			t.Errorf("cpu target: %+v", tg)
		}
	}
	if !found {
		t.Fatal("no throughput target computed")
	}
}

func TestRotate(t *testing.T) {
	s := []string{"a", "b", "c"}
	for k, want := range []string{"abc", "bca", "cab", "abc"} {
		if got := strings.Join(rotate(s, k), ""); got != want {
			t.Errorf("rotate(%v, %d) = %q, want %q", s, k, got, want)
		}
	}
	if strings.Join(s, "") != "abc" {
		t.Errorf("rotate changed its input: %v", s)
	}
}

func TestRepRatiosPairsRepetitions(t *testing.T) {
	rep := &runReport{Measurements: []measurement{
		{Scenario: "s", Peer: "eddy", Rep: 1, RecordsPerSec: 200},
		{Scenario: "s", Peer: "kfake", Rep: 1, RecordsPerSec: 100},
		{Scenario: "s", Peer: "eddy", Rep: 2, RecordsPerSec: 300},
		{Scenario: "s", Peer: "kfake", Rep: 2, RecordsPerSec: 200},
		{Scenario: "s", Peer: "eddy", Rep: 3, RecordsPerSec: 900},
		{Scenario: "s", Peer: "kfake", Rep: 3, Err: "boom"}, // unpaired: left out
		{Scenario: "other", Peer: "kfake", Rep: 3, RecordsPerSec: 1},
	}}
	got := repRatios(rep, "s", "eddy", "kfake", rps)
	if len(got) != 2 || got[0] != 2 || got[1] != 1.5 {
		t.Fatalf("ratios %v, want [2 1.5]", got)
	}
	if s := spread(got); s != "1.50–2.00×" {
		t.Fatalf("spread %q", s)
	}
	if s := spread(nil); s != "" {
		t.Fatalf("spread of nothing %q", s)
	}
}

// TestRenderSavedFile: -render re-renders a run the user kept anywhere
// (results are not in the repository) into the docs' generated section.
func TestRenderSavedFile(t *testing.T) {
	dir := t.TempDir()
	rep := runReport{Reps: 1, Scenarios: []scenario{{Name: "produce-100B-1p", Kind: "produce", RecordSize: 100, Partitions: 1, Producers: 1}},
		Measurements: []measurement{{Scenario: "produce-100B-1p", Peer: "eddy-always", RecordsPerSec: 123456}}}
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	saved := filepath.Join(dir, "run.json")
	if err := os.WriteFile(saved, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	docs := filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(docs, []byte("# B\n\n"+beginMarker+"\nold\n"+endMarker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := renderSaved(saved, docs); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(docs)
	if s := string(got); strings.Contains(s, "\nold\n") || !strings.Contains(s, "**Machine limits (same run)**") || !strings.Contains(s, "(raw data `run.json`, not in the repository)") {
		t.Fatalf("rendered docs:\n%s", s)
	}
	if err := renderSaved(filepath.Join(dir, "missing.json"), docs); err == nil {
		t.Fatal("rendering a missing file succeeded")
	}
}
