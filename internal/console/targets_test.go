package console_test

// The console's performance targets (docs/console.md, "Measured"): first
// paint of the overview and of the topic list with many topics and groups,
// paging the topic list, and live tail at 1,000 messages/s with the tab's
// memory. Short versions always run; EDDY_CONSOLE_SCALE=1 runs the full
// sizes (EDDY_CONSOLE_TOPICS overrides the topic count, e.g. 10000).

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
)

func scaleRun() bool { return os.Getenv("EDDY_CONSOLE_SCALE") == "1" }

// TestConsoleScale measures the overview's first contentful paint and
// time to data, and the topic list's (first page, the next page and a
// prefix search), with many topics and groups: 200 topics and 40 groups
// by default, 1,000 and 200 with EDDY_CONSOLE_SCALE=1, which also checks
// the targets on the medians of five loads.
func TestConsoleScale(t *testing.T) {
	topics, groups := 200, 40
	// EDDY_CONSOLE_TOPICS and EDDY_CONSOLE_VIEWS change the list's size.
	if scaleRun() {
		topics, groups = 1000, 200
	}
	if v := os.Getenv("EDDY_CONSOLE_TOPICS"); v != "" {
		fmt.Sscan(v, &topics)
	}
	bctx := browsertest.Start(t)
	// EDDY_CONSOLE_ARGS adds `eddy serve` flags (space-separated).
	p := eddytest.Start(t, eddytest.Args(strings.Fields(os.Getenv("EDDY_CONSOLE_ARGS"))...))
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx := context.Background()
	start := time.Now()
	for i := 0; i < topics; i += 500 {
		var names []string
		for j := i; j < min(i+500, topics); j++ {
			names = append(names, fmt.Sprintf("topic-%05d", j))
		}
		resp, err := adm.CreateTopics(ctx, 1, 1, nil, names...)
		if err == nil {
			// A request the client retried after a timeout finds the
			// topics its first try created.
			for _, r := range resp {
				if r.Err != nil && !errors.Is(r.Err, kerr.TopicAlreadyExists) {
					err = r.Err
					break
				}
			}
		}
		if err != nil {
			t.Fatalf("create topics %d to %d: %v", i, i+len(names)-1, err)
		}
	}
	// Views are entries of the topic list that hold no files: they make a
	// list longer than the partitions a process's file descriptors allow
	// (each partition keeps about three open).
	views := 0
	if v := os.Getenv("EDDY_CONSOLE_VIEWS"); v != "" {
		fmt.Sscan(v, &views)
	}
	for i := range views {
		if code := httpJSON(t, "PUT", fmt.Sprintf("%s/v1/views/view-%05d", p.HTTPURL(), i), `{"source":"topic-00000","filter":"true"}`, nil); code != 201 {
			t.Fatalf("create view %d: %d", i, code)
		}
	}
	for g := range groups {
		offs := kadm.Offsets{}
		offs.Add(kadm.Offset{Topic: fmt.Sprintf("topic-%05d", g), Partition: 0, At: 0, LeaderEpoch: -1})
		if _, err := adm.CommitOffsets(ctx, fmt.Sprintf("group-%03d", g), offs); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d topics, %d views and %d groups created in %v", topics, views, groups, time.Since(start).Round(time.Millisecond))
	// The server's own CPU while nothing asks it anything: what its
	// background work takes from the browser on the same machine.
	idle0, idleAt := cpuTime(p.PID()), time.Now()
	time.Sleep(3 * time.Second)
	t.Logf("server CPU while idle: %.1f%% of a core", 100*float64(cpuTime(p.PID())-idle0)/float64(time.Since(idleAt)))
	server0 := cpuTime(p.PID())
	defer func() {
		t.Logf("server CPU during the page loads: %v", (cpuTime(p.PID()) - server0).Round(time.Millisecond))
	}()
	tb := browsertest.NewTabFor(t, bctx, p.HTTPURL(), 10*time.Minute)
	measure := func(path, ready string) (fcp float64, data time.Duration) {
		tb.Open("/ui/schemas", `true`) // warm: connection and asset cache
		start := time.Now()
		tb.Open(path, ready)
		data = time.Since(start)
		fcp = browsertest.Eval[float64](tb, `new Promise((resolve) => {
			new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.name === "first-contentful-paint") resolve(e.startTime); }).observe({ type: "paint", buffered: true });
			setTimeout(() => resolve(-1), 2000);
		})`)
		// Where the time before the paint went: the page's first byte, the
		// stylesheet (render-blocking) and the script loaded.
		timing := browsertest.Eval[string](tb, `(() => {
			const n = performance.getEntriesByType("navigation")[0];
			const r = (s) => { const e = performance.getEntriesByType("resource").find((e) => e.name.endsWith(s)); return e ? Math.round(e.responseEnd) : -1; };
			return "first byte " + Math.round(n.responseStart) + " ms, html " + Math.round(n.responseEnd) + " ms, app.css " + r("/app.css") + " ms, app.js " + r("/app.js") + " ms, DOMContentLoaded " + Math.round(n.domContentLoadedEventEnd) + " ms";
		})()`)
		t.Logf("%s: first contentful paint %.0f ms, data shown %v after navigation started (%s)", path, fcp, data.Round(time.Millisecond), timing)
		return fcp, data
	}
	var worstFCP float64
	var overviewFCP, overviewData, listFCP, listData, nextPage, search []float64
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	// Five loads of each at full size (three on the short run).
	rounds := 3
	if scaleRun() {
		rounds = 5
	}
	for range rounds {
		fcp, data := measure("/ui/", fmt.Sprintf(`document.querySelector("#st-topics").textContent.replaceAll(",", "") === %q && document.querySelector("#top-lag tbody").rows.length === %d`, fmt.Sprint(topics), min(groups, 10)))
		worstFCP = max(worstFCP, fcp)
		overviewFCP, overviewData = append(overviewFCP, fcp), append(overviewData, ms(data))
		fcp, data = measure("/ui/topics", `document.querySelector("#topics tbody").rows.length === 50`)
		worstFCP = max(worstFCP, fcp)
		listFCP, listData = append(listFCP, fcp), append(listData, ms(data))
		// The next page of the list: server-side, 50 rows.
		start := time.Now()
		tb.Run(chromedp.Click(chromedp.CSS("#topics-next")))
		tb.WaitJS(`document.querySelector("#topics tbody tr td").innerText === "topic-00050"`, 10*time.Second)
		nextPage = append(nextPage, ms(time.Since(start)))
		t.Logf("/ui/topics next page shown in %v", time.Since(start).Round(time.Millisecond))
		// A prefix search near the end of the list.
		start = time.Now()
		last := fmt.Sprintf("topic-%05d", topics-1)
		if views > 0 {
			last = fmt.Sprintf("view-%05d", views-1)
		}
		tb.Run(chromedp.SetValue(chromedp.CSS("#topic-prefix"), last), chromedp.Click(chromedp.CSS(`#topic-search button`)))
		tb.WaitJS(fmt.Sprintf(`document.querySelector("#topics tbody").rows.length === 1 && document.querySelector("#topics tbody tr td").innerText === %q`, last), 10*time.Second)
		search = append(search, ms(time.Since(start)))
		t.Logf("/ui/topics prefix search shown in %v", time.Since(start).Round(time.Millisecond))
	}
	// Medians of the loads, so one descheduled load on a shared machine
	// does not decide.
	median := func(v []float64) float64 { v = slices.Clone(v); slices.Sort(v); return v[len(v)/2] }
	t.Logf("medians with %d list entries and %d groups (load %s): overview first paint %.0f ms, data %.0f ms; topic list first paint %.0f ms, data %.0f ms, next page %.0f ms, prefix search %.0f ms",
		topics+views, groups, loadAverage(), median(overviewFCP), median(overviewData), median(listFCP), median(listData), median(nextPage), median(search))
	// A loose bound on the short run, so a loaded CI machine does not
	// fail it; the numbers in docs/console.md are from the logs above.
	if !scaleRun() && worstFCP > 2000 {
		t.Errorf("first contentful paint %.0f ms with %d topics", worstFCP, topics)
	}
	if scaleRun() {
		// The targets (docs/console.md): the overview's first paint under
		// 300 ms at 1,000 topics and 200 groups; the topic list stays
		// responsive at 10,000 entries: its first paint under 300 ms too,
		// its first page, the next page and a prefix search each shown
		// within 500 ms.
		for _, c := range []struct {
			what  string
			v     []float64
			bound float64
		}{
			{"overview first contentful paint", overviewFCP, 300},
			{"topic list first contentful paint", listFCP, 300},
			{"topic list first page shown", listData, 500},
			{"topic list next page shown", nextPage, 500},
			{"topic list prefix search shown", search, 500},
		} {
			if med := median(c.v); med >= c.bound {
				t.Errorf("%s: %.0f ms (median of %v) with %d list entries and %d groups; the target is under %.0f ms", c.what, med, c.v, topics+views, groups, c.bound)
			}
		}
	}
	tb.NoErrors("scale")
}

// cpuTime is the user and system CPU time process pid has used, from
// /proc (zero where there is none).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return 0
	}
	// After "pid (comm)": state is field 3, utime 14 and stime 15, in
	// clock ticks (100 a second on Linux).
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(u+st) * 10 * time.Millisecond
}

// loadAverage is the machine's 1-minute load average, "?" where /proc
// has none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) > 0 {
		return f[0]
	}
	return "?"
}

// TestConsoleTail produces 1,000 messages/s while the messages page
// tails the topic: the page must receive every one (the count it shows
// equals what was produced) and keep at most 500 rows, and the tab's
// renderer process stays under 200 MB. 3 s by default, 60 s with
// EDDY_CONSOLE_SCALE=1 (EDDY_CONSOLE_TAIL_SECONDS overrides).
func TestConsoleTail(t *testing.T) {
	seconds := 3
	if scaleRun() {
		seconds = 60
	}
	if v := os.Getenv("EDDY_CONSOLE_TAIL_SECONDS"); v != "" {
		fmt.Sscan(v, &seconds)
	}
	const rate = 1000
	bctx := browsertest.Start(t)
	p := eddytest.Start(t)
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.DefaultProduceTopic("firehose"), kgo.ProducerLinger(5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(seconds+60)*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, "firehose"); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.NewTabFor(t, bctx, p.HTTPURL(), time.Duration(seconds+60)*time.Second)
	// DevTools' network tracking (on for every chromedp tab) keeps each
	// server-sent event for the inspector; a user's tab has no inspector.
	if _, err := chromedp.Call(tb.Ctx, network.Disable, cdp.Empty{}); err != nil {
		t.Fatal(err)
	}
	tb.Open("/ui/messages?topic=firehose", `document.querySelector("#m-summary").textContent !== ""`)
	tb.Run(chromedp.Click(chromedp.CSS("#tail-toggle")))
	tb.WaitJS(`document.querySelector("#tail-state").textContent.startsWith("live")`, 5*time.Second)
	base := rendererMem(bctx)
	var produced, failed atomic.Int64
	start := time.Now()
	// The producer runs on its own, catching up to the rate every 10 ms,
	// so sampling the page never slows it down.
	done := make(chan struct{})
	var prodEnd time.Time
	go func() {
		defer func() { prodEnd = time.Now(); close(done) }()
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for time.Since(start) < time.Duration(seconds)*time.Second {
			<-tick.C
			want := min(int64(time.Since(start).Seconds()*rate), int64(seconds*rate))
			for n := produced.Load(); n < want; n++ {
				v := fmt.Sprintf(`{"seq":%d,"payload":"%s"}`, n, strings.Repeat("x", 64))
				produced.Add(1)
				cl.Produce(ctx, &kgo.Record{Value: []byte(v)}, func(_ *kgo.Record, err error) {
					if err != nil {
						failed.Add(1)
					}
				})
			}
		}
	}()
	var peak procMem
	maxHeap, maxRows := 0.0, 0
	for sampling := true; sampling; {
		select {
		case <-done:
			sampling = false
		case <-time.After(time.Second):
		}
		m := rendererMem(bctx)
		peak = peak.max(m)
		if testing.Verbose() {
			t.Logf("%v: %d produced, renderer private %.1f MB", time.Since(start).Round(time.Second), produced.Load(), mb(m.private))
		}
		maxHeap = max(maxHeap, browsertest.Eval[float64](tb, `performance.memory ? performance.memory.usedJSHeapSize : 0`))
		maxRows = max(maxRows, browsertest.Eval[int](tb, `document.querySelector("#messages tbody").rows.length`))
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	elapsed := prodEnd.Sub(start)
	n := produced.Load()
	if failed.Load() > 0 {
		t.Fatalf("%d of %d produces failed", failed.Load(), n)
	}
	// Every record reaches the page within 3 s of the last produce.
	tb.WaitJS(fmt.Sprintf(`Number(document.querySelector("#tail-rate").dataset.count) === %d`, n), 5*time.Second)
	caughtUp := time.Since(prodEnd)
	peak = peak.max(rendererMem(bctx))
	rows := browsertest.Eval[int](tb, `document.querySelector("#messages tbody").rows.length`)
	maxRows = max(maxRows, rows)
	t.Logf("live tail: %d records in %v (%.0f/s); page had them all %v after the last produce; rows kept %d (max %d); renderer private memory %.1f MB before, max %.1f MB (RSS %.1f → %.1f MB, shared code included); JS heap max %.1f MB",
		n, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), caughtUp.Round(time.Millisecond), rows, maxRows,
		mb(base.private), mb(peak.private), mb(base.rss), mb(peak.rss), maxHeap/(1<<20))
	if maxRows > 500 {
		t.Errorf("the page kept %d rows, want at most 500", maxRows)
	}
	if peak.private > 200<<20 {
		t.Errorf("renderer private memory %.1f MB, over 200 MB", mb(peak.private))
	}
	if float64(n)/elapsed.Seconds() < 0.9*rate {
		t.Errorf("produced only %.0f/s", float64(n)/elapsed.Seconds())
	}
	tb.NoErrors("tail")
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// procMem is a process's memory: rss is its resident set, private the
// anonymous part of it (RssAnon: its own heap and JIT pages, not the
// shared library code every Chromium process maps), what Chromium's task
// manager calls the memory footprint.
type procMem struct{ rss, private int64 }

func (m procMem) max(o procMem) procMem { return procMem{max(m.rss, o.rss), max(m.private, o.private)} }

// rendererMem is the memory of the browser's largest renderer process (one
// per tab here), read from /proc; zero where there is no /proc.
func rendererMem(bctx context.Context) procMem {
	c := chromedp.FromContext(bctx)
	if c == nil || c.Browser == nil || c.Browser.Process() == nil {
		return procMem{}
	}
	root := c.Browser.Process().Pid
	// The renderers are the browser's descendants with --type=renderer.
	parent := map[int]int{}
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		pid, _ := strconv.Atoi(filepath.Base(d))
		b, err := os.ReadFile(d + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		if i := strings.LastIndexByte(string(b), ')'); i >= 0 {
			if f := strings.Fields(string(b[i+1:])); len(f) > 1 {
				parent[pid], _ = strconv.Atoi(f[1])
			}
		}
	}
	descends := func(pid int) bool {
		for i := 0; i < 64 && pid > 1; i++ {
			if pid == root {
				return true
			}
			pid = parent[pid]
		}
		return false
	}
	var best procMem
	for pid := range parent {
		if !descends(pid) {
			continue
		}
		cmd, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if !strings.Contains(string(cmd), "--type=renderer") {
			continue
		}
		f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			continue
		}
		var m procMem
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			k, v, ok := strings.Cut(sc.Text(), ":")
			if !ok {
				continue
			}
			var n int64
			fmt.Sscan(strings.TrimSuffix(strings.TrimSpace(v), " kB"), &n)
			switch k {
			case "VmRSS":
				m.rss = n << 10
			case "RssAnon":
				m.private = n << 10
			}
		}
		f.Close()
		best = best.max(m)
	}
	return best
}
