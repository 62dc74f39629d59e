package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/views"
)

// TestViewPerformance measures views against the alternatives on one
// `eddy serve` process, in one run: N 1 KiB JSON records in 4 partitions,
// 10 % of them orders over 1000 (and, independently, 10 % with the header
// ce_type=OrderCancelled). It reports
//
//   - the source read raw by a franz-go consumer (records/s),
//   - the view `value.total > 1000` read by a franz-go consumer (source
//     records scanned/s, and the broker's CPU seconds per GB scanned),
//   - the source read by a franz-go consumer that filters with the same
//     CEL program (time until every matching record was delivered),
//   - the header-only view `headers["ce_type"] == "OrderCancelled"`.
//
// By default N is small and only the counts are checked. With
// EDDY_VIEW_BENCH=N (e.g. 200000) it runs at that size and enforces the
// targets: view scan rate ≥ 50 % of the raw rate, client-side filtering
// ≥ 5× slower than the view. docs/views.md has the numbers.
//
// Also, for measuring under load and comparing builds:
//
//   - EDDY_VIEW_BENCH_ROUNDS=R repeats the four reads R times on the same
//     data (every other round in the reverse order) and judges the
//     targets on the median times and the median of the rounds'
//     client/view ratios;
//   - EDDY_VIEW_BENCH_BINARY=path runs that eddy binary instead of the one
//     built from the code under test;
//   - EDDY_VIEW_BENCH_PPROF=file writes a CPU profile of the broker taken
//     while the view `value.total > 1000` is read again and again.
func TestViewPerformance(t *testing.T) {
	n, enforce, rounds := 4000, false, 1
	if v := os.Getenv("EDDY_VIEW_BENCH"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1000 {
			t.Fatalf("EDDY_VIEW_BENCH=%q: want a record count ≥ 1000", v)
		}
		enforce = true
		if v := os.Getenv("EDDY_VIEW_BENCH_ROUNDS"); v != "" {
			if rounds, err = strconv.Atoi(v); err != nil || rounds < 1 {
				t.Fatalf("EDDY_VIEW_BENCH_ROUNDS=%q: want a count ≥ 1", v)
			}
		}
	} else {
		t.Parallel()
	}
	profile := os.Getenv("EDDY_VIEW_BENCH_PPROF")
	var opts []eddytest.Option
	if bin := os.Getenv("EDDY_VIEW_BENCH_BINARY"); bin != "" {
		opts = append(opts, eddytest.WithBinary(bin))
	}
	if profile != "" {
		opts = append(opts, eddytest.Args("--pprof-addr", "127.0.0.1:0"))
	}
	s := eddytest.Start(t, opts...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	cl, err := kgo.NewClient(kgo.SeedBrokers(s.KafkaAddr()), kgo.ProducerLinger(5*time.Millisecond),
		kgo.RecordPartitioner(kgo.RoundRobinPartitioner()), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, "perf"); err != nil {
		t.Fatal(err)
	}
	note := strings.Repeat("x", 920)
	var bytesIn int64
	const chunk = 5000
	for i := 0; i < n; {
		var recs []*kgo.Record
		for ; i < n && len(recs) < chunk; i++ {
			total := 100 + i%900
			if i%10 == 0 {
				total = 1001 + i%5000
			}
			typ := "OrderCreated"
			if i%10 == 5 {
				typ = "OrderCancelled"
			}
			v := fmt.Appendf(nil, `{"id":"order-%d","total":%d,"region":"EU","note":"%s"}`, i, total, note)
			bytesIn += int64(len(v))
			recs = append(recs, &kgo.Record{Topic: "perf", Key: fmt.Appendf(nil, "order-%d", i%1000), Value: v,
				Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte(typ)}}})
		}
		if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	want := n / 10
	for _, v := range [][2]string{{"perf-big", "value.total > 1000"}, {"perf-cancelled", `headers["ce_type"] == "OrderCancelled"`}} {
		res, err := adm.CreateTopic(ctx, -1, -1, map[string]*string{views.SourceConfig: kadm.StringPtr("perf"), views.FilterConfig: kadm.StringPtr(v[1])}, v[0])
		if err != nil || res.Err != nil {
			t.Fatalf("create view %s: %v %v", v[0], err, res.Err)
		}
	}

	// consume reads topic from the start until match has accepted want
	// records; it returns the time that took, the broker's CPU time and
	// the consumer's (this process's) CPU time.
	// The clock starts before the client is made: it starts fetching at
	// once.
	consume := func(topic string, want int, match func(*kgo.Record) bool) read {
		cpu0, own0 := processCPU(t, s.PID()), processCPU(t, os.Getpid())
		start := time.Now()
		c, err := kgo.NewClient(kgo.SeedBrokers(s.KafkaAddr()), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxBytes(50<<20), kgo.FetchMaxPartitionBytes(8<<20))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		got := 0
		for got < want {
			fs := c.PollFetches(ctx)
			if err := fs.Err0(); err != nil {
				t.Fatalf("consume %s: %v", topic, err)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if match(r) {
					got++
				}
			})
		}
		return read{time.Since(start), processCPU(t, s.PID()) - cpu0, processCPU(t, os.Getpid()) - own0}
	}
	all := func(*kgo.Record) bool { return true }
	// The client evaluates the same expression in CEL's interpreter (cel-go), as
	// a stock consumer would; the broker's native plan is Eddy's own.
	prog, err := filter.CompileInterpreted("value.total > 1000")
	if err != nil {
		t.Fatal(err)
	}
	clientSide := func(r *kgo.Record) bool {
		fr := filter.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli(), Partition: r.Partition, Offset: r.Offset}
		for _, h := range r.Headers {
			fr.Headers = append(fr.Headers, filter.Header{Key: []byte(h.Key), Value: h.Value})
		}
		return prog.Match(&fr)
	}

	load0 := loadAverage()
	var runs []result
	for i := range rounds {
		// Every other round reads in the reverse order, so that a load
		// rising or falling during a round weighs on each read alike.
		var r result
		reads := []func(){
			func() { r.raw = consume("perf", n, all) },
			func() { r.view = consume("perf-big", want, all) },
			func() { r.client = consume("perf", want, clientSide) },
			func() { r.hdr = consume("perf-cancelled", want, all) },
		}
		if i%2 == 1 {
			slices.Reverse(reads)
		}
		for _, do := range reads {
			do()
		}
		runs = append(runs, r)
	}
	load1 := loadAverage()

	gb := float64(bytesIn) / 1e9
	rate := func(d time.Duration) float64 { return float64(n) / d.Seconds() }
	t.Logf("%d records of ~1 KiB in 4 partitions (%.0f MB of values), 10 %% matching; load average %s before the reads, %s after", n, float64(bytesIn)/1e6, load0, load1)
	logRound := func(r result) {
		t.Logf("source, raw:                 %8.0f records/s  (%v; broker CPU %v, %.1f s/GB; consumer CPU %v)", rate(r.raw.time), r.raw.time.Round(time.Millisecond), r.raw.broker, r.raw.broker.Seconds()/gb, r.raw.consumer)
		t.Logf("view value.total > 1000:     %8.0f records scanned/s  (%v; broker CPU %v, %.1f s/GB scanned; consumer CPU %v) = %.0f %% of raw", rate(r.view.time), r.view.time.Round(time.Millisecond), r.view.broker, r.view.broker.Seconds()/gb, r.view.consumer, 100*r.raw.time.Seconds()/r.view.time.Seconds())
		t.Logf("franz-go + same CEL, client: %8.0f records scanned/s  (%v; broker CPU %v; consumer CPU %v) = %.1fx the view's time", rate(r.client.time), r.client.time.Round(time.Millisecond), r.client.broker, r.client.consumer, r.client.time.Seconds()/r.view.time.Seconds())
		t.Logf("view headers[ce_type]:       %8.0f records scanned/s  (%v; broker CPU %v, %.1f s/GB scanned; consumer CPU %v)", rate(r.hdr.time), r.hdr.time.Round(time.Millisecond), r.hdr.broker, r.hdr.broker.Seconds()/gb, r.hdr.consumer)
	}
	for i, r := range runs {
		if rounds > 1 {
			t.Logf("round %d:", i+1)
		}
		logRound(r)
	}
	ratios := make([]float64, len(runs))
	var viewCPU, clientCPU time.Duration
	for i, r := range runs {
		ratios[i] = r.client.time.Seconds() / r.view.time.Seconds()
		viewCPU += r.view.broker + r.view.consumer
		clientCPU += r.client.broker + r.client.consumer
	}
	slices.Sort(ratios)
	ratio := ratios[len(ratios)/2]
	med := runs[0]
	if rounds > 1 {
		med = result{raw: medianRead(runs, func(r result) read { return r.raw }), view: medianRead(runs, func(r result) read { return r.view }),
			client: medianRead(runs, func(r result) read { return r.client }), hdr: medianRead(runs, func(r result) read { return r.hdr })}
		t.Logf("medians of %d rounds (each column on its own):", rounds)
		logRound(med)
		t.Logf("client-side time / view time: median %.1f, range %.1f–%.1f (per round, sorted: %.1f)", ratio, ratios[0], ratios[len(ratios)-1], ratios)
	}
	// CPU per matching record, broker and consumer together, summed over
	// the rounds (/proc counts in 10 ms ticks).
	t.Logf("CPU to deliver the %d matching records, broker + consumer: view %v, client-side filter %v per read = %.1fx", want,
		viewCPU/time.Duration(rounds), clientCPU/time.Duration(rounds), clientCPU.Seconds()/viewCPU.Seconds())
	if profile != "" {
		viewProfile(t, s, profile, func() { consume("perf-big", want, all) })
	}
	if enforce {
		if med.view.time.Seconds() > 2*med.raw.time.Seconds() {
			t.Errorf("view scan rate %.0f/s is under 50 %% of the raw rate %.0f/s", rate(med.view.time), rate(med.raw.time))
		}
		if ratio < 5 {
			t.Errorf("client-side filtering took %.1fx the view's time (%v against %v), under 5x", ratio, med.client.time, med.view.time)
		}
	}
}

// read is what one consumer read of TestViewPerformance cost: its time,
// the broker's CPU time and the consumer's.
type read struct{ time, broker, consumer time.Duration }

// result is one round of TestViewPerformance: the source read raw, the
// view, the source filtered by the client, the header-only view.
type result struct{ raw, view, client, hdr read }

// medianRead returns the median, field by field, of f over runs.
func medianRead(runs []result, f func(result) read) read {
	pick := func(g func(read) time.Duration) time.Duration {
		v := make([]time.Duration, len(runs))
		for i, r := range runs {
			v[i] = g(f(r))
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return read{pick(func(r read) time.Duration { return r.time }), pick(func(r read) time.Duration { return r.broker }),
		pick(func(r read) time.Duration { return r.consumer })}
}

// loadAverage returns the 1-, 5- and 15-minute load averages from
// /proc/loadavg, or "?" where there is none.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "?"
}

// viewProfile writes to file a 5-second CPU profile of the broker s
// (started with --pprof-addr) taken while read runs again and again.
func viewProfile(t *testing.T, s *eddytest.Process, file string, read func()) {
	t.Helper()
	addr, _ := s.FindLog("pprof listening")["addr"].(string)
	if addr == "" {
		t.Fatal("no pprof listening line")
	}
	type got struct {
		b   []byte
		err error
	}
	done := make(chan got, 1)
	go func() {
		resp, err := http.Get("http://" + addr + "/debug/pprof/profile?seconds=5")
		if err != nil {
			done <- got{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		done <- got{b, err}
	}()
	reads := 0
	for {
		select {
		case g := <-done:
			if g.err != nil {
				t.Fatalf("profile: %v", g.err)
			}
			if err := os.WriteFile(file, g.b, 0o644); err != nil {
				t.Fatal(err)
			}
			t.Logf("broker CPU profile over %d reads of the view: %s", reads, file)
			return
		default:
			read()
			reads++
		}
	}
}

// processCPU returns a process's user+system CPU time from /proc.
func processCPU(t *testing.T, pid int) time.Duration {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	// Fields after the command name (which may hold spaces): state is
	// field 3; utime and stime are fields 14 and 15, in clock ticks.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * (time.Second / 100) // USER_HZ is 100 on Linux
}
