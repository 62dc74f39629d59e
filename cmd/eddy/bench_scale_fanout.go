package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// fanoutOptions are the flags of `eddy bench scale fanout`.
type fanoutOptions struct {
	partitions int
	backlog    int
	recordSize int
	rate       float64
	cold       bool
}

func newScaleFanoutCmd(o *scaleOptions) *cobra.Command {
	var points string
	f := &fanoutOptions{}
	cmd := &cobra.Command{
		Use:   "fanout",
		Short: "Records/s delivered to N consumer groups reading one topic, at the head and from the beginning",
		Long: `N consumer groups (one franz-go client each) read the same topic of a fresh
broker, in two phases:

  beginning  --backlog records (--record-size bytes) are produced first; the
             groups then read them from offset 0 until every group has all of
             them. With --cold (the default) the page cache of the broker's
             segment files is dropped before (posix_fadvise DONTNEED), so the
             first reader reads the disk and the others can share its pages.
             The clock starts at the first group's assignment: a new group's
             first rebalance waits 3 s for more members, which is not reading.
  head       the groups start at the end of the log while a producer adds
             --rate records/s (acks=all, idempotent) for --duration.

Per phase: records/s delivered in total (summed over the groups), the ratio
to the first point, the broker's disk reads (read_bytes of /proc/PID/io:
bytes that missed the page cache), its CPU seconds per GB delivered and its
RSS. At the head, delivered equals groups × produced while the groups keep
up; the lag left at the end says when they did not.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := parsePoints(points)
			if err != nil {
				return err
			}
			if f.partitions < 1 || f.backlog < 1 || f.recordSize < 1 || f.rate <= 0 {
				return usageError{errors.New("--partitions, --backlog, --record-size and --rate must be positive")}
			}
			return runScaleFanout(cmd, o, f, ps)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&points, "points", "1,10,100", "consumer group counts to measure, comma-separated")
	fl.IntVar(&f.partitions, "partitions", 4, "partitions of the topic")
	fl.IntVar(&f.backlog, "backlog", 100000, "records produced before the groups read from the beginning")
	fl.IntVar(&f.recordSize, "record-size", 1024, "record value size in bytes")
	fl.Float64Var(&f.rate, "rate", 5000, "records/s produced while the groups read at the head")
	fl.BoolVar(&f.cold, "cold", true, "drop the segment files from the page cache before reading from the beginning")
	return cmd
}

func runScaleFanout(cmd *cobra.Command, o *scaleOptions, f *fanoutOptions, points []int) error {
	ts, err := o.targets()
	if err != nil {
		return err
	}
	r := o.newReport("fanout", ts, map[string]any{
		"partitions": f.partitions, "backlog": f.backlog, "record_size": f.recordSize,
		"head_rate": f.rate, "cold": f.cold, "duration_s": o.duration.Seconds(),
	})
	r.Columns = []scaleColumn{
		{"begin_records_per_sec", "beginning: delivered records/s", "%.0f"}, {"begin_ratio", "× 1st", "%.2f"},
		{"begin_read_mb", "disk read MB", "%.1f"}, {"begin_cpu_s_per_gb", "CPU s/GB", "%.2f"},
		{"head_produced_per_sec", "head: produced records/s", "%.0f"},
		{"head_records_per_sec", "head: delivered records/s", "%.0f"}, {"head_ratio", "× 1st", "%.2f"},
		{"head_lag", "lag at end", "%.0f"}, {"head_read_mb", "disk read MB", "%.1f"},
		{"head_cpu_s_per_gb", "CPU s/GB", "%.2f"}, {"rss_mb", "peak RSS MB", "%.0f"},
	}
	r.charts = []scaleChartDef{
		{File: "fanout-head.png", Title: "Records/s delivered in total at the head against consumer groups", Key: "head_records_per_sec", YLabel: "records/s", LogX: true},
		{File: "fanout-beginning.png", Title: "Records/s delivered in total from the beginning against consumer groups", Key: "begin_records_per_sec", YLabel: "records/s", LogX: true},
	}
	first := map[string]scalePoint{}
	for _, x := range points {
		for _, t := range ts {
			p := scalePoint{Target: t.Name, X: float64(x), Values: map[string]float64{}}
			if err := measureFanout(cmd.Context(), o, f, t, x, &p); err != nil {
				p.Error = err.Error()
			}
			if fp, ok := first[t.Name]; ok {
				for _, k := range []string{"begin", "head"} {
					if b := fp.Values[k+"_records_per_sec"]; b > 0 {
						p.Values[k+"_ratio"] = p.Values[k+"_records_per_sec"] / b
					}
				}
			} else if p.Error == "" {
				first[t.Name] = p
				p.Values["begin_ratio"], p.Values["head_ratio"] = 1, 1
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "eddy bench scale fanout: %s at %d groups: beginning %.0f records/s, head %.0f records/s %s\n",
				t.Name, x, p.Values["begin_records_per_sec"], p.Values["head_records_per_sec"], p.Error)
			r.Points = append(r.Points, p)
		}
	}
	return o.finish(cmd, r)
}

// readIOBytes returns read_bytes of /proc/PID/io: what the process caused
// to be read from storage (page cache misses).
func readIOBytes(pid int) (int64, error) {
	fh, err := os.Open(fmt.Sprintf("/proc/%d/io", pid))
	if err != nil {
		return 0, fmt.Errorf("read /proc io: %w", err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "read_bytes:"); ok {
			return strconv.ParseInt(strings.TrimSpace(v), 10, 64)
		}
	}
	return 0, errors.New("read /proc io: no read_bytes")
}

// fanoutGroups is N consumer groups of one client each, counting what they
// receive.
type fanoutGroups struct {
	clients  []*kgo.Client
	counts   []atomic.Int64
	assigned atomic.Int64
	first    atomic.Int64 // unix nanoseconds of the first assignment
	wg       sync.WaitGroup
	cancel   context.CancelFunc
}

func startFanoutGroups(ctx context.Context, brokers, topic, prefix string, n int, reset kgo.Offset) (*fanoutGroups, error) {
	g := &fanoutGroups{counts: make([]atomic.Int64, n)}
	cctx, cancel := context.WithCancel(ctx)
	g.cancel = cancel
	for i := range n {
		c, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topic),
			kgo.ConsumerGroup(fmt.Sprintf("%s-%03d", prefix, i)), kgo.ConsumeResetOffset(reset),
			kgo.OnPartitionsAssigned(func(context.Context, *kgo.Client, map[string][]int32) {
				g.first.CompareAndSwap(0, time.Now().UnixNano())
				g.assigned.Add(1)
			}))
		if err != nil {
			g.close()
			return nil, fmt.Errorf("consumer client: %w", err)
		}
		g.clients = append(g.clients, c)
		g.wg.Add(1)
		go func() {
			defer g.wg.Done()
			for cctx.Err() == nil {
				fs := c.PollFetches(cctx)
				g.counts[i].Add(int64(fs.NumRecords()))
			}
		}()
	}
	return g, nil
}

// total is the records received by all groups.
func (g *fanoutGroups) total() int64 {
	var t int64
	for i := range g.counts {
		t += g.counts[i].Load()
	}
	return t
}

// least is the records received by the group that received the fewest.
func (g *fanoutGroups) least() int64 {
	m := int64(-1)
	for i := range g.counts {
		if c := g.counts[i].Load(); m < 0 || c < m {
			m = c
		}
	}
	return m
}

// waitAssigned waits until every group has its partitions.
func (g *fanoutGroups) waitAssigned(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for g.assigned.Load() < int64(len(g.clients)) {
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("%d of %d groups assigned within %s", g.assigned.Load(), len(g.clients), timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil
}

func (g *fanoutGroups) close() {
	if g.cancel != nil {
		g.cancel()
	}
	g.wg.Wait()
	var cw sync.WaitGroup
	for _, c := range g.clients {
		cw.Add(1)
		go func() { defer cw.Done(); c.Close() }()
	}
	cw.Wait()
}

func measureFanout(ctx context.Context, o *scaleOptions, f *fanoutOptions, t scaleTarget, n int, p *scalePoint) error {
	dir, s, err := o.startPoint(t, n)
	if err != nil {
		return err
	}
	defer cleanupPoint(dir)
	defer s.kill()
	const topic = "fanout"
	if _, err := createTopic(ctx, s.kafka, topic, int32(f.partitions), nil); err != nil {
		return err
	}
	// The backlog, produced as fast as it is acknowledged.
	load := &scaleLoad{brokers: s.kafka, topic: topic, producers: 2, recordSize: f.recordSize, linger: 5 * time.Millisecond}
	if err := load.connect(ctx); err != nil {
		return err
	}
	bctx, bcancel := context.WithCancel(ctx)
	go func() {
		for load.acked.Load() < int64(f.backlog) && bctx.Err() == nil {
			time.Sleep(5 * time.Millisecond)
		}
		bcancel()
	}()
	fctx, fcancel := context.WithTimeout(ctx, time.Minute)
	load.run(bctx, fctx)
	fcancel()
	load.close()
	backlog := load.acked.Load()
	if backlog < int64(f.backlog) {
		return fmt.Errorf("backlog: %d of %d records acknowledged (%v)", backlog, f.backlog, firstError(&load.errs))
	}
	gb := func(records float64) float64 { return records * float64(f.recordSize) / 1e9 }

	// From the beginning.
	if f.cold {
		if err := dropPageCache(dir); err != nil {
			return err
		}
	}
	resetHWM(s.pid())
	rd0, err := readIOBytes(s.pid())
	if err != nil {
		return err
	}
	pr0, err := readProc(s.pid())
	if err != nil {
		return err
	}
	// The groups of both phases join now: a new group's first rebalance
	// waits for more members (group.initial.rebalance.delay.ms, 3 s), which
	// is not reading. The clock starts at the first assignment.
	start := time.Now()
	g, err := startFanoutGroups(ctx, s.kafka, topic, "begin", n, kgo.NewOffset().AtStart())
	if err != nil {
		return err
	}
	head, err := startFanoutGroups(ctx, s.kafka, topic, "head", n, kgo.NewOffset().AtEnd())
	if err != nil {
		g.close()
		return err
	}
	defer head.close()
	limit := start.Add(5*time.Minute + time.Duration(n)*time.Second)
	for g.least() < backlog {
		if time.Now().After(limit) || ctx.Err() != nil {
			g.close()
			return fmt.Errorf("beginning: the slowest of %d groups read %d of %d records in %s", n, g.least(), backlog, time.Since(start).Round(time.Second))
		}
		time.Sleep(5 * time.Millisecond)
	}
	took := time.Since(time.Unix(0, g.first.Load())).Seconds()
	delivered := float64(g.total())
	pr1, _ := readProc(s.pid())
	rd1, _ := readIOBytes(s.pid())
	g.close()
	p.Values["begin_records_per_sec"] = delivered / took
	p.Values["begin_read_mb"] = mb(rd1 - rd0)
	p.Values["begin_cpu_s_per_gb"] = (pr1.CPUSeconds - pr0.CPUSeconds) / gb(delivered)
	p.Values["begin_s"] = took
	p.Values["join_s"] = time.Unix(0, g.first.Load()).Sub(start).Seconds()

	// At the head.
	g = head
	if err := g.waitAssigned(ctx, time.Minute+time.Duration(n)*time.Second); err != nil {
		return fmt.Errorf("head: %w", err)
	}
	load = &scaleLoad{brokers: s.kafka, topic: topic, producers: 2, recordSize: f.recordSize, rate: f.rate, linger: 5 * time.Millisecond}
	if err := load.connect(ctx); err != nil {
		return err
	}
	defer load.close()
	lctx, lcancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fctx, fcancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer fcancel()
		load.run(lctx, fctx)
	}()
	// The window opens once every group is at the head: a second, and
	// then until each has received a record of the load (a group whose
	// first fetch found the end late does not receive what came before, and
	// the window must not count that as the fan-out falling behind).
	time.Sleep(time.Second)
	for deadline := time.Now().Add(30 * time.Second); g.least() == 0 && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(20 * time.Millisecond)
	}
	c0, a0 := g.total(), load.acked.Load()
	rd0, _ = readIOBytes(s.pid())
	pr0, _ = readProc(s.pid())
	start = time.Now()
	time.Sleep(o.duration)
	c1, a1 := g.total(), load.acked.Load()
	took = time.Since(start).Seconds()
	pr1, _ = readProc(s.pid())
	rd1, _ = readIOBytes(s.pid())
	lcancel()
	<-done
	// Lag: what the groups had yet to receive when the producer stopped,
	// after a moment to drain.
	time.Sleep(500 * time.Millisecond)
	produced := load.acked.Load()
	lag := float64(produced-a0)*float64(n) - float64(g.total()-c0)
	delivered = float64(c1 - c0)
	p.Values["head_produced_per_sec"] = float64(a1-a0) / took
	p.Values["head_records_per_sec"] = delivered / took
	p.Values["head_lag"] = max(lag, 0)
	p.Values["head_read_mb"] = mb(rd1 - rd0)
	if delivered > 0 {
		p.Values["head_cpu_s_per_gb"] = (pr1.CPUSeconds - pr0.CPUSeconds) / gb(delivered)
	}
	p.Values["rss_mb"] = mb(pr1.HWMBytes)
	if a1 == a0 {
		return fmt.Errorf("head: no record acknowledged in %s (%v)", o.duration, firstError(&load.errs))
	}
	return nil
}

// firstError is the first error an errorCounter kept, or "no error".
func firstError(e *errorCounter) string {
	if s := e.first.Load(); s != nil {
		return "first error: " + *s
	}
	return "no error"
}
