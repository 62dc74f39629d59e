package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/share"
)

// redriveGroupPrefix names the consumer group whose committed offsets
// record how far `eddy dlq redrive` got in a dead-letter topic.
const redriveGroupPrefix = "eddy-dlq-redrive."

// HeaderRedrivenFrom is added to every redriven record: the dead-letter
// topic, partition and offset it came from.
const HeaderRedrivenFrom = "__dlq.redriven.from"

func newDLQCmd() *cobra.Command {
	cmd := groupCommand("dlq", "Inspect and redrive dead-letter topics of share groups")
	co := addClientFlags(cmd)
	cmd.AddCommand(newDLQPeekCmd(co), newDLQRedriveCmd(co))
	return cmd
}

// dlqRange reads [from, end) of every partition of topic, as the ends are
// when it starts, calling fn for each record.
func dlqRange(ctx context.Context, co *clientOptions, adm *kadm.Client, topic string, from map[int32]int64, fn func(r *kgo.Record) error) error {
	ends, err := adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return co.brokerError("list offsets", err)
	}
	if err := ends.Error(); err != nil {
		return fmt.Errorf("topic %q: %w", topic, err)
	}
	want := map[int32]kgo.Offset{}
	left := map[int32]int64{}
	ends.Each(func(l kadm.ListedOffset) {
		start := from[l.Partition]
		if start < l.Offset {
			want[l.Partition] = kgo.NewOffset().At(start)
			left[l.Partition] = l.Offset
		}
	})
	if len(want) == 0 {
		return nil
	}
	cl, err := co.newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: want}))
	if err != nil {
		return err
	}
	defer cl.Close()
	for len(left) > 0 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return co.brokerError("read "+topic, err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return fmt.Errorf("read %s: %w", topic, ferr)
		}
		for _, r := range fs.Records() {
			end, ok := left[r.Partition]
			if !ok || r.Offset >= end {
				continue
			}
			if err := fn(r); err != nil {
				return err
			}
			if r.Offset+1 >= end {
				delete(left, r.Partition)
			}
		}
	}
	return nil
}

func header(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

func newDLQPeekCmd(co *clientOptions) *cobra.Command {
	var max int
	cmd := &cobra.Command{
		Use:   "peek DLQ_TOPIC",
		Short: "Show a dead-letter topic's records with their failure headers",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			adm, closeAdm, err := co.newAdmin()
			if err != nil {
				return err
			}
			defer closeAdm()
			ctx, cancel := co.requestContext(cmd.Context())
			defer cancel()
			n := 0
			errStop := errors.New("stop")
			err = dlqRange(ctx, co, adm, args[0], nil, func(r *kgo.Record) error {
				if max > 0 && n >= max {
					return errStop
				}
				n++
				writeDLQRecord(cmd.OutOrStdout(), r)
				return nil
			})
			if errors.Is(err, errStop) {
				err = nil
			}
			return err
		},
	}
	cmd.Flags().IntVarP(&max, "max", "n", 0, "show at most this many records (default: all)")
	return cmd
}

func writeDLQRecord(w io.Writer, r *kgo.Record) {
	orig := "-"
	if t := header(r, share.HeaderTopic); t != "" {
		orig = fmt.Sprintf("%s/%s@%s", t, header(r, share.HeaderPartition), header(r, share.HeaderOffset))
	}
	ts := "-"
	if ms, err := strconv.ParseInt(header(r, share.HeaderTimestamp), 10, 64); err == nil {
		ts = time.UnixMilli(ms).UTC().Format(time.RFC3339Nano)
	}
	fmt.Fprintf(w, "%s/%d@%d  group=%s  from=%s  reason=%s  deliveries=%s  produced=%s  dead-lettered=%s\n",
		r.Topic, r.Partition, r.Offset, orDash(header(r, share.HeaderGroup)), orDash(orig), orDash(header(r, share.HeaderReason)),
		orDash(header(r, share.HeaderDeliveryCount)), ts, r.Timestamp.UTC().Format(time.RFC3339Nano))
	fmt.Fprintf(w, "  key: %q\n  value: %q\n", r.Key, r.Value)
	var hs []string
	for _, h := range r.Headers {
		if !strings.HasPrefix(h.Key, "__dlq.") {
			hs = append(hs, fmt.Sprintf("%s=%q", h.Key, h.Value))
		}
	}
	if len(hs) > 0 {
		fmt.Fprintf(w, "  headers: %s\n", strings.Join(hs, " "))
	}
}

// parseOffsetRange parses A-B (inclusive), A- or -B.
func parseOffsetRange(s string) (lo, hi int64, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("--offsets %q: want FIRST-LAST, FIRST- or -LAST", s)
	}
	lo, hi = 0, 1<<62
	if a != "" {
		if lo, err = strconv.ParseInt(a, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("--offsets %q: %w", s, err)
		}
	}
	if b != "" {
		if hi, err = strconv.ParseInt(b, 10, 64); err != nil {
			return 0, 0, fmt.Errorf("--offsets %q: %w", s, err)
		}
	}
	if hi < lo {
		return 0, 0, fmt.Errorf("--offsets %q: last is before first", s)
	}
	return lo, hi, nil
}

func newDLQRedriveCmd(co *clientOptions) *cobra.Command {
	var (
		to      string
		rate    float64
		offsets string
		expr    string
		dryRun  bool
	)
	cmd := &cobra.Command{
		Use:   "redrive DLQ_TOPIC [--to TOPIC] [--rate N] [--offsets FIRST-LAST] [--filter CEL]",
		Short: "Write dead-letter records back to their original topic, once each",
		Long: `Write the records of a dead-letter topic back to the topic they came from
(its __dlq.errors.topic header, same partition) or to --to (partitioned by
key), with their original key, value and headers and a __dlq.redriven.from
header. Progress is committed as the offsets of the consumer group
eddy-dlq-redrive.DLQ_TOPIC after each written batch, so running it again
continues after the last redriven record instead of redriving twice.
--offsets limits it to dead-letter offsets FIRST-LAST and --filter to the
dead letters a CEL expression matches (the variables of eddy consume
--filter; the failure is in headers["__dlq.errors.reason"] and the other
__dlq.errors.* headers): records they skip are passed over for good, as the
progress moves past them. --rate caps records per second.`,
		Example: `  eddy dlq redrive dlq.orders
  eddy dlq redrive dlq.orders --to orders-retry --rate 100
  eddy dlq redrive dlq.orders --filter 'headers["__dlq.errors.reason"] == "delivery_limit"'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dlq := args[0]
			lo, hi := int64(0), int64(1<<62)
			if offsets != "" {
				var err error
				if lo, hi, err = parseOffsetRange(offsets); err != nil {
					return usageError{err}
				}
			}
			if rate < 0 {
				return usageError{errors.New("--rate must not be negative")}
			}
			var prog *filter.Program
			if expr != "" {
				var err error
				if prog, err = filter.Compile(expr); err != nil {
					return usageError{fmt.Errorf("--filter: %w", err)}
				}
			}
			return runRedrive(cmd, co, dlq, to, rate, lo, hi, prog, dryRun)
		},
	}
	f := cmd.Flags()
	f.StringVar(&to, "to", "", "write to this topic instead of each record's original topic")
	f.Float64Var(&rate, "rate", 0, "records per second at most (default: unlimited)")
	f.StringVar(&offsets, "offsets", "", "only dead-letter offsets in FIRST-LAST (inclusive)")
	f.StringVar(&expr, "filter", "", "only dead letters this CEL expression matches")
	f.BoolVar(&dryRun, "dry-run", false, "print what would be redriven without writing or committing")
	return cmd
}

func runRedrive(cmd *cobra.Command, co *clientOptions, dlq, to string, rate float64, lo, hi int64, prog *filter.Program, dryRun bool) error {
	adm, closeAdm, err := co.newAdmin()
	if err != nil {
		return err
	}
	defer closeAdm()
	ctx := cmd.Context()
	group := redriveGroupPrefix + dlq
	fctx, cancel := co.requestContext(ctx)
	committed, err := adm.FetchOffsets(fctx, group)
	cancel()
	if err != nil {
		return co.brokerError("fetch redrive progress", err)
	}
	from := map[int32]int64{}
	committed.Each(func(o kadm.OffsetResponse) {
		if o.Topic == dlq && o.Err == nil && o.At >= 0 {
			from[o.Partition] = o.At
		}
	})
	prodOpts := []kgo.Opt{kgo.RecordPartitioner(kgo.ManualPartitioner())}
	if to != "" {
		prodOpts = []kgo.Opt{}
	}
	prod, err := co.newClient(prodOpts...)
	if err != nil {
		return err
	}
	defer prod.Close()

	out := cmd.OutOrStdout()
	var batch []*kgo.Record
	next := map[int32]int64{}
	n := 0
	flush := func() error {
		if len(batch) > 0 && !dryRun {
			pctx, cancel := co.requestContext(ctx)
			err := prod.ProduceSync(pctx, batch...).FirstErr()
			cancel()
			if err != nil {
				return co.brokerError("redrive", err)
			}
		}
		batch = batch[:0]
		if len(next) == 0 || dryRun {
			return nil
		}
		offs := kadm.Offsets{}
		for p, o := range next {
			offs.AddOffset(dlq, p, o, -1)
		}
		cctx, cancel := co.requestContext(ctx)
		resp, err := adm.CommitOffsets(cctx, group, offs)
		cancel()
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return co.brokerError("commit redrive progress", err)
		}
		return nil
	}
	var tick <-chan time.Time
	if rate > 0 {
		t := time.NewTicker(time.Duration(float64(time.Second) / rate))
		defer t.Stop()
		tick = t.C
	}
	rctx, rcancel := context.WithCancel(ctx)
	defer rcancel()
	err = dlqRange(rctx, co, adm, dlq, from, func(r *kgo.Record) error {
		next[r.Partition] = r.Offset + 1
		if r.Offset < lo || r.Offset > hi {
			return nil
		}
		if prog != nil {
			fr := &filter.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli(), Partition: r.Partition, Offset: r.Offset}
			for _, h := range r.Headers {
				fr.Headers = append(fr.Headers, filter.Header{Key: []byte(h.Key), Value: h.Value})
			}
			if !prog.Match(fr) {
				return nil
			}
		}
		target := to
		part := int32(0)
		if target == "" {
			target = header(r, share.HeaderTopic)
			p, err := strconv.ParseInt(header(r, share.HeaderPartition), 10, 32)
			if target == "" || err != nil {
				return fmt.Errorf("%s/%d@%d has no %s/%s headers: give --to", r.Topic, r.Partition, r.Offset, share.HeaderTopic, share.HeaderPartition)
			}
			part = int32(p)
		}
		nr := &kgo.Record{Topic: target, Partition: part, Key: r.Key, Value: r.Value}
		for _, h := range r.Headers {
			if !strings.HasPrefix(h.Key, "__dlq.") {
				nr.Headers = append(nr.Headers, h)
			}
		}
		nr.Headers = append(nr.Headers, kgo.RecordHeader{Key: HeaderRedrivenFrom, Value: []byte(fmt.Sprintf("%s/%d@%d", r.Topic, r.Partition, r.Offset))})
		if tick != nil {
			select {
			case <-tick:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		batch = append(batch, nr)
		n++
		fmt.Fprintf(out, "%s/%d@%d -> %s\n", r.Topic, r.Partition, r.Offset, target)
		if len(batch) >= 100 {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := flush(); err != nil {
		return err
	}
	if dryRun {
		fmt.Fprintf(out, "(dry run: %d record(s) would be redriven)\n", n)
	} else {
		fmt.Fprintf(out, "redrove %d record(s)\n", n)
	}
	return nil
}
