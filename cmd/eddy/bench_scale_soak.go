package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"github.com/spf13/cobra"
)

// soakSettings are the soak's flags.
type soakSettings struct {
	interval   time.Duration
	warmup     int
	rate       float64
	partitions int
	producers  int
	recordSize int
	segment    int64
	retention  int64
}

func newScaleSoakCmd(o *scaleOptions) *cobra.Command {
	var ss soakSettings
	cmd := &cobra.Command{
		Use:   "soak",
		Short: "RSS, goroutines, open files, records/s and p99 per interval over a long paced load",
		Long: `Produce at a fixed rate for --duration (default here 5 s; e.g. --duration 1h)
into a topic whose retention deletes segments as it goes, and sample the
broker every --interval: RSS, goroutines, threads, open files and client
connections (each the median of 12 samples over the interval), records/s
and produce p99 over the interval. With --rate 0 the rate is half of what a 5 s
closed-loop run of the same producers reaches first. The summary checks
what a steady broker shows: after the --warmup intervals, RSS, goroutines
and open files vary by less than 10 %, and no interval's records/s is
below 80 % of the median. Clients open and close connections of their own
accord (franz-go reopens an idle metadata connection every 5 minutes), and
each costs the broker goroutines and a file descriptor, so goroutines and
open files are also judged over the intervals with the most common client
connection count.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runScaleSoak(cmd, o, ss)
		},
	}
	f := cmd.Flags()
	f.DurationVar(&ss.interval, "interval", time.Minute, "sampling interval")
	f.IntVar(&ss.warmup, "warmup", 5, "intervals left out of the flatness checks")
	f.Float64Var(&ss.rate, "rate", 0, "records/s in total (0: half the measured maximum)")
	f.IntVar(&ss.partitions, "partitions", 6, "partitions of the topic")
	f.IntVar(&ss.producers, "producers", 4, "producer clients")
	f.IntVar(&ss.recordSize, "record-size", 1024, "record value size in bytes")
	f.Int64Var(&ss.segment, "segment-bytes", 16<<20, "segment.bytes of the topic")
	f.Int64Var(&ss.retention, "retention-bytes", 64<<20, "retention.bytes of the topic (per partition)")
	return cmd
}

func runScaleSoak(cmd *cobra.Command, o *scaleOptions, ss soakSettings) error {
	if ss.interval <= 0 || ss.interval > o.duration {
		return usageError{fmt.Errorf("--interval %s: want a positive duration no longer than --duration %s", ss.interval, o.duration)}
	}
	ts, err := o.targets()
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	r := o.newReport("soak", ts, map[string]any{
		"interval_s": ss.interval.Seconds(), "partitions": ss.partitions, "producers": ss.producers,
		"record_size": ss.recordSize, "segment_bytes": ss.segment, "retention_bytes": ss.retention,
	})
	r.Columns = []scaleColumn{
		{"records_per_sec", "records/s", "%.0f"}, {"p99_ms", "p99 ms", "%.1f"},
		{"rss_mb", "RSS MB", "%.0f"}, {"goroutines", "goroutines", "%.0f"},
		{"threads", "threads", "%.0f"}, {"open_files", "open files", "%.0f"}, {"connections", "client connections", "%.0f"},
		{"cpu_pct", "broker CPU %", "%.0f"},
	}
	r.charts = []scaleChartDef{
		{File: "soak-rss.png", Title: "Broker RSS (MB) per interval", Key: "rss_mb", YLabel: "MB"},
		{File: "soak-records.png", Title: "Records/s per interval", Key: "records_per_sec", YLabel: "records/s"},
		{File: "soak-p99.png", Title: "Produce p99 (ms) per interval", Key: "p99_ms", YLabel: "ms"},
		{File: "soak-goroutines.png", Title: "Broker goroutines per interval", Key: "goroutines", YLabel: "goroutines"},
	}
	for _, t := range ts {
		if t.Eddy != "" {
			t.Flags = append(append([]string(nil), t.Flags...), "--retention-check-interval", "5s")
		}
		if err := soakOne(ctx, o, t, ss, r); err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %v", t.Name, err))
		}
	}
	r.Notes = append(r.Notes, soakVerdicts(r, ss.warmup)...)
	return o.finish(cmd, r)
}

func soakOne(ctx context.Context, o *scaleOptions, t scaleTarget, ss soakSettings, r *scaleReport) error {
	dir, s, err := o.startPoint(t, 0)
	if err != nil {
		return err
	}
	defer cleanupPoint(dir)
	defer s.kill()
	seg, ret := strconv.FormatInt(ss.segment, 10), strconv.FormatInt(ss.retention, 10)
	if _, err := createTopic(ctx, s.kafka, "soak", int32(ss.partitions), map[string]*string{"segment.bytes": &seg, "retention.bytes": &ret}); err != nil {
		return err
	}
	load := &scaleLoad{brokers: s.kafka, topic: "soak", producers: ss.producers, recordSize: ss.recordSize, linger: 5 * time.Millisecond}
	if err := load.connect(ctx); err != nil {
		return err
	}
	defer load.close()
	rate := ss.rate
	if rate <= 0 {
		mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		load.run(mctx, mctx)
		cancel()
		rate = float64(load.acked.Load()) / time.Since(start).Seconds() / 2
		r.Notes = append(r.Notes, fmt.Sprintf("%s: rate %.0f records/s, half of a 5 s closed-loop run", t.Name, rate))
	}
	load.rate = rate
	load.acked.Store(0)
	load.swapHist()
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		fctx, fcancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer fcancel()
		load.run(lctx, fctx)
	}()
	tick := time.NewTicker(ss.interval)
	defer tick.Stop()
	sample := time.NewTicker(ss.interval / soakSamples)
	defer sample.Stop()
	last := time.Now()
	prev, err := readProc(s.pid())
	if err != nil {
		return err
	}
	var lastAcked int64
	var g soakGauges
	for i := 1; ; i++ {
	wait:
		for {
			select {
			case <-done:
				return nil
			case <-sample.C:
				if err := g.add(ctx, s); err != nil {
					return err
				}
			case <-tick.C:
				break wait
			}
		}
		now := time.Now()
		cur, err := readProc(s.pid())
		if err != nil {
			return err
		}
		if err := g.add(ctx, s); err != nil {
			return err
		}
		acked := load.acked.Load()
		h := load.swapHist()
		secs := now.Sub(last).Seconds()
		p := scalePoint{Target: t.Name, X: math.Round(float64(i)*ss.interval.Minutes()*100) / 100, Values: map[string]float64{
			"records_per_sec": float64(acked-lastAcked) / secs,
			"cpu_pct":         100 * (cur.CPUSeconds - prev.CPUSeconds) / secs,
		}}
		g.medians(p.Values)
		if sum := h.Summary(); sum != nil {
			p.Values["p99_ms"] = sum.P99ms
		}
		r.Points = append(r.Points, p)
		last, prev, lastAcked = now, cur, acked
		if time.Until(deadlineOf(lctx)) < ss.interval/2 {
			// The next tick would cover less than half an interval.
			<-done
			return nil
		}
	}
}

func deadlineOf(ctx context.Context) time.Time {
	d, ok := ctx.Deadline()
	if !ok {
		return time.Now().Add(time.Hour)
	}
	return d
}

// soakVerdicts checks a soak's flatness per target after warmup intervals.
func soakVerdicts(r *scaleReport, warmup int) []string {
	var out []string
	for _, t := range r.Targets {
		var pts []scalePoint
		for _, p := range r.Points {
			if p.Target == t.Name {
				pts = append(pts, p)
			}
		}
		if len(pts) <= warmup {
			if len(pts) > 0 {
				out = append(out, fmt.Sprintf("%s: %d intervals, none after the %d warm-up ones to judge", t.Name, len(pts), warmup))
			}
			continue
		}
		pts = pts[warmup:]
		rates := make([]float64, len(pts))
		for i, p := range pts {
			rates[i] = p.Values["records_per_sec"]
		}
		sort.Float64s(rates)
		median := rates[len(rates)/2]
		low := rates[0] / median
		line := fmt.Sprintf("%s after %d warm-up intervals: RSS varies %.0f %%, goroutines %.0f %%, open files %.0f %% (goal < 10 %%); lowest interval %.0f %% of the median records/s (goal ≥ 80 %%)",
			t.Name, warmup, 100*soakSpread(pts, "rss_mb"), 100*soakSpread(pts, "goroutines"), 100*soakSpread(pts, "open_files"), 100*low)
		if same, conns := soakModalConns(pts); conns >= 0 && len(same) < len(pts) {
			line += fmt.Sprintf("; at %.0f client connections (%d of %d intervals): goroutines %.0f %%, open files %.0f %%",
				conns, len(same), len(pts), 100*soakSpread(same, "goroutines"), 100*soakSpread(same, "open_files"))
		}
		out = append(out, line)
	}
	return out
}

// soakSpread is (max − min) / min of one value over points; +Inf when the
// minimum is not positive (the value could not be read).
func soakSpread(pts []scalePoint, key string) float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range pts {
		lo, hi = math.Min(lo, p.Values[key]), math.Max(hi, p.Values[key])
	}
	if lo <= 0 {
		return math.Inf(1)
	}
	return (hi - lo) / lo
}

// soakModalConns returns the points sampled at the most common client
// connection count, and that count; -1 when the count was not read.
func soakModalConns(pts []scalePoint) ([]scalePoint, float64) {
	count := map[float64]int{}
	best, bestN := -1.0, 0
	for _, p := range pts {
		c, ok := p.Values["connections"]
		if !ok || c < 0 {
			return nil, -1
		}
		count[c]++
		if n := count[c]; n > bestN || (n == bestN && c < best) {
			best, bestN = c, n
		}
	}
	var same []scalePoint
	for _, p := range pts {
		if p.Values["connections"] == best {
			same = append(same, p)
		}
	}
	return same, best
}

// soakSamples is how many times per interval the soak samples the broker's
// gauges; an interval's value is their median, so that what is in flight at
// one instant (a produce request waiting for its fsync holds a goroutine, a
// client's idle connection lives for seconds) does not pass for a trend.
const soakSamples = 12

// soakGauges collects one interval's samples of the broker's gauges.
type soakGauges struct {
	rss, goroutines, conns, threads, files []float64
}

// add takes one sample of the broker's process and metrics.
func (g *soakGauges) add(ctx context.Context, s *scaleServer) error {
	st, err := readProc(s.pid())
	if err != nil {
		return err
	}
	g.rss = append(g.rss, mb(st.RSSBytes))
	g.threads = append(g.threads, float64(st.Threads))
	g.files = append(g.files, float64(st.OpenFiles))
	g.goroutines = append(g.goroutines, float64(s.goroutines(ctx)))
	g.conns = append(g.conns, s.gauge(ctx, "eddy_kafka_connections"))
	return nil
}

// medians stores the interval's medians into values and starts the next
// interval.
func (g *soakGauges) medians(values map[string]float64) {
	for key, xs := range map[string][]float64{
		"rss_mb": g.rss, "goroutines": g.goroutines, "connections": g.conns, "threads": g.threads, "open_files": g.files,
	} {
		sort.Float64s(xs)
		values[key] = xs[len(xs)/2]
	}
	*g = soakGauges{}
}
