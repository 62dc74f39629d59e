package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Markers delimiting the generated part of docs/benchmarks.md; everything
// outside them is hand-written and left alone.
const (
	beginMarker = "<!-- bench/cmd/compare: begin generated -->"
	endMarker   = "<!-- bench/cmd/compare: end generated -->"
)

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// stat is the medians of one (scenario, peer) over its successful runs.
type stat struct {
	ok, runs                                    int
	rps, mbps, p50, p99, p999, cpuPerGB, rssMax float64
	rss                                         float64
	errs                                        []string
}

func stats(rep *runReport, scenario, peer string) stat {
	var st stat
	var rps, mbps, p50, p99, p999, cpu, rss []float64
	for _, m := range rep.Measurements {
		if m.Scenario != scenario || m.Peer != peer {
			continue
		}
		st.runs++
		if m.Err != "" {
			st.errs = append(st.errs, m.Err)
			continue
		}
		st.ok++
		rps, mbps = append(rps, m.RecordsPerSec), append(mbps, m.MBPerSec)
		p50, p99, p999 = append(p50, m.P50ms), append(p99, m.P99ms), append(p999, m.P999ms)
		cpu, rss = append(cpu, m.CPUPerGB), append(rss, m.PeakRSSMB)
		st.rssMax = max(st.rssMax, m.PeakRSSMB)
	}
	st.rps, st.mbps, st.p50, st.p99, st.p999 = median(rps), median(mbps), median(p50), median(p99), median(p999)
	st.cpuPerGB, st.rss = median(cpu), median(rss)
	return st
}

func f0(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.0f", x)
}

func f1(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.1f", x)
}

func f2(x float64) string {
	if math.IsNaN(x) {
		return "–"
	}
	return fmt.Sprintf("%.2f", x)
}

func renderMarkdown(rep *runReport, rawPath string) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	w("%s\n\n", beginMarker)
	mode := ""
	if rep.Quick {
		mode = " (**-quick smoke sizes: not a measurement**)"
	}
	// The raw JSON stays where the run saved it, outside the repository;
	// only its name is given (-render FILE re-renders it).
	w("Run %s → %s UTC, %d repetitions, interleaved%s (raw data `%s`, not in the repository).\n\n",
		rep.Started.Format("2006-01-02 15:04"), rep.Finished.Format("15:04"), rep.Reps, mode, filepath.Base(rawPath))
	mc := rep.Machine
	w("Machine: %d CPUs (%s), %s RAM, Linux %s, %s; load average at start %s. Clients and brokers share the CPUs.\n\n",
		mc.CPUs, mc.CPUModel, mc.MemGB, mc.Kernel, mc.GoVersion, mc.LoadAvg)
	l := mc.Limits
	w("**Machine limits (same run)**\n\n| limit | value | how |\n|---|---|---|\n")
	w("| sequential write, no fsync | %s MB/s | `dd bs=1M count=1024` |\n", f0(l.DDNoSyncMBps))
	w("| sequential write + fdatasync | %s MB/s | `dd bs=1M count=1024 conv=fdatasync` |\n", f0(l.DDFdatasyncMBps))
	w("| fsync latency (4 KiB append + fsync) | p50 %s µs, p99 %s µs, %s durable writes/s | `fio --rw=write --bs=4k --fsync=1` |\n",
		f0(l.FsyncP50us), f0(l.FsyncP99us), f0(l.FsyncWritesPerSec))
	w("| loopback TCP | %s Gbit/s | `iperf3 -c 127.0.0.1 -t 3` |\n", f1(l.LoopbackGbps))
	for _, n := range l.Notes {
		w("\nNote: %s\n", n)
	}
	w("\n**Peers**\n\n| peer | durability |\n|---|---|\n")
	for _, p := range rep.Peers {
		w("| %s | %s |\n", p.Name, p.Durability)
	}
	w("\n**Results (medians)**. Produce latency is the ack latency (Produce call → acknowledgement, including time in the client buffer); e2e latency is produce → consume. Broker CPU is user+system seconds of the broker process per GB of payload moved (e2e counts in + out); RSS is the broker's VmHWM over the measured phase.\n")
	for _, sc := range rep.Scenarios {
		w("\n`%s`: %s", sc.Name, describeScenario(sc))
		w("\n\n| peer | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | CPU s/GB | peak RSS MB | ok runs |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, p := range sc.Peers {
			st := stats(rep, sc.Name, p)
			lat := func(x float64) string {
				if sc.Kind == "consume" {
					return "–"
				}
				return f2(x)
			}
			w("| %s | %s | %s | %s | %s | %s | %s | %s | %d/%d |\n", p, f0(st.rps), f1(st.mbps),
				lat(st.p50), lat(st.p99), lat(st.p999), f1(st.cpuPerGB), f0(st.rssMax), st.ok, st.runs)
		}
		for _, p := range sc.Peers {
			if st := stats(rep, sc.Name, p); len(st.errs) > 0 {
				w("\n%s errors: %s\n", p, strings.Join(st.errs, "; "))
			}
		}
	}
	if s := rep.Soak; s != nil {
		w("\n**RSS while producing %.1f GiB** (%s, 1 KiB records, 6 partitions, 4 producers): ", s.GiB, s.Peer)
		if s.Err != "" {
			w("failed: %s\n", s.Err)
		} else {
			w("%.1f MB/s over %.0f s, broker %.1f CPU s/GB, peak RSS %.0f MB. RSS (MB) every %d s: %s\n",
				s.MBPerSec, s.Seconds, s.CPUSecondsPer, s.PeakRSSMB, max(1, len(s.RSSMB)/20), sampleRSS(s.RSSMB))
		}
	}
	w("\n**Targets (issue 5)**, ratios of medians from this run (met or not is decided by them); the per-repetition column is the range of Eddy's repetition r against the peer's repetition r\n\n| target | Eddy | peer | ratio | per repetition | goal | met |\n|---|---|---|---|---|---|---|\n")
	for _, t := range targets(rep) {
		w("| %s | %s | %s | %s | %s | %s | %s |\n", t.what, t.eddy, t.peer, t.ratio, t.spread, t.goal, t.met)
	}
	w("\n%s\n", endMarker)
	return b.String()
}

func describeScenario(sc scenario) string {
	switch sc.Kind {
	case "produce":
		return fmt.Sprintf("%d-byte records, %d partition(s) (NATS: subjects), %d producer(s), acks=all, linger %s, for %s.",
			sc.RecordSize, sc.Partitions, sc.Producers, sc.Linger, sc.Duration)
	case "consume":
		return fmt.Sprintf("read %d preloaded %d-byte records from the start, 1 partition, one direct-assigned client (NATS: ordered consumer); the data is in the page cache.",
			sc.Records, sc.RecordSize)
	default:
		return fmt.Sprintf("one producer at %d records/s of %d bytes (acks=all, linger 0), a separate consumer; %d measured records after 1000 warm-up.",
			sc.Rate, sc.RecordSize, sc.Records)
	}
}

// target is one row of the targets table; spread is the range of the
// ratio over repetitions paired by index (Eddy's repetition r against the
// peer's), which shows how far one run's noise moves it.
type target struct{ what, eddy, peer, ratio, spread, goal, met string }

// repRatios is Eddy's value over the peer's for each repetition both
// measured successfully, by val.
func repRatios(rep *runReport, scenario, eddy, peer string, val func(measurement) float64) []float64 {
	byRep := map[int]float64{}
	for _, m := range rep.Measurements {
		if m.Scenario == scenario && m.Peer == peer && m.Err == "" && val(m) > 0 {
			byRep[m.Rep] = val(m)
		}
	}
	var out []float64
	for _, m := range rep.Measurements {
		if p, ok := byRep[m.Rep]; ok && m.Scenario == scenario && m.Peer == eddy && m.Err == "" {
			out = append(out, val(m)/p)
		}
	}
	return out
}

// spread formats the range of ratios, "" when there are none.
func spread(rs []float64) string {
	if len(rs) == 0 {
		return ""
	}
	return fmt.Sprintf("%.2f–%.2f×", slices.Min(rs), slices.Max(rs))
}

func rps(m measurement) float64      { return m.RecordsPerSec }
func cpuPerGB(m measurement) float64 { return m.CPUPerGB }
func p99(m measurement) float64      { return m.P99ms }

func yes(b bool) string {
	if b {
		return "yes"
	}
	return "**no**"
}

func targets(rep *runReport) []target {
	var out []target
	has := func(sc, p string) bool { return stats(rep, sc, p).ok > 0 }
	thr := func(what, sc, eddy, peer string, goal float64) {
		if !has(sc, eddy) || !has(sc, peer) {
			return
		}
		e, p := stats(rep, sc, eddy).rps, stats(rep, sc, peer).rps
		r := e / p
		out = append(out, target{what, fmt.Sprintf("%s %s rec/s", eddy, f0(e)), fmt.Sprintf("%s %s rec/s", peer, f0(p)),
			fmt.Sprintf("%.2f×", r), spread(repRatios(rep, sc, eddy, peer, rps)), fmt.Sprintf("≥ %.1f×", goal), yes(r >= goal)})
	}
	for _, sc := range []string{"produce-100B-1p", "produce-1KiB-1p"} {
		thr("produce "+sc+", fsync per batch", sc, "eddy-always", "kfake-sync", 1.0)
	}
	thr("produce produce-1KiB-6p4k, fsync per batch", "produce-1KiB-6p4k", "eddy-always", "kfake-sync", 1.3)
	for _, sc := range []string{"produce-100B-1p", "produce-1KiB-1p", "produce-1KiB-6p4k"} {
		thr("produce "+sc+", no fsync", sc, "eddy-never", "kfake-disk", 1.0)
	}
	for _, sc := range []string{"produce-100B-1p", "produce-1KiB-1p", "produce-1KiB-6p4k"} {
		thr("publish "+sc+": Eddy fsync=always vs JetStream default sync", sc, "eddy-always", "nats-default", 5.0)
	}
	for _, sc := range []string{"consume-100B", "consume-1KiB"} {
		thr("consume "+sc+" from page cache", sc, "eddy-never", "kfake-disk", 1.0)
	}
	if has("e2e-10k-100B", "eddy-always") {
		e := stats(rep, "e2e-10k-100B", "eddy-always").p99
		out = append(out, target{"e2e p99 at 10k/s 100 B, fsync=always", fmt.Sprintf("%s ms", f2(e)), "", "", "", "≤ 1.5 ms", yes(e <= 1.5)})
		if has("e2e-10k-100B", "kfake-sync") {
			k := stats(rep, "e2e-10k-100B", "kfake-sync").p99
			out = append(out, target{"e2e p99 vs kfake per-batch fsync", fmt.Sprintf("%s ms", f2(e)), fmt.Sprintf("%s ms", f2(k)),
				fmt.Sprintf("%.2f×", e/k), spread(repRatios(rep, "e2e-10k-100B", "eddy-always", "kfake-sync", p99)), "≤ 1.0×", yes(e <= k)})
		}
	}
	// Broker CPU per GB: each Eddy mode against its kfake counterpart.
	for _, sc := range rep.Scenarios {
		for _, pair := range [][2]string{{"eddy-always", "kfake-sync"}, {"eddy-never", "kfake-disk"}} {
			if !has(sc.Name, pair[0]) || !has(sc.Name, pair[1]) {
				continue
			}
			e, k := stats(rep, sc.Name, pair[0]).cpuPerGB, stats(rep, sc.Name, pair[1]).cpuPerGB
			out = append(out, target{"broker CPU/GB " + sc.Name, fmt.Sprintf("%s %s s/GB", pair[0], f1(e)),
				fmt.Sprintf("%s %s s/GB", pair[1], f1(k)), fmt.Sprintf("%.2f×", e/k),
				spread(repRatios(rep, sc.Name, pair[0], pair[1], cpuPerGB)), "≤ 0.7×", yes(e <= 0.7*k)})
		}
	}
	var rssMax float64
	for _, m := range rep.Measurements {
		if strings.HasPrefix(m.Peer, "eddy") && m.Err == "" {
			rssMax = max(rssMax, m.PeakRSSMB)
		}
	}
	if rssMax > 0 {
		out = append(out, target{"Eddy broker peak RSS, every scenario", fmt.Sprintf("%s MB", f0(rssMax)), "", "", "", "≤ 150 MB", yes(rssMax <= 150)})
	}
	if s := rep.Soak; s != nil && s.Err == "" && len(s.RSSMB) >= 4 {
		half := len(s.RSSMB) / 2
		first, second := slices.Max(s.RSSMB[:half]), slices.Max(s.RSSMB[half:])
		out = append(out, target{fmt.Sprintf("Eddy RSS flat while %.1f GiB produced", s.GiB),
			fmt.Sprintf("max %.0f MB (2nd half) vs %.0f MB (1st half)", second, first), "", "", "",
			"2nd-half max ≤ 1.25× 1st-half max + 10 MB, peak ≤ 150 MB",
			yes(second <= 1.25*first+10 && s.PeakRSSMB <= 150)})
	}
	return out
}

// replaceSection swaps the generated block of path for md, appending it
// (under a heading) when the file or the markers do not exist yet.
func replaceSection(path, md string) error {
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(old)
	i, j := strings.Index(s, beginMarker), strings.Index(s, endMarker)
	var out string
	if i >= 0 && j > i {
		out = s[:i] + strings.TrimSuffix(md, "\n") + s[j+len(endMarker):]
	} else {
		if s != "" && !strings.HasSuffix(s, "\n") {
			s += "\n"
		}
		out = s + "\n## Comparison: Eddy vs kfake vs NATS JetStream\n\n" + md
	}
	return os.WriteFile(path, []byte(out), 0o644)
}

// sampleRSS prints about 20 evenly spaced samples.
func sampleRSS(xs []float64) string {
	step := max(1, len(xs)/20)
	var parts []string
	for i := 0; i < len(xs); i += step {
		parts = append(parts, fmt.Sprintf("%.0f", xs[i]))
	}
	return strings.Join(parts, " ")
}
