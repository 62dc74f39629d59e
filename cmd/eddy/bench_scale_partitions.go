package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
)

// partitionsLoad is the load of `eddy bench scale partitions` at each point.
type partitionsLoad struct {
	producers, recordSize int
	partitioner           string
	restarts              bool // measure the start-ups too
}

func newScalePartitionsCmd(o *scaleOptions) *cobra.Command {
	var points string
	var pl partitionsLoad
	cmd := &cobra.Command{
		Use:   "partitions",
		Short: "records/s, p99, CPU/GB, RSS, open files and restart times against partitions per topic",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := parsePoints(points)
			if err != nil {
				return err
			}
			return runScalePartitions(cmd, o, ps, pl)
		},
	}
	f := cmd.Flags()
	f.StringVar(&points, "points", "1,100,1000,10000", "partition counts to measure, comma-separated")
	f.IntVar(&pl.producers, "producers", 4, "producer clients of the load")
	f.IntVar(&pl.recordSize, "record-size", 1024, "record value size in bytes")
	f.StringVar(&pl.partitioner, "partitioner", partitionerAdaptive, partitionerUsage)
	f.BoolVar(&pl.restarts, "restarts", true, "measure start-up after a clean stop and after kill -9 under load")
	return cmd
}

func runScalePartitions(cmd *cobra.Command, o *scaleOptions, points []int, pl partitionsLoad) error {
	if pl.producers < 1 || pl.recordSize < 1 {
		return usageError{fmt.Errorf("--producers %d, --record-size %d: want at least 1", pl.producers, pl.recordSize)}
	}
	if _, err := partitionerOpt(pl.partitioner); err != nil {
		return err
	}
	ts, err := o.targets()
	if err != nil {
		return err
	}
	r := o.newReport("partitions", ts, map[string]any{
		"producers": pl.producers, "record_size": pl.recordSize, "partitioner": pl.partitioner, "acks": "all", "idempotent": true,
		"linger_ms": 5, "seconds": o.duration.Seconds(),
	})
	r.Columns = []scaleColumn{
		{"records_per_sec", "records/s", "%.0f"}, {"ratio_to_first", "× first point", "%.2f"},
		{"p99_ms", "produce p99 ms", "%.1f"}, {"cpu_s_per_gb", "broker CPU s/GB", "%.2f"},
		{"client_cpu_s_per_gb", "bench client CPU s/GB", "%.2f"},
		{"hwm_mb", "peak RSS MB", "%.0f"}, {"open_files", "open files", "%.0f"},
		{"threads", "threads", "%.0f"}, {"goroutines", "goroutines", "%.0f"},
		{"create_s", "CreateTopics s", "%.2f"},
		{"startup_clean_s", "start after clean stop s", "%.2f"}, {"startup_crash_s", "start after kill -9 s", "%.2f"},
		{"startup_clean_cpu_s", "its CPU s", "%.2f"}, {"startup_crash_cpu_s", "its CPU s", "%.2f"},
	}
	r.charts = []scaleChartDef{
		{File: "partitions-records.png", Title: "Produce records/s against partitions (same total load)", Key: "records_per_sec", YLabel: "records/s", LogX: true},
		{File: "partitions-p99.png", Title: "Produce p99 (ms) against partitions", Key: "p99_ms", YLabel: "ms", LogX: true},
		{File: "partitions-cpu.png", Title: "Broker CPU seconds per GB against partitions", Key: "cpu_s_per_gb", YLabel: "s/GB", LogX: true},
		{File: "partitions-rss.png", Title: "Broker peak RSS (MB) against partitions", Key: "hwm_mb", YLabel: "MB", LogX: true},
		{File: "partitions-restart.png", Title: "Start-up after kill -9 (s) against partitions", Key: "startup_crash_s", YLabel: "s", LogX: true},
	}
	first := map[string]float64{}
	for _, x := range points {
		for _, t := range ts {
			p := scalePoint{Target: t.Name, X: float64(x), Values: map[string]float64{}}
			if err := measurePartitions(cmd.Context(), o, t, x, pl, &p); err != nil {
				p.Error = err.Error()
			}
			if v, ok := first[t.Name]; ok && v > 0 {
				p.Values["ratio_to_first"] = p.Values["records_per_sec"] / v
			} else if p.Values["records_per_sec"] > 0 {
				first[t.Name] = p.Values["records_per_sec"]
				p.Values["ratio_to_first"] = 1
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "eddy bench scale partitions: %s at %d: %.0f records/s %s\n", t.Name, x, p.Values["records_per_sec"], p.Error)
			r.Points = append(r.Points, p)
		}
	}
	return o.finish(cmd, r)
}

// measurePartitions measures one point: a fresh broker, a topic of n
// partitions, the load for --duration, then the restarts.
func measurePartitions(ctx context.Context, o *scaleOptions, t scaleTarget, n int, pl partitionsLoad, p *scalePoint) error {
	dir, s, err := o.startPoint(t, n)
	if err != nil {
		return err
	}
	defer cleanupPoint(dir)
	defer func() {
		if s != nil {
			s.kill()
		}
	}()
	const topic = "scale"
	took, err := createTopic(ctx, s.kafka, topic, int32(n), nil)
	if err != nil {
		return err
	}
	p.Values["create_s"] = took.Seconds()
	load := &scaleLoad{brokers: s.kafka, topic: topic, producers: pl.producers, recordSize: pl.recordSize, linger: 5 * time.Millisecond, partitioner: pl.partitioner}
	if err := load.connect(ctx); err != nil {
		return err
	}
	defer load.close()
	// A short warm-up: every producer has the topic's metadata and the
	// broker has touched every partition it will write.
	wctx, wcancel := context.WithTimeout(ctx, time.Second)
	load.run(wctx, wctx)
	wcancel()
	load.acked.Store(0)
	load.swapHist()

	resetHWM(s.pid())
	before, err := readProc(s.pid())
	if err != nil {
		return err
	}
	// The bench's own CPU: the load's producers run in this process, and
	// share the machine with the broker.
	clientBefore, cerr := readProc(os.Getpid())
	lctx, cancel := context.WithTimeout(ctx, o.duration)
	fctx, fcancel := context.WithTimeout(ctx, o.duration+30*time.Second)
	start := time.Now()
	load.run(lctx, fctx)
	elapsed := time.Since(start)
	cancel()
	fcancel()
	after, err := readProc(s.pid())
	if err != nil {
		return err
	}
	clientAfter, cerr2 := readProc(os.Getpid())
	acked := load.acked.Load()
	h := load.swapHist()
	p.Values["records_per_sec"] = float64(acked) / elapsed.Seconds()
	if sum := h.Summary(); sum != nil {
		p.Values["p99_ms"] = sum.P99ms
		p.Values["p50_ms"] = sum.P50ms
	}
	if gb := float64(acked) * float64(pl.recordSize) / 1e9; gb > 0 {
		p.Values["cpu_s_per_gb"] = (after.CPUSeconds - before.CPUSeconds) / gb
		if cerr == nil && cerr2 == nil {
			p.Values["client_cpu_s_per_gb"] = (clientAfter.CPUSeconds - clientBefore.CPUSeconds) / gb
		}
	}
	p.Values["hwm_mb"] = mb(after.HWMBytes)
	p.Values["rss_mb"] = mb(after.RSSBytes)
	p.Values["open_files"] = float64(after.OpenFiles)
	p.Values["threads"] = float64(after.Threads)
	p.Values["goroutines"] = float64(s.goroutines(ctx))
	p.Values["errors"] = float64(load.errs.n.Load())
	load.close()
	if acked == 0 {
		first := "none"
		if e := load.errs.first.Load(); e != nil {
			first = *e
		}
		return fmt.Errorf("no record acknowledged in %s (first error: %s; broker log %s.log)", o.duration, first, dir)
	}
	if !pl.restarts {
		return nil
	}
	if err := s.stop(); err != nil {
		s = nil
		return err
	}
	s = nil
	s2, took, err := startScaleServer(t, dir, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("restart after a clean stop: %w", err)
	}
	p.Values["startup_clean_s"] = took.Seconds()
	if pr, err := readProc(s2.pid()); err == nil {
		p.Values["startup_clean_cpu_s"] = pr.CPUSeconds // the start-up's CPU: little else ran yet
	}
	if err := crashUnderLoad(ctx, s2, topic, 2*time.Second); err != nil {
		s2.kill()
		return fmt.Errorf("load before kill -9: %w", err)
	}
	s3, took, err := startScaleServer(t, dir, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("restart after kill -9: %w", err)
	}
	p.Values["startup_crash_s"] = took.Seconds()
	if pr, err := readProc(s3.pid()); err == nil {
		p.Values["startup_crash_cpu_s"] = pr.CPUSeconds
	}
	s = s3
	return nil
}
