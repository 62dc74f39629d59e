// Command compare runs Eddy side by side with franz-go's kfake and NATS
// JetStream on this machine, in one run, and writes the medians and
// ratios into docs/benchmarks.md.
//
// Every broker runs as its own process on a fresh data directory for each
// measurement (Eddy as the real `eddy serve`, kfake and NATS hosted by
// bench/cmd/peer), so /proc reports the broker's own CPU time and peak RSS.
// Kafka peers are driven by `eddy bench` (franz-go), NATS by the equivalent
// nats.go scenario in `peer natsbench`. Measurements are interleaved: for
// each repetition, for each scenario, every peer runs once (A B C A B C).
//
// Usage, from the repository root:
//
//	(cd bench && go run ./cmd/compare)             # full run, ~10 minutes
//	(cd bench && go run ./cmd/compare -quick)      # smoke run, ~1-2 minutes
//	(cd bench && go run ./cmd/compare -peers eddy-always,kfake-sync -scenarios produce-100B-1p)
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// scenario is one workload, run against each of its peers.
type scenario struct {
	Name       string   `json:"name"`
	Kind       string   `json:"kind"` // produce, consume or e2e
	Peers      []string `json:"peers"`
	RecordSize int      `json:"record_size"`
	Partitions int      `json:"partitions"`
	Producers  int      `json:"producers"`
	// Records is the cap for produce (which runs for Duration), the
	// preloaded count for consume, the measured count for e2e.
	Records  int64         `json:"records"`
	Duration time.Duration `json:"duration_ns"`
	Rate     int           `json:"rate,omitempty"`
	Linger   time.Duration `json:"linger_ns"`
}

var producePeers = []string{"eddy-always", "eddy-never", "kfake-sync", "kfake-disk", "kfake-mem", "nats-default", "nats-always"}

func scenarios(quick bool) []scenario {
	prodDur, c100, c1k, e2eN := 4*time.Second, int64(1_000_000), int64(200_000), int64(30_000)
	if quick {
		prodDur, c100, c1k, e2eN = time.Second, 100_000, 20_000, 3_000
	}
	return []scenario{
		{Name: "produce-100B-1p", Kind: "produce", Peers: producePeers, RecordSize: 100, Partitions: 1, Producers: 1,
			Records: 100_000_000, Duration: prodDur, Linger: 5 * time.Millisecond},
		{Name: "produce-1KiB-1p", Kind: "produce", Peers: producePeers, RecordSize: 1024, Partitions: 1, Producers: 1,
			Records: 100_000_000, Duration: prodDur, Linger: 5 * time.Millisecond},
		{Name: "produce-1KiB-6p4k", Kind: "produce", Peers: producePeers, RecordSize: 1024, Partitions: 6, Producers: 4,
			Records: 100_000_000, Duration: prodDur, Linger: 5 * time.Millisecond},
		{Name: "consume-100B", Kind: "consume", Peers: []string{"eddy-never", "kfake-disk", "kfake-mem", "nats-default"},
			RecordSize: 100, Partitions: 1, Producers: 1, Records: c100, Duration: 60 * time.Second, Linger: 5 * time.Millisecond},
		{Name: "consume-1KiB", Kind: "consume", Peers: []string{"eddy-never", "kfake-disk", "kfake-mem", "nats-default"},
			RecordSize: 1024, Partitions: 1, Producers: 1, Records: c1k, Duration: 60 * time.Second, Linger: 5 * time.Millisecond},
		{Name: "e2e-10k-100B", Kind: "e2e", Peers: []string{"eddy-always", "eddy-never", "kfake-sync", "kfake-disk", "nats-default", "nats-always"},
			RecordSize: 100, Partitions: 1, Producers: 1, Records: e2eN, Rate: 10_000, Duration: 60 * time.Second},
	}
}

// clientResult is the part of `eddy bench --json` / natsbench output read here.
type clientResult struct {
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	Errors        int64   `json:"errors"`
	FirstError    string  `json:"first_error"`
	Seconds       float64 `json:"seconds"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Truncated     bool    `json:"truncated"`
	Latency       *struct {
		P50ms  float64 `json:"p50_ms"`
		P99ms  float64 `json:"p99_ms"`
		P999ms float64 `json:"p999_ms"`
		MaxMs  float64 `json:"max_ms"`
	} `json:"latency"`
}

// measurement is one (scenario, peer, repetition).
type measurement struct {
	Scenario      string  `json:"scenario"`
	Peer          string  `json:"peer"`
	Rep           int     `json:"rep"`
	RecordsPerSec float64 `json:"records_per_sec"`
	MBPerSec      float64 `json:"mb_per_sec"`
	Records       int64   `json:"records"`
	Bytes         int64   `json:"bytes"`
	P50ms         float64 `json:"p50_ms"`
	P99ms         float64 `json:"p99_ms"`
	P999ms        float64 `json:"p999_ms"`
	MaxMs         float64 `json:"max_ms"`
	CPUSeconds    float64 `json:"cpu_seconds"`
	CPUPerGB      float64 `json:"cpu_seconds_per_gb"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`
	Truncated     bool    `json:"truncated"`
	Errors        int64   `json:"errors"`
	Err           string  `json:"err,omitempty"`
}

// runReport is everything one run produced; saved as JSON beside the
// Markdown.
type runReport struct {
	Started      time.Time     `json:"started"`
	Finished     time.Time     `json:"finished"`
	Reps         int           `json:"reps"`
	Quick        bool          `json:"quick"`
	Machine      machine       `json:"machine"`
	Scenarios    []scenario    `json:"scenarios"`
	Peers        []peer        `json:"peers"`
	Measurements []measurement `json:"measurements"`
	Soak         *soakResult   `json:"soak,omitempty"`
}

func main() {
	var (
		reps      = flag.Int("reps", 3, "repetitions of every (scenario, peer)")
		quick     = flag.Bool("quick", false, "tiny sizes: a smoke test of the harness, not a measurement")
		peersF    = flag.String("peers", "", "comma-separated peers to run (default: all)")
		scensF    = flag.String("scenarios", "", "comma-separated scenarios to run (default: all)")
		work      = flag.String("work", "/var/tmp/eddy-bench", "work directory for binaries and data (on the disk being measured, not tmpfs)")
		docs      = flag.String("docs", "../docs/benchmarks.md", "Markdown file whose generated section is replaced (empty: print only)")
		results   = flag.String("results", "", "directory for the raw JSON of the run (default: <work>/results; results are kept out of the repository, which holds only the rendered tables)")
		noLimits  = flag.Bool("skip-limits", false, "skip the machine-limit measurements (dd, fio, iperf3)")
		repoRoot  = flag.String("root", "..", "repository root (to build cmd/eddy)")
		peerBuild = flag.String("peer-pkg", "./cmd/peer", "package of the peer binary")
		altRoot   = flag.String("alt-root", "", "a second source tree whose eddy the eddy-*-alt peers serve (before/after runs)")
		soakGiB   = flag.Float64("soak-gib", 0, "after the matrix, produce this many GiB into eddy-always and sample its RSS (0: skip)")
		render    = flag.String("render", "", "measure nothing: render this saved results JSON as Markdown (into -docs, or printed when -docs is empty)")
	)
	flag.Parse()
	if *render != "" {
		if err := renderSaved(*render, *docs); err != nil {
			fmt.Fprintln(os.Stderr, "compare:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(*reps, *quick, *peersF, *scensF, *work, *docs, *results, *noLimits, *repoRoot, *peerBuild, *soakGiB, *altRoot); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func run(reps int, quick bool, peersF, scensF, work, docs, results string, noLimits bool, root, peerPkg string, soakGiB float64, altRoot string) error {
	if err := os.MkdirAll(work, 0o755); err != nil {
		return err
	}
	bin := binaries{eddy: filepath.Join(work, "eddy"), peer: filepath.Join(work, "peer")}
	logf("building %s and %s", bin.eddy, bin.peer)
	if err := goBuild(root, "./cmd/eddy", bin.eddy); err != nil {
		return err
	}
	if err := goBuild(".", peerPkg, bin.peer); err != nil {
		return err
	}
	if altRoot != "" {
		bin.alt = filepath.Join(work, "eddy-alt")
		if err := goBuild(altRoot, "./cmd/eddy", bin.alt); err != nil {
			return err
		}
	}
	rep := runReport{Started: time.Now().UTC(), Reps: reps, Quick: quick}
	rep.Machine = describeMachine()
	if !noLimits {
		logf("measuring machine limits")
		rep.Machine.Limits = measureLimits(work)
	}
	want := func(list, name string) bool {
		return list == "" || slices.Contains(strings.Split(list, ","), name)
	}
	for _, sc := range scenarios(quick) {
		if !want(scensF, sc.Name) {
			continue
		}
		var ps []string
		for _, p := range sc.Peers {
			if want(peersF, p) {
				ps = append(ps, p)
			}
			if alt := p + "-alt"; altRoot != "" && strings.HasPrefix(p, "eddy-") && want(peersF, alt) {
				ps = append(ps, alt)
			}
		}
		sc.Peers = ps
		rep.Scenarios = append(rep.Scenarios, sc)
	}
	for _, p := range allPeers {
		if strings.HasSuffix(p.Name, "-alt") && altRoot == "" {
			continue
		}
		if want(peersF, p.Name) {
			rep.Peers = append(rep.Peers, p)
		}
	}
	// Interleave: every repetition runs every scenario on every peer in
	// turn, so drift (other load, thermal, page cache) spreads evenly, and
	// each repetition starts one peer further along the list, so no peer
	// always runs right after the same one (whose files it finds freed).
	for r := 1; r <= reps; r++ {
		for _, sc := range rep.Scenarios {
			for _, name := range rotate(sc.Peers, r-1) {
				p, _ := peerByName(name)
				m := measure(bin, work, sc, p, r)
				if m.Err != "" {
					logf("rep %d %-18s %-13s ERROR %s", r, sc.Name, p.Name, m.Err)
				} else {
					logf("rep %d %-18s %-13s %10.0f rec/s %8.1f MB/s p99 %8.2f ms cpu %6.1f s/GB rss %6.1f MB",
						r, sc.Name, p.Name, m.RecordsPerSec, m.MBPerSec, m.P99ms, m.CPUPerGB, m.PeakRSSMB)
				}
				rep.Measurements = append(rep.Measurements, m)
			}
		}
	}
	if soakGiB > 0 {
		p, _ := peerByName("eddy-always")
		logf("soak: producing %.1f GiB into %s", soakGiB, p.Name)
		s := soak(bin, work, p, soakGiB)
		logf("soak: %.1f MB/s, peak RSS %.1f MB, err %q", s.MBPerSec, s.PeakRSSMB, s.Err)
		rep.Soak = &s
	}
	rep.Finished = time.Now().UTC()
	if results == "" {
		results = filepath.Join(work, "results")
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return err
	}
	raw, _ := json.MarshalIndent(rep, "", "  ")
	name := filepath.Join(results, rep.Started.Format("2006-01-02T1504Z")+map[bool]string{true: "-quick", false: ""}[quick]+".json")
	if err := os.WriteFile(name, raw, 0o644); err != nil {
		return err
	}
	logf("raw results in %s", name)
	md := renderMarkdown(&rep, name)
	if docs == "" {
		fmt.Print(md)
		return nil
	}
	return replaceSection(docs, md)
}

// rotate returns s starting at its element k (modulo its length).
func rotate(s []string, k int) []string {
	if len(s) == 0 {
		return nil
	}
	k %= len(s)
	return append(append([]string(nil), s[k:]...), s[:k]...)
}

// renderSaved renders the run saved at path as Markdown, into docs or to
// stdout when docs is empty.
func renderSaved(path, docs string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var rep runReport
	if err := json.Unmarshal(raw, &rep); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	md := renderMarkdown(&rep, path)
	if docs == "" {
		fmt.Print(md)
		return nil
	}
	return replaceSection(docs, md)
}

func goBuild(dir, pkg, out string) error {
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s: %w", pkg, err)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().UTC().Format("15:04:05")+" "+format+"\n", args...)
}

// measure runs one scenario on one fresh broker process.
func measure(bin binaries, work string, sc scenario, p peer, rep int) measurement {
	m := measurement{Scenario: sc.Name, Peer: p.Name, Rep: rep}
	fail := func(err error) measurement { m.Err = err.Error(); return m }
	br, err := p.start(bin, work)
	if err != nil {
		return fail(err)
	}
	defer br.stop()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if sc.Kind == "consume" {
		pre := sc
		pre.Kind, pre.Duration = "produce", 2*time.Minute
		out, err := runJSON(ctx, clientArgv(bin, pre, p, br.addr))
		if err != nil {
			return fail(fmt.Errorf("preload: %w", err))
		}
		var res clientResult
		if err := json.Unmarshal(out, &res); err != nil || res.Records != sc.Records {
			return fail(fmt.Errorf("preload wrote %d of %d records (%v): %s", res.Records, sc.Records, err, out))
		}
		// Let the broker settle (kfake's and NATS's background flushes).
		time.Sleep(500 * time.Millisecond)
	}
	pid := br.cmd.Process.Pid
	resetPeakRSS(pid)
	before, err := readProc(pid)
	if err != nil {
		return fail(err)
	}
	out, err := runJSON(ctx, clientArgv(bin, sc, p, br.addr))
	after, perr := readProc(pid)
	if err != nil {
		return fail(err)
	}
	if perr != nil {
		return fail(perr)
	}
	var res clientResult
	if err := json.Unmarshal(out, &res); err != nil {
		return fail(fmt.Errorf("decode %q: %w", out, err))
	}
	m.RecordsPerSec, m.MBPerSec, m.Records, m.Bytes = res.RecordsPerSec, res.MBPerSec, res.Records, res.Bytes
	m.Truncated, m.Errors = res.Truncated && sc.Kind != "produce", res.Errors
	if res.Latency != nil {
		m.P50ms, m.P99ms, m.P999ms, m.MaxMs = res.Latency.P50ms, res.Latency.P99ms, res.Latency.P999ms, res.Latency.MaxMs
	}
	m.CPUSeconds = (after.CPU - before.CPU).Seconds()
	moved := res.Bytes
	if sc.Kind == "e2e" {
		moved *= 2 // in and out
	}
	if moved > 0 {
		m.CPUPerGB = m.CPUSeconds / (float64(moved) / 1e9)
	}
	m.PeakRSSMB = float64(after.PeakRSS) / 1e6
	if res.Errors > 0 {
		m.Err = fmt.Sprintf("%d client errors; first: %s", res.Errors, res.FirstError)
	}
	return m
}

// clientArgv is the load generator's command line for a scenario on a peer.
func clientArgv(bin binaries, sc scenario, p peer, addr string) []string {
	n := strconv.FormatInt(sc.Records, 10)
	size := strconv.Itoa(sc.RecordSize)
	parts := strconv.Itoa(sc.Partitions)
	prods := strconv.Itoa(sc.Producers)
	dur := sc.Duration.String()
	if p.System == "nats" {
		base := []string{bin.peer, "natsbench", sc.Kind, "--url", "nats://" + addr, "--duration", dur, "--record-size", size}
		switch sc.Kind {
		case "produce":
			return append(base, "--subjects", parts, "--producers", prods, "--records", n)
		case "consume":
			return append(base, "--records", "0")
		default:
			return append(base, "--stream", "E2E", "--rate", strconv.Itoa(sc.Rate), "--records", n, "--warmup", "1000")
		}
	}
	base := []string{bin.eddy, "bench", sc.Kind, "--brokers", addr, "--json", "--progress", "0", "--duration", dur,
		"--record-size", size, "--partitions", parts}
	switch sc.Kind {
	case "produce":
		return append(base, "--topic", "bench", "--producers", prods, "--records", n, "--acks", "all", "--linger", sc.Linger.String())
	case "consume":
		return append(base, "--topic", "bench")
	default:
		return append(base, "--topic", "e2e", "--rate", strconv.Itoa(sc.Rate), "--records", n, "--warmup", "1000",
			"--acks", "all", "--linger", "0s")
	}
}
