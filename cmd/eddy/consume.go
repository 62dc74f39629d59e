package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/template"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/filter"
)

// consumeOptions are the flags of `eddy consume`.
type consumeOptions struct {
	fromBeginning bool
	offset        string
	partitions    []int
	group         string
	count         int
	format        string
	exitAtEnd     bool
	filter        string
}

const consumeFormatHelp = `output format, one line per record:
  a Go template over .Topic .Partition .Offset .Key .Value .Headers
  .Timestamp (e.g. '{{.Partition}}:{{.Offset}} {{.Key}}={{.Value}}',
  '{{.Headers.Get "source"}}', '{{.Timestamp.UnixMilli}}'; \t and \n are
  understood), or "json" for one JSON object per record`

// newConsumeCmd returns `eddy consume TOPIC`.
func newConsumeCmd() *cobra.Command {
	var o consumeOptions
	var cop *clientOptions
	cmd := &cobra.Command{
		Use:   "consume TOPIC",
		Short: "Print a topic's records on standard output",
		Long: `Print a topic's records on standard output, one line per record (the
value, unless --format says otherwise), until interrupted, --count records
are printed, or with --exit-at-end the end of the topic is reached.

Without --group this reads all (or --partition) partitions from the end, or
from --from-beginning / --offset. With --group it joins a consumer group,
resumes from the group's committed offsets (a partition without one starts
at the end, or at the beginning with --from-beginning) and commits the
offsets of the records it printed before it exits.`,
		Example: `  eddy consume order-events --from-beginning
  eddy consume order-events --group billing --count 10
  eddy consume order-events --partition 0 --offset 42 --format '{{.Offset}} {{.Key}} {{.Value}}'
  eddy consume order-events --offset -5 --exit-at-end --format json | jq .value
  eddy consume order-events --from-beginning --filter 'value.total > 1000'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runConsume(cmd, args[0], &o, cop)
		},
	}
	cop = addClientFlags(cmd)
	f := cmd.Flags()
	f.BoolVar(&o.fromBeginning, "from-beginning", false, "start at the oldest record (with --group: where the group has no committed offset)")
	f.StringVarP(&o.offset, "offset", "o", "", "start at: earliest, latest, an offset N, or -N for N records before the end")
	f.IntSliceVarP(&o.partitions, "partition", "p", nil, "read only these partitions (repeatable or comma-separated)")
	f.StringVarP(&o.group, "group", "g", "", "consume as a member of this consumer group, committing what is printed")
	f.IntVarP(&o.count, "count", "n", 0, "exit after printing this many records (0: no limit)")
	f.StringVarP(&o.format, "format", "f", "{{.Value}}", consumeFormatHelp)
	f.BoolVarP(&o.exitAtEnd, "exit-at-end", "e", false, "exit once the end of every partition, as it was at start, is reached")
	f.StringVar(&o.filter, "filter", "", "print only records this CEL expression matches, filtered by the server through a view (see `eddy view`)")
	return cmd
}

// parseStartOffset parses --offset / --from-beginning into a kgo offset.
func parseStartOffset(o *consumeOptions) (kgo.Offset, error) {
	if o.fromBeginning && o.offset != "" {
		return kgo.Offset{}, usageError{errors.New("--from-beginning and --offset are mutually exclusive")}
	}
	switch s := strings.ToLower(o.offset); s {
	case "":
		if o.fromBeginning {
			return kgo.NewOffset().AtStart(), nil
		}
		return kgo.NewOffset().AtEnd(), nil
	case "earliest", "beginning", "start":
		return kgo.NewOffset().AtStart(), nil
	case "latest", "end":
		return kgo.NewOffset().AtEnd(), nil
	default:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return kgo.Offset{}, usageError{fmt.Errorf("--offset %q: want earliest, latest, N or -N", o.offset)}
		}
		if n < 0 {
			return kgo.NewOffset().AtEnd().Relative(n), nil
		}
		return kgo.NewOffset().At(n), nil
	}
}

// recordHeader is one header as shown to --format templates and in
// --format json.
type recordHeader struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// recordHeaders are a record's headers as shown to --format templates; they
// print as k=v pairs joined by commas.
type recordHeaders []recordHeader

func (hs recordHeaders) String() string {
	parts := make([]string, len(hs))
	for i, h := range hs {
		parts[i] = h.Key + "=" + h.Value
	}
	return strings.Join(parts, ",")
}

// Get returns the value of the first header named key, or "".
func (hs recordHeaders) Get(key string) string {
	for _, h := range hs {
		if h.Key == key {
			return h.Value
		}
	}
	return ""
}

// recordTime prints as RFC 3339 with milliseconds; time.Time's methods
// (UnixMilli, Format, UTC …) stay available to templates.
type recordTime struct{ time.Time }

func (t recordTime) String() string { return t.Format("2006-01-02T15:04:05.000Z07:00") }

// templateRecord is what a --format template sees.
type templateRecord struct {
	Topic     string
	Partition int32
	Offset    int64
	Key       string
	Value     string
	Headers   recordHeaders
	Timestamp recordTime
}

// jsonRecord is one line of --format json.
type jsonRecord struct {
	Topic     string         `json:"topic"`
	Partition int32          `json:"partition"`
	Offset    int64          `json:"offset"`
	Timestamp string         `json:"timestamp"`
	Key       *string        `json:"key"`
	Value     *string        `json:"value"`
	Headers   []recordHeader `json:"headers"`
}

// recordWriter renders records in the chosen --format.
type recordWriter struct {
	w    *bufio.Writer
	tmpl *template.Template // nil for json
}

func newRecordWriter(w io.Writer, format string) (*recordWriter, error) {
	rw := &recordWriter{w: bufio.NewWriter(w)}
	if format == "json" {
		return rw, nil
	}
	format = strings.NewReplacer(`\\`, `\`, `\n`, "\n", `\t`, "\t").Replace(format)
	if !strings.HasSuffix(format, "\n") {
		format += "\n"
	}
	t, err := template.New("format").Option("missingkey=error").Parse(format)
	if err != nil {
		return nil, usageError{fmt.Errorf("--format: %w", err)}
	}
	rw.tmpl = t
	return rw, nil
}

func (rw *recordWriter) write(r *kgo.Record) error {
	hs := make(recordHeaders, len(r.Headers))
	for i, h := range r.Headers {
		hs[i] = recordHeader{Key: h.Key, Value: string(h.Value)}
	}
	if rw.tmpl == nil {
		jr := jsonRecord{
			Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
			Timestamp: recordTime{r.Timestamp}.String(), Headers: hs,
		}
		if r.Key != nil {
			k := string(r.Key)
			jr.Key = &k
		}
		if r.Value != nil {
			v := string(r.Value)
			jr.Value = &v
		}
		b, err := json.Marshal(jr)
		if err != nil {
			return fmt.Errorf("encode record: %w", err)
		}
		b = append(b, '\n')
		_, err = rw.w.Write(b)
		return err
	}
	return rw.tmpl.Execute(rw.w, templateRecord{
		Topic: r.Topic, Partition: r.Partition, Offset: r.Offset,
		Key: string(r.Key), Value: string(r.Value), Headers: hs,
		Timestamp: recordTime{r.Timestamp},
	})
}

func runConsume(cmd *cobra.Command, topic string, o *consumeOptions, cop *clientOptions) error {
	start, err := parseStartOffset(o)
	if err != nil {
		return err
	}
	if o.count < 0 {
		return usageError{fmt.Errorf("--count %d: want a positive number", o.count)}
	}
	if o.group != "" {
		switch {
		case len(o.partitions) > 0:
			return usageError{errors.New("--partition cannot be used with --group: the group assigns partitions")}
		case o.offset != "":
			return usageError{errors.New("--offset cannot be used with --group; use `eddy group reset-offsets`")}
		case o.exitAtEnd:
			return usageError{errors.New("--exit-at-end cannot be used with --group")}
		}
	}
	rw, err := newRecordWriter(cmd.OutOrStdout(), o.format)
	if err != nil {
		return err
	}
	if o.filter != "" {
		if o.exitAtEnd {
			return usageError{errors.New("--exit-at-end cannot be used with --filter: the records at a topic's end may not match, so the end is never seen; use --count or interrupt")}
		}
		// Check the filter here for a message with its column; the
		// server compiles it again when the view is created.
		if _, err := filter.Compile(o.filter); err != nil {
			return usageError{fmt.Errorf("--filter: %w", err)}
		}
		var cleanup func()
		topic, cleanup, err = consumeThroughView(cmd, cop, topic, o)
		if err != nil {
			return err
		}
		defer cleanup()
	}

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Check the topic and partitions first: a typo should fail, not wait.
	adm, closeAdm, err := cop.newAdmin()
	if err != nil {
		return err
	}
	defer closeAdm()
	actx, cancel := cop.requestContext(ctx)
	defer cancel()
	tds, err := adm.ListTopics(actx, topic)
	if err != nil {
		return cop.brokerError("look up topic", err)
	}
	td, ok := tds[topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("topic %q does not exist", topic)
	}
	if td.Err != nil {
		return fmt.Errorf("look up topic %q: %w", topic, td.Err)
	}
	var partitions []int32
	for _, p := range o.partitions {
		if _, ok := td.Partitions[int32(p)]; !ok || p < 0 || p > math.MaxInt32 {
			return fmt.Errorf("topic %q has no partition %d (it has %d)", topic, p, len(td.Partitions))
		}
		partitions = append(partitions, int32(p))
	}
	if len(partitions) == 0 {
		partitions = td.Partitions.Numbers()
	}

	// With --exit-at-end, remember where each partition ends now and
	// where reading starts, so partitions with nothing to read are done.
	var remaining map[int32]int64 // partition -> end offset still to reach
	if o.exitAtEnd {
		remaining, err = endsToReach(actx, adm, topic, partitions, o)
		if err != nil {
			return cop.brokerError("list offsets", err)
		}
		if len(remaining) == 0 {
			return nil
		}
	}
	cancel()

	opts := []kgo.Opt{kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}
	switch {
	case o.group != "":
		opts = append(opts,
			kgo.ConsumerGroup(o.group),
			// Cooperative among eddy consumers, but also range and
			// round-robin so that it can share a group with
			// librdkafka, kafka-python or Java consumers, whose
			// defaults are eager; without a common protocol the
			// join fails with INCONSISTENT_GROUP_PROTOCOL.
			kgo.Balancers(kgo.CooperativeStickyBalancer(), kgo.RangeBalancer(), kgo.RoundRobinBalancer()),
			kgo.ConsumeTopics(topic),
			kgo.ConsumeStartOffset(start),
			kgo.AutoCommitMarks(),
		)
	case len(o.partitions) > 0 || o.exitAtEnd:
		m := make(map[int32]kgo.Offset, len(partitions))
		for _, p := range partitions {
			m[p] = start
		}
		opts = append(opts, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: m}))
	default:
		// Follow the topic, picking up partitions added later.
		opts = append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeStartOffset(start))
	}
	cl, err := cop.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	printed := 0
	var runErr error
poll:
	for {
		limit := 0 // no limit
		if o.count > 0 {
			limit = o.count - printed
		}
		fetches := cl.PollRecords(ctx, limit)
		var fatal error
		fetches.EachError(func(t string, p int32, err error) {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, kgo.ErrClientClosed) {
				return
			}
			var ke *kerr.Error
			if errors.As(err, &ke) && !ke.Retriable && fatal == nil {
				fatal = fmt.Errorf("consume %s[%d]: %w", t, p, err)
				return
			}
			warnf(cmd, "consume %s[%d]: %v", t, p, err)
		})
		var marked []*kgo.Record
		for it := fetches.RecordIter(); !it.Done(); {
			r := it.Next()
			if remaining != nil {
				end, ok := remaining[r.Partition]
				if !ok {
					continue // already at its end
				}
				if r.Offset+1 >= end {
					delete(remaining, r.Partition)
				}
			}
			if err := rw.write(r); err != nil {
				runErr = fmt.Errorf("write record: %w", err)
				break
			}
			marked = append(marked, r)
			printed++
			if o.count > 0 && printed >= o.count {
				break
			}
		}
		if err := rw.w.Flush(); err != nil && runErr == nil {
			runErr = fmt.Errorf("write records: %w", err)
		}
		if o.group != "" && len(marked) > 0 && runErr == nil {
			cl.MarkCommitRecords(marked...)
		}
		switch {
		case runErr != nil, fatal != nil:
			if runErr == nil {
				runErr = fatal
			}
			break poll
		case ctx.Err() != nil,
			o.count > 0 && printed >= o.count,
			remaining != nil && len(remaining) == 0:
			break poll
		}
	}

	// A second interrupt from here on ends the process at once, should
	// the commit below hang on an unreachable server.
	stop()
	if o.group != "" {
		// Commit what was printed, then leave the group so that its
		// partitions move to the other members at once.
		// Not cmd.Context(): the interrupt that ended the loop may have
		// cancelled it, and the commit and leave must still go out.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), cop.timeout)
		defer cancel()
		if err := cl.CommitMarkedOffsets(cctx); err != nil && runErr == nil {
			runErr = cop.brokerError("commit offsets", err)
		}
		if err := cl.LeaveGroupContext(cctx); err != nil && runErr == nil && !errors.Is(err, context.Canceled) {
			warnf(cmd, "leave group %q: %v", o.group, err)
		}
	}
	return runErr
}

// endsToReach returns, for each partition that has records to read from the
// start position, the end offset it must reach for --exit-at-end.
func endsToReach(ctx context.Context, adm *kadm.Client, topic string, partitions []int32, o *consumeOptions) (map[int32]int64, error) {
	starts, err := adm.ListStartOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, err
	}
	out := make(map[int32]int64)
	for _, p := range partitions {
		s, sok := starts.Lookup(topic, p)
		e, eok := ends.Lookup(topic, p)
		if !sok || !eok {
			return nil, fmt.Errorf("partition %d missing from offsets", p)
		}
		if s.Err != nil {
			return nil, fmt.Errorf("partition %d start offset: %w", p, s.Err)
		}
		if e.Err != nil {
			return nil, fmt.Errorf("partition %d end offset: %w", p, e.Err)
		}
		from := e.Offset // latest
		switch off := strings.ToLower(o.offset); {
		case o.fromBeginning, off == "earliest", off == "beginning", off == "start":
			from = s.Offset
		case off == "" || off == "latest" || off == "end":
		default:
			n, _ := strconv.ParseInt(off, 10, 64) // parsed before
			if n < 0 {
				from = e.Offset + n
			} else {
				from = n
			}
		}
		from = max(from, s.Offset)
		if from < e.Offset {
			out[p] = e.Offset
		}
	}
	return out, nil
}
