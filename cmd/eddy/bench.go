package main

// `eddy bench`: load generators for any Kafka bootstrap address, built on
// franz-go like the other client subcommands, and for Eddy's event store
// over HTTP, built on the Go SDK.
//
//	eddy bench produce  N records of S bytes, P partitions, K producers
//	eddy bench consume  read a topic from its start as fast as possible
//	eddy bench e2e      fixed-rate producer + separate consumer, latency
//	eddy bench append   expected-version appends to streams, C clients
//
// Every scenario stops at --duration at the latest, prints a progress line
// to stderr every --progress, and writes one result: a human summary on
// stdout, or a JSON object with --json (the comparison harness under bench/
// parses it).

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchOptions are the flags every bench scenario shares.
type benchOptions struct {
	client      *clientOptions
	topic       string
	recordSize  int
	records     int64
	partitions  int32
	topicConfig []string
	create      bool
	duration    time.Duration
	progress    time.Duration
	json        bool
}

// producerFlags are the producer settings of produce and e2e.
type producerFlags struct {
	acks        string
	idempotent  bool
	linger      time.Duration
	batchBytes  int32
	compression string
	maxBuffered int
	partitioner string
}

func newBenchCmd() *cobra.Command {
	cmd := groupCommand("bench", "Measure a Kafka-compatible broker (produce, consume, e2e latency) or Eddy's event store (append)")
	cmd.Long = `Measure any Kafka-compatible broker (Eddy, Kafka, kfake, Redpanda) with a
franz-go client, or Eddy's event store with the Go SDK.

  produce  write N records of S bytes with K concurrent producers and report
           records/s, MB/s and ack latency percentiles
  consume  read a topic from its start as fast as possible (direct assignment,
           or a consumer group of M members) and report records/s and MB/s
  e2e      produce at a fixed rate while a separate consumer reads, and report
           produce-to-consume latency from a timestamp in each payload
  append   append events to event-store streams over HTTP (expected-version
           checks) with C concurrent clients, and report appends/s and latency

The topic is created with --partitions (and --topic-config) when missing.
Every run stops at --duration at the latest. Results go to stdout (a summary,
or JSON with --json); progress lines go to stderr.`
	cmd.Example = `  eddy bench produce --records 1000000 --record-size 100 --linger 5ms
  eddy bench produce --topic t6 --partitions 6 --producers 4 --json
  eddy bench consume --topic t6
  eddy bench e2e --rate 10000 --duration 30s --record-size 100
  eddy bench append --clients 32 --duration 10s`
	o := &benchOptions{client: addClientFlags(cmd)}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.topic, "topic", "eddy-bench", "topic to use")
	pf.IntVar(&o.recordSize, "record-size", 100, "record value size in bytes")
	pf.Int32Var(&o.partitions, "partitions", 1, "partitions of the topic when it is created")
	pf.StringArrayVar(&o.topicConfig, "topic-config", nil, "config key=value of the topic when it is created (repeatable), e.g. eddy.fsync=never")
	pf.BoolVar(&o.create, "create", true, "create the topic when it does not exist")
	pf.DurationVar(&o.duration, "duration", 5*time.Minute, "stop the run after this long, whatever else is left")
	pf.DurationVar(&o.progress, "progress", 2*time.Second, "print a progress line to stderr this often (0: never)")
	pf.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	cmd.AddCommand(newBenchProduceCmd(o), newBenchConsumeCmd(o), newBenchE2ECmd(o), newBenchAppendCmd(o), newBenchScaleCmd())
	return cmd
}

func addProducerFlags(cmd *cobra.Command, p *producerFlags, linger time.Duration) {
	f := cmd.Flags()
	f.StringVar(&p.acks, "acks", "all", "acknowledgement level: all (-1), 1 or 0")
	f.BoolVar(&p.idempotent, "idempotent", true, "idempotent producer (needs --acks all)")
	f.DurationVar(&p.linger, "linger", linger, "how long a producer waits to fill a batch")
	f.Int32Var(&p.batchBytes, "batch-bytes", 1<<20, "maximum bytes of one record batch")
	f.StringVar(&p.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	f.IntVar(&p.maxBuffered, "max-buffered-records", 10000, "records a producer may hold unacknowledged before Produce blocks")
	f.StringVar(&p.partitioner, "partitioner", partitionerAdaptive, partitionerUsage)
}

// kgoOpts turns producer flags into client options.
func (p *producerFlags) kgoOpts(topic string, timeout time.Duration) ([]kgo.Opt, error) {
	acks, err := parseAcks(p.acks)
	if err != nil {
		return nil, err
	}
	codec, err := parseCompression(p.compression)
	if err != nil {
		return nil, err
	}
	if p.idempotent && acks != kgo.AllISRAcks() {
		return nil, usageError{errors.New("--idempotent needs --acks all; add --idempotent=false")}
	}
	if p.batchBytes < 1<<10 {
		return nil, usageError{fmt.Errorf("--batch-bytes %d: want at least 1024", p.batchBytes)}
	}
	if p.maxBuffered < 1 {
		return nil, usageError{fmt.Errorf("--max-buffered-records %d: want at least 1", p.maxBuffered)}
	}
	part, err := partitionerOpt(p.partitioner)
	if err != nil {
		return nil, err
	}
	opts := []kgo.Opt{
		part,
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerLinger(p.linger),
		kgo.ProducerBatchMaxBytes(p.batchBytes),
		kgo.ProducerBatchCompression(codec),
		kgo.MaxBufferedRecords(p.maxBuffered),
		kgo.RecordDeliveryTimeout(max(timeout, time.Minute)),
	}
	if !p.idempotent {
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	return opts, nil
}

// validate checks the shared flags.
func (o *benchOptions) validate() error {
	switch {
	case o.topic == "":
		return usageError{errors.New("--topic is empty")}
	case o.recordSize < 0 || o.recordSize > 64<<20:
		return usageError{fmt.Errorf("--record-size %d: want 0 to 64 MiB", o.recordSize)}
	case o.partitions < 1:
		return usageError{fmt.Errorf("--partitions %d: want at least 1", o.partitions)}
	case o.duration <= 0:
		return usageError{fmt.Errorf("--duration %s: want a positive duration", o.duration)}
	case o.progress < 0:
		return usageError{fmt.Errorf("--progress %s: want 0 or a positive duration", o.progress)}
	case o.records < 0:
		return usageError{fmt.Errorf("--records %d: want 0 or more", o.records)}
	}
	return nil
}

// ensureTopic creates the topic when it is missing (and --create is set)
// and returns its partition count.
func (o *benchOptions) ensureTopic(ctx context.Context) (int32, error) {
	kv, err := parseKeyValues("topic-config", o.topicConfig)
	if err != nil {
		return 0, err
	}
	adm, closeAdm, err := o.client.newAdmin()
	if err != nil {
		return 0, err
	}
	defer closeAdm()
	rctx, cancel := o.client.requestContext(ctx)
	defer cancel()
	details, err := adm.ListTopics(rctx, o.topic)
	if err != nil {
		return 0, o.setupError(ctx, "list topics", err)
	}
	if d, ok := details[o.topic]; ok && d.Err == nil {
		return int32(len(d.Partitions)), nil
	}
	if !o.create {
		return 0, fmt.Errorf("topic %q does not exist (and --create=false)", o.topic)
	}
	configs := make(map[string]*string, len(kv))
	for _, p := range kv {
		configs[p[0]] = &p[1]
	}
	resp, err := adm.CreateTopic(rctx, o.partitions, 1, configs, o.topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, o.setupError(ctx, "create topic", err)
	}
	if resp.Err != nil && !errors.Is(resp.Err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("create topic %q: %w", o.topic, resp.Err)
	}
	return o.partitions, nil
}

// setupError explains a failed setup request of a run whose context is
// ctx: when the run's --duration (or a signal) ended it first, that is the
// reason, not a silent broker.
func (o *benchOptions) setupError(ctx context.Context, what string, err error) error {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return fmt.Errorf("%s: --duration %s ran out before the broker answered (creating thousands of partitions can take a while: raise --duration)", what, o.duration)
	case ctx.Err() != nil:
		return fmt.Errorf("%s: interrupted", what)
	}
	return o.client.brokerError(what, err)
}

// runContext bounds a run by --duration and by SIGINT/SIGTERM: an
// interrupted bench still reports what it measured.
func (o *benchOptions) runContext(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	ctx, cancel := context.WithTimeout(ctx, o.duration)
	return ctx, func() { cancel(); stop() }
}

// payload returns a value of n pseudo-random bytes so that compression
// measures something realistic rather than a run of zeros.
func payload(n int) []byte {
	b := make([]byte, n)
	fillRandom(b, alnum+" {}:,\"")
	return b
}

// alnum is the alphabet of payloads that must need no JSON escaping.
const alnum = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// fillRandom fills b with bytes of alphabet, the same sequence every run.
func fillRandom(b []byte, alphabet string) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
}

// benchResult is what one scenario reports; --json prints it as is.
type benchResult struct {
	Scenario      string          `json:"scenario"`
	Topic         string          `json:"topic"`
	Partitions    int32           `json:"partitions"`
	RecordSize    int             `json:"record_size"`
	Records       int64           `json:"records"`
	Bytes         int64           `json:"bytes"`
	Errors        int64           `json:"errors"`
	FirstError    string          `json:"first_error,omitempty"`
	Seconds       float64         `json:"seconds"`
	RecordsPerSec float64         `json:"records_per_sec"`
	MBPerSec      float64         `json:"mb_per_sec"`
	Truncated     bool            `json:"truncated"`
	Latency       *latencySummary `json:"latency,omitempty"`
	LatencyKind   string          `json:"latency_kind,omitempty"`
	Settings      map[string]any  `json:"settings"`
	// Lines are extra lines of the human summary.
	Lines []string `json:"-"`
}

func (r *benchResult) finish(elapsed time.Duration) {
	r.Seconds = elapsed.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.Seconds
	}
}

// write prints the result as JSON or as a human summary.
func (r *benchResult) write(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		return enc.Encode(r)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %d records (%s) in %.2fs: %.0f records/s, %.2f MB/s\n",
		r.Scenario, r.Records, humanBytes(r.Bytes), r.Seconds, r.RecordsPerSec, r.MBPerSec)
	if r.Partitions > 0 {
		fmt.Fprintf(&b, "  topic %s, %d partition(s), %d-byte records\n", r.Topic, r.Partitions, r.RecordSize)
	} else {
		fmt.Fprintf(&b, "  topic %s, %d-byte records\n", r.Topic, r.RecordSize)
	}
	for _, l := range r.Lines {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	if l := r.Latency; l != nil {
		fmt.Fprintf(&b, "  %s latency (ms): p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f  (%d samples)\n",
			r.LatencyKind, l.P50ms, l.P90ms, l.P99ms, l.P999ms, l.MaxMs, l.Count)
	}
	if r.Truncated {
		b.WriteString("  stopped early by --duration or a signal\n")
	}
	if r.Errors > 0 {
		fmt.Fprintf(&b, "  %d error(s); first: %s\n", r.Errors, r.FirstError)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// progressReporter prints a line to stderr every interval with the
// counters' totals and the rate over the last interval.
type progressReporter struct {
	records, bytes atomic.Int64
	stop           chan struct{}
	done           chan struct{}
}

func startProgress(w io.Writer, what string, every time.Duration) *progressReporter {
	p := &progressReporter{stop: make(chan struct{}), done: make(chan struct{})}
	if every <= 0 {
		close(p.done)
		return p
	}
	go func() {
		defer close(p.done)
		t := time.NewTicker(every)
		defer t.Stop()
		start := time.Now()
		var lastN int64
		last := start
		for {
			select {
			case <-p.stop:
				return
			case now := <-t.C:
				n := p.records.Load()
				rate := float64(n-lastN) / now.Sub(last).Seconds()
				fmt.Fprintf(w, "eddy bench %s: %s elapsed, %d records (%s), %.0f records/s now\n",
					what, now.Sub(start).Round(time.Second), n, humanBytes(p.bytes.Load()), rate)
				lastN, last = n, now
			}
		}
	}()
	return p
}

// Add counts n records of b bytes.
func (p *progressReporter) Add(n, b int64) {
	p.records.Add(n)
	p.bytes.Add(b)
}

// Stop ends the reporter and waits for its goroutine.
func (p *progressReporter) Stop() {
	select {
	case <-p.stop:
	default:
		close(p.stop)
	}
	<-p.done
}

// errorCounter counts failures and keeps the first.
type errorCounter struct {
	n     atomic.Int64
	first atomic.Pointer[string]
}

func (e *errorCounter) Add(err error) {
	e.n.Add(1)
	s := err.Error()
	e.first.CompareAndSwap(nil, &s)
}

func (e *errorCounter) fill(r *benchResult) {
	r.Errors = e.n.Load()
	if s := e.first.Load(); s != nil {
		r.FirstError = *s
	}
}
