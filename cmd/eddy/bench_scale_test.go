package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// runScale runs `eddy bench scale DIM args…` against the test binary's eddy
// with --out and returns the report it wrote.
func runScale(t *testing.T, dim string, args ...string) *scaleReport {
	t.Helper()
	out := t.TempDir()
	root := newRootCmd()
	var stdout, stderr bytes.Buffer
	root.SetOut(&stdout)
	root.SetErr(&stderr)
	root.SetArgs(append([]string{"bench", "scale", dim, "--server-bin", eddytest.Binary(),
		"--work", filepath.Join(t.TempDir(), "work"), "--out", out}, args...))
	if err := root.Execute(); err != nil {
		t.Fatalf("bench scale %s: %v\n%s", dim, err, stderr.String())
	}
	if !strings.Contains(stdout.String(), "| target |") {
		t.Fatalf("bench scale %s printed no table:\n%s", dim, stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(out, dim+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var r scaleReport
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s.json: %v", dim, err)
	}
	pngs, _ := filepath.Glob(filepath.Join(out, dim+"-*.png"))
	if len(pngs) == 0 {
		t.Fatalf("bench scale %s wrote no chart", dim)
	}
	for _, p := range pngs {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != chartW {
			t.Fatalf("%s: not a %d-pixel-wide PNG: %v", p, chartW, err)
		}
	}
	for _, p := range r.Points {
		if p.Error != "" {
			t.Fatalf("bench scale %s: %s at %v: %s", dim, p.Target, p.X, p.Error)
		}
	}
	return &r
}

// TestBenchScaleShort runs every dimension of `eddy bench scale` at small
// sizes against real `eddy serve` processes: the long shapes (10,000
// partitions or connections, a 1-hour soak) are the same code with bigger
// flags.
func TestBenchScaleShort(t *testing.T) {
	if testing.Short() {
		t.Skip("starts several servers")
	}
	t.Run("partitions", func(t *testing.T) {
		r := runScale(t, "partitions", "--points", "1,20", "--duration", "1s", "--producers", "2", "--partitioner", "uniform")
		if len(r.Points) != 2 {
			t.Fatalf("%d points, want 2", len(r.Points))
		}
		if r.Settings["partitioner"] != "uniform" {
			t.Fatalf("settings: %v", r.Settings)
		}
		for _, p := range r.Points {
			v := p.Values
			if v["records_per_sec"] <= 0 || v["cpu_s_per_gb"] <= 0 || v["client_cpu_s_per_gb"] <= 0 || v["hwm_mb"] <= 0 || v["p99_ms"] <= 0 {
				t.Fatalf("point %v: %v", p.X, v)
			}
			if v["startup_clean_s"] <= 0 || v["startup_crash_s"] <= 0 {
				t.Fatalf("point %v: no restart times: %v", p.X, v)
			}
			// One descriptor per partition at least (its active segment).
			if v["open_files"] < p.X {
				t.Fatalf("point %v: %v open files", p.X, v["open_files"])
			}
		}
		if r.Points[1].Values["ratio_to_first"] <= 0 {
			t.Fatalf("no ratio to the first point: %v", r.Points[1].Values)
		}
	})
	t.Run("connections", func(t *testing.T) {
		r := runScale(t, "connections", "--points", "50", "--duration", "500ms", "--active")
		v := r.Points[0].Values
		if v["opened"] != 50 || v["probe_p99_ms"] <= 0 || v["probe_p99_base_ms"] <= 0 {
			t.Fatalf("connections: %v", v)
		}
	})
	t.Run("topics", func(t *testing.T) {
		r := runScale(t, "topics", "--points", "30")
		v := r.Points[0].Values
		if v["metadata_all_ms"] <= 0 || v["create_one_ms"] <= 0 || v["status_ms"] <= 0 || v["status_kb"] <= 0 || v["startup_clean_s"] <= 0 {
			t.Fatalf("topics: %v", v)
		}
	})
	t.Run("fanout", func(t *testing.T) {
		r := runScale(t, "fanout", "--points", "3", "--backlog", "2000", "--duration", "1s", "--rate", "1000", "--partitions", "2")
		v := r.Points[0].Values
		if v["begin_records_per_sec"] <= 0 || v["begin_s"] <= 0 || v["head_produced_per_sec"] <= 0 || v["rss_mb"] <= 0 || v["begin_ratio"] != 1 {
			t.Fatalf("fanout: %v", v)
		}
		if _, ok := v["begin_read_mb"]; !ok {
			t.Fatalf("fanout: no disk reads: %v", v)
		}
		// Three groups at the head each receive what the producer adds.
		if got := v["head_records_per_sec"] / v["head_produced_per_sec"]; got < 2.5 || got > 3.5 {
			t.Fatalf("3 groups at the head delivered %.2f× the produced records/s: %v", got, v)
		}
	})
	t.Run("soak", func(t *testing.T) {
		r := runScale(t, "soak", "--duration", "3s", "--interval", "1s", "--warmup", "1", "--rate", "2000",
			"--segment-bytes", "1048576", "--retention-bytes", "2097152")
		if len(r.Points) < 2 {
			t.Fatalf("%d intervals, want at least 2", len(r.Points))
		}
		for _, p := range r.Points {
			if p.Values["records_per_sec"] <= 0 || p.Values["rss_mb"] <= 0 || p.Values["goroutines"] <= 0 || p.Values["open_files"] <= 0 {
				t.Fatalf("interval %v: %v", p.X, p.Values)
			}
		}
		if len(r.Notes) == 0 || !strings.Contains(strings.Join(r.Notes, "\n"), "RSS varies") {
			t.Fatalf("no flatness verdict: %q", r.Notes)
		}
	})
}

// TestBenchScaleFlags: bad points and peers are usage errors.
func TestBenchScaleFlags(t *testing.T) {
	for _, args := range [][]string{
		{"bench", "scale", "partitions", "--points", "0"},
		{"bench", "scale", "partitions", "--points", "1,x"},
		{"bench", "scale", "partitions", "--partitioner", "random"},
		{"bench", "scale", "topics", "--peer", "kfake"},
		{"bench", "scale", "topics", "--peer", "kfake=peer kfake"},
		{"bench", "scale", "soak", "--duration", "1s", "--interval", "2s"},
	} {
		root := newRootCmd()
		root.SetOut(&bytes.Buffer{})
		root.SetErr(&bytes.Buffer{})
		root.SetArgs(args)
		if _, ok := errors.AsType[usageError](root.Execute()); !ok {
			t.Errorf("%v: want a usage error", args)
		}
	}
}

// TestLineChart draws a chart with two series on a log axis: lines in the
// series' colours appear on a white background.
func TestLineChart(t *testing.T) {
	img := drawLineChart("Records/s", "partitions", "records/s", []chartSeries{
		{Name: "eddy", XS: []float64{1, 100, 1000}, YS: []float64{500, 400, 300}},
		{Name: "kfake", XS: []float64{1, 100, 1000}, YS: []float64{300, 100, 50}},
	}, true)
	counts := map[[3]uint8]int{}
	for y := 0; y < chartH; y++ {
		for x := 0; x < chartW; x++ {
			c := img.RGBAAt(x, y)
			counts[[3]uint8{c.R, c.G, c.B}]++
		}
	}
	for i := range 2 {
		c := chartColors[i]
		if counts[[3]uint8{c.R, c.G, c.B}] < 100 {
			t.Fatalf("series %d drawn with %d pixels", i, counts[[3]uint8{c.R, c.G, c.B}])
		}
	}
	if counts[[3]uint8{0, 0, 0}] < 500 {
		t.Fatal("no axes or text")
	}
	if got := formatTick(1500000); got != "1.5M" {
		t.Fatalf("formatTick(1.5e6) = %q", got)
	}
	if got := niceCeil(730); got != 1000 {
		t.Fatalf("niceCeil(730) = %v", got)
	}
}
