package main

// `eddy bench scale`: how the cost of a broker grows with one dimension at
// a time (partitions, connections, topics, fan-out, time), every point measured in
// the same run against a broker process of its own, so that /proc/PID
// covers only the broker. Eddy builds (--server-bin, --alt-bin) and other
// Kafka brokers (--peer NAME=COMMAND) take turns point by point.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// scaleOptions are the flags every scale dimension shares.
type scaleOptions struct {
	serverBin string
	altBin    string
	peers     []string
	serveArgs []string
	work      string
	out       string
	duration  time.Duration
	json      bool
	points    []int
}

// scaleReport is the result of one dimension: its points in run order.
type scaleReport struct {
	Dimension string          `json:"dimension"`
	Started   time.Time       `json:"started"`
	Seconds   float64         `json:"seconds"`
	Machine   scaleMachine    `json:"machine"`
	Targets   []scaleTarget   `json:"targets"`
	Settings  map[string]any  `json:"settings"`
	Points    []scalePoint    `json:"points"`
	Notes     []string        `json:"notes,omitempty"`
	Columns   []scaleColumn   `json:"-"`
	charts    []scaleChartDef `json:"-"`
}

// scaleMachine is what the run knows of the machine it ran on.
type scaleMachine struct {
	CPUs      int    `json:"cpus"`
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
	GoVersion string `json:"go"`
}

// scalePoint is one measurement: a target at one value of the dimension.
// Values holds the named figures (NaN-free; -1 when not measured).
type scalePoint struct {
	Target string             `json:"target"`
	X      float64            `json:"x"`
	Values map[string]float64 `json:"values"`
	Error  string             `json:"error,omitempty"`
}

// scaleColumn is one figure of the table: key in Values, heading, format.
type scaleColumn struct {
	Key, Head, Format string
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

func newBenchScaleCmd() *cobra.Command {
	o := &scaleOptions{}
	cmd := &cobra.Command{
		Use:   "scale",
		Short: "Measure how a broker's costs grow with partitions, connections, topics and time",
		Long: `Measure how a broker's costs grow with one dimension at a time, each point
against a fresh broker process of its own (CPU, RSS and open files from
/proc/PID of that process), Eddy builds and other Kafka brokers taking
turns point by point in the same run:

  partitions   N partitions under the same closed-loop produce load (1 KiB,
               acks=all, idempotent, 4 producers): records/s, produce p99,
               broker CPU per GB, RSS, open files, start-up after a clean
               stop and after kill -9 under load
  connections  N idle Kafka connections (or each producing 1 record/s):
               RSS per connection, p99 of a separate latency probe
  topics       N topics of 1 partition: CreateTopics, Metadata and
               /v1/status latency at that size, RSS, start-up
  fanout       N consumer groups reading one topic from the beginning and
               at the head: records/s delivered in total, disk reads
               (read_bytes of /proc/PID/io), broker CPU per GB
  soak         a paced produce load for --duration with retention deleting
               segments: RSS, goroutines, open files, records/s and p99 per
               --interval

Results: a table on stdout (JSON with --json), and with --out DIR a JSON
file and PNG charts per dimension in DIR. Other brokers are started by
--peer NAME=COMMAND, {port} and {dir} replaced, e.g. the kfake of the
bench/ module:  --peer 'kfake-sync=/tmp/peer kfake --port {port} --dir {dir} --sync'.`,
		Example: `  eddy bench scale partitions --points 1,100,1000 --duration 5s --out /tmp/scale
  eddy bench scale partitions --alt-bin /tmp/eddy-old --points 1,1000
  eddy bench scale connections --points 10,1000,10000 --active
  eddy bench scale topics --points 10000
  eddy bench scale fanout --points 1,10,100 --duration 10s
  eddy bench scale soak --duration 1h --interval 1m`,
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.serverBin, "server-bin", "", "eddy binary to serve (default: this one)")
	pf.StringVar(&o.altBin, "alt-bin", "", "a second eddy binary, measured at every point too (before/after comparisons)")
	pf.StringArrayVar(&o.peers, "peer", nil, "another Kafka broker as NAME=COMMAND, {port} and {dir} replaced (repeatable)")
	pf.StringArrayVar(&o.serveArgs, "serve-flag", nil, "extra flag for every `eddy serve` (repeatable), e.g. --serve-flag=--fsync=never")
	pf.StringVar(&o.work, "work", filepath.Join(os.TempDir(), "eddy-scale"), "directory for the brokers' data, emptied per point: put it on the disk to measure (the temporary directory is tmpfs on some machines)")
	pf.StringVar(&o.out, "out", "", "directory for the JSON result and PNG charts (empty: none)")
	pf.DurationVar(&o.duration, "duration", 5*time.Second, "how long each point's load runs (soak: the whole run)")
	pf.BoolVar(&o.json, "json", false, "print the result as JSON instead of a table")
	cmd.AddCommand(newScalePartitionsCmd(o), newScaleConnectionsCmd(o), newScaleTopicsCmd(o), newScaleFanoutCmd(o), newScaleSoakCmd(o))
	return cmd
}

// targets returns the brokers to measure, in turn order.
func (o *scaleOptions) targets() ([]scaleTarget, error) {
	bin := o.serverBin
	if bin == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find this binary: %w", err)
		}
		bin = exe
	}
	ts := []scaleTarget{{Name: "eddy", Eddy: bin, Flags: o.serveArgs}}
	if o.altBin != "" {
		ts = append(ts, scaleTarget{Name: "eddy-alt", Eddy: o.altBin, Flags: o.serveArgs})
	}
	for _, p := range o.peers {
		t, err := parsePeer(p)
		if err != nil {
			return nil, err
		}
		ts = append(ts, t)
	}
	return ts, nil
}

// pointDir returns a fresh data directory for one point.
func (o *scaleOptions) pointDir(t scaleTarget, x int) (string, error) {
	dir := filepath.Join(o.work, fmt.Sprintf("%s-%d", t.Name, x))
	if err := os.RemoveAll(dir); err != nil {
		return "", fmt.Errorf("clear %s: %w", dir, err)
	}
	os.Remove(dir + ".log")
	return dir, nil
}

// startPoint clears the point's data directory and starts t's broker on
// it; the caller defers cleanupPoint(dir) and stopping the server. On an
// error nothing is left running and the directory is removed.
func (o *scaleOptions) startPoint(t scaleTarget, x int) (string, *scaleServer, error) {
	dir, err := o.pointDir(t, x)
	if err != nil {
		return "", nil, err
	}
	s, _, err := startScaleServer(t, dir, time.Minute)
	if err != nil {
		cleanupPoint(dir)
		return "", nil, err
	}
	return dir, s, nil
}

// cleanup removes a point's data directory and broker log.
func cleanupPoint(dir string) {
	os.RemoveAll(dir)
	os.Remove(dir + ".log")
}

// newReport starts a report.
func (o *scaleOptions) newReport(dim string, ts []scaleTarget, settings map[string]any) *scaleReport {
	return &scaleReport{
		Dimension: dim, Started: time.Now().UTC(), Targets: ts, Settings: settings,
		Machine: scaleMachine{CPUs: runtime.NumCPU(), LoadStart: loadAvg(), GoVersion: runtime.Version()},
	}
}

// finish prints the report and writes its files.
func (o *scaleOptions) finish(cmd *cobra.Command, r *scaleReport) error {
	r.Machine.LoadEnd = loadAvg()
	r.Seconds = time.Since(r.Started).Seconds()
	w := cmd.OutOrStdout()
	if o.json {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(r); err != nil {
			return err
		}
	} else if err := r.writeTable(w); err != nil {
		return err
	}
	if o.out == "" {
		return nil
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return fmt.Errorf("create --out: %w", err)
	}
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(o.out, r.Dimension+".json"), b, 0o644); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	for _, c := range r.charts {
		if err := c.write(o.out, r); err != nil {
			return err
		}
	}
	return nil
}

// writeTable prints the report as a Markdown table.
func (r *scaleReport) writeTable(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "eddy bench scale %s: %s, %d CPUs, load average %s at start, %s at end, %.0f s\n\n",
		r.Dimension, r.Started.Format(time.RFC3339), r.Machine.CPUs, r.Machine.LoadStart, r.Machine.LoadEnd, r.Seconds)
	b.WriteString("| target | " + r.xName() + " |")
	for _, c := range r.Columns {
		b.WriteString(" " + c.Head + " |")
	}
	b.WriteString("\n|---|---|")
	for range r.Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, p := range r.Points {
		fmt.Fprintf(&b, "| %s | %s |", p.Target, strconv.FormatFloat(p.X, 'f', -1, 64))
		for _, c := range r.Columns {
			v, ok := p.Values[c.Key]
			if !ok || v < 0 {
				b.WriteString(" – |")
				continue
			}
			fmt.Fprintf(&b, " "+c.Format+" |", v)
		}
		if p.Error != "" {
			fmt.Fprintf(&b, " error: %s", p.Error)
		}
		b.WriteString("\n")
	}
	for _, n := range r.Notes {
		b.WriteString("\n" + n + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func (r *scaleReport) xName() string {
	switch r.Dimension {
	case "soak":
		return "minute"
	case "fanout":
		return "consumer groups"
	default:
		return r.Dimension
	}
}

// parsePoints parses --points.
func parsePoints(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(strings.ReplaceAll(f, "_", "")))
		if err != nil || n < 1 {
			return nil, usageError{fmt.Errorf("--points %q: want positive integers separated by commas", s)}
		}
		out = append(out, n)
	}
	return out, nil
}

// createTopic creates topic with partitions (1 replica) and returns how
// long the request took. The request may take up to createTopicTimeout: a
// client that gives up earlier (kadm's default is 15 s) retries and is told
// the topic exists while the broker is still creating it, and the load
// then starts against a topic that is not there yet.
func createTopic(ctx context.Context, brokers, topic string, partitions int32, configs map[string]*string) (time.Duration, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(createTopicTimeout / time.Millisecond))
	start := time.Now()
	resp, err := adm.CreateTopic(ctx, partitions, 1, configs, topic)
	took := time.Since(start)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return took, fmt.Errorf("create topic %s: %w", topic, err)
	}
	return took, nil
}

// crashUnderLoad runs a produce load against s for d, kills s with SIGKILL
// in the middle of it, and returns.
func crashUnderLoad(ctx context.Context, s *scaleServer, topic string, d time.Duration) error {
	load := &scaleLoad{brokers: s.kafka, topic: topic, producers: 4, recordSize: 1024, linger: 5 * time.Millisecond}
	if err := load.connect(ctx); err != nil {
		return err
	}
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		fctx, fcancel := context.WithTimeout(context.Background(), time.Second)
		defer fcancel()
		load.run(lctx, fctx)
	}()
	time.Sleep(d)
	s.kill()
	cancel()
	<-done
	load.close()
	return nil
}

// createTopicTimeout bounds one CreateTopics of the bench (10,000
// partitions on a loaded machine took up to half a minute).
const createTopicTimeout = 2 * time.Minute

// mb is bytes in MB.
func mb(b int64) float64 { return float64(b) / 1e6 }
