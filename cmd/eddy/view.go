package main

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/filter"
	"github.com/eddy-streaming/eddy/internal/views"
)

// newViewCmd returns `eddy view`: filtered, read-only topics.
func newViewCmd() *cobra.Command {
	cmd := groupCommand("view", "Create, list, describe, test and delete views (filtered read-only topics)")
	cmd.Long = `A view is a read-only topic made of the records of a source topic that a
CEL filter matches, at their source offsets. Every Kafka consumer reads it
like a topic (consumer groups, committed offsets and lag included); it
stores nothing. See docs/views.md for the filter language.`
	co := addClientFlags(cmd)
	cmd.AddCommand(newViewCreateCmd(co), newViewListCmd(co), newViewDescribeCmd(co), newViewDeleteCmd(co), newViewTestCmd(co))
	return cmd
}

func newViewCreateCmd(co *clientOptions) *cobra.Command {
	var source, expr string
	cmd := &cobra.Command{
		Use:   "create NAME --source TOPIC --filter EXPR",
		Short: "Create a view, or change the filter of an existing one",
		Example: `  eddy view create big-orders --source orders --filter 'value.total > 1000'
  eddy view create cancellations --source orders --filter 'ce.type == "OrderCancelled"'`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if source == "" || expr == "" {
				return usageError{errors.New("--source and --filter are required")}
			}
			adm, ctx, done, err := co.adminSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			created, err := ensureView(ctx, adm, args[0], source, expr)
			if err != nil {
				return err
			}
			if created {
				warnf(cmd, "created view %q of %q", args[0], source)
			} else {
				warnf(cmd, "changed the filter of view %q", args[0])
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the topic the view reads")
	cmd.Flags().StringVar(&expr, "filter", "", "CEL expression selecting records, e.g. 'value.total > 1000'")
	return cmd
}

// ensureView creates view name over source, or sets its filter if it
// exists with that source.
func ensureView(ctx context.Context, adm *kadm.Client, name, source, expr string) (created bool, err error) {
	// kadm returns the topic's error both as err and in res.
	res, err := adm.CreateTopic(ctx, -1, -1, map[string]*string{views.SourceConfig: &source, views.FilterConfig: &expr}, name)
	if err != nil && res.Err == nil {
		return false, fmt.Errorf("create view %q: %w", name, err)
	}
	if res.Err == nil {
		return true, nil
	}
	if !errors.Is(res.Err, kerr.TopicAlreadyExists) {
		return false, fmt.Errorf("create view %q: %w", name, withMessage(res.Err, res.ErrMessage))
	}
	v, err := describeView(ctx, adm, name)
	if err != nil {
		return false, err
	}
	if v.source != source {
		return false, fmt.Errorf("view %q reads %q, not %q; delete it first to change its source", name, v.source, source)
	}
	ar, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: views.FilterConfig, Value: &expr}}, name)
	if err == nil && len(ar) > 0 {
		err = withMessage(ar[0].Err, ar[0].ErrMessage)
	}
	if err != nil {
		return false, fmt.Errorf("change the filter of view %q: %w", name, err)
	}
	return false, nil
}

type viewDesc struct {
	name, source, filter string
}

// describeView returns a view's definition; an error if name is a topic or
// absent.
func describeView(ctx context.Context, adm *kadm.Client, name string) (viewDesc, error) {
	rcs, err := adm.DescribeTopicConfigs(ctx, name)
	if err != nil {
		return viewDesc{}, fmt.Errorf("describe %q: %w", name, err)
	}
	rc, err := rcs.On(name, nil)
	if err != nil || rc.Err != nil {
		if err == nil {
			err = withMessage(rc.Err, rc.ErrMessage)
		}
		if errors.Is(err, kerr.UnknownTopicOrPartition) {
			return viewDesc{}, fmt.Errorf("view %q does not exist", name)
		}
		return viewDesc{}, fmt.Errorf("describe %q: %w", name, err)
	}
	v := viewDesc{name: name}
	for _, c := range rc.Configs {
		switch c.Key {
		case views.SourceConfig:
			v.source = c.MaybeValue()
		case views.FilterConfig:
			v.filter = c.MaybeValue()
		}
	}
	if v.source == "" {
		return viewDesc{}, fmt.Errorf("%q is a topic, not a view", name)
	}
	return v, nil
}

// listViews returns every view, sorted by name.
func listViews(ctx context.Context, adm *kadm.Client) ([]viewDesc, error) {
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		return nil, err
	}
	names := tds.Names()
	if len(names) == 0 {
		return nil, nil
	}
	rcs, err := adm.DescribeTopicConfigs(ctx, names...)
	if err != nil {
		return nil, err
	}
	var out []viewDesc
	for _, rc := range rcs {
		v := viewDesc{name: rc.Name}
		for _, c := range rc.Configs {
			switch c.Key {
			case views.SourceConfig:
				v.source = c.MaybeValue()
			case views.FilterConfig:
				v.filter = c.MaybeValue()
			}
		}
		if v.source != "" {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out, nil
}

func newViewListCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List views with their source and filter",
		Args:  noArgs,
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
			vs, err := listViews(ctx, adm)
			if err != nil {
				return co.brokerError("list views", err)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "VIEW\tSOURCE\tFILTER")
			for _, v := range vs {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", v.name, v.source, v.filter)
			}
			return tw.Flush()
		}),
	}
}

func newViewDescribeCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "describe NAME",
		Short: "Show a view's source, filter, partitions and offsets",
		Args:  exactArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error {
			v, err := describeView(ctx, adm, args[0])
			if err != nil {
				return err
			}
			ends, err := adm.ListEndOffsets(ctx, v.name)
			if err != nil {
				return co.brokerError("list offsets", err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "View:   %s\nSource: %s\nFilter: %s\n", v.name, v.source, v.filter)
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PARTITION\tEND OFFSET (source)")
			ends.Each(func(o kadm.ListedOffset) { fmt.Fprintf(tw, "%d\t%d\n", o.Partition, o.Offset) })
			return tw.Flush()
		}),
	}
}

func newViewDeleteCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete views (never their source topics)",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, names []string) error {
			var errs []error
			for _, n := range names {
				// Refuse topics: `eddy view delete` must never delete data.
				if _, err := describeView(ctx, adm, n); err != nil {
					errs = append(errs, err)
					continue
				}
				r, err := adm.DeleteTopic(ctx, n)
				if err == nil {
					err = withMessage(r.Err, r.ErrMessage)
				}
				if err != nil {
					errs = append(errs, fmt.Errorf("delete view %q: %w", n, err))
					continue
				}
				warnf(cmd, "deleted view %q", n)
			}
			return errors.Join(errs...)
		}),
	}
}

func newViewTestCmd(co *clientOptions) *cobra.Command {
	var source, expr string
	var limit int
	cmd := &cobra.Command{
		Use:   "test --source TOPIC --filter EXPR [--limit N]",
		Short: "Show which of a topic's last records a filter matches",
		Long: `Read the last --limit records of every partition of --source and print
each with "match", "no match" or the evaluation error, so a filter can be
tried before a view is created with it. The filter is compiled and run
exactly as the server runs it.`,
		Example: `  eddy view test --source orders --filter 'value.total > 1000' --limit 20`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if source == "" || expr == "" {
				return usageError{errors.New("--source and --filter are required")}
			}
			if limit <= 0 {
				return usageError{fmt.Errorf("--limit %d: want a positive number", limit)}
			}
			prog, err := filter.Compile(expr)
			if err != nil {
				return err
			}
			return runViewTest(cmd, co, source, prog, limit)
		},
	}
	cmd.Flags().StringVar(&source, "source", "", "the topic to read")
	cmd.Flags().StringVar(&expr, "filter", "", "CEL expression to try")
	cmd.Flags().IntVarP(&limit, "limit", "n", 10, "records to read from the end of each partition")
	return cmd
}

func runViewTest(cmd *cobra.Command, co *clientOptions, source string, prog *filter.Program, limit int) error {
	adm, ctx, done, err := co.adminSession(cmd.Context())
	if err != nil {
		return err
	}
	defer done()
	starts, err := adm.ListStartOffsets(ctx, source)
	if err != nil {
		return co.brokerError("list offsets", err)
	}
	ends, err := adm.ListEndOffsets(ctx, source)
	if err != nil {
		return co.brokerError("list offsets", err)
	}
	if len(ends[source]) == 0 {
		return fmt.Errorf("topic %q does not exist", source)
	}
	want := map[int32]int64{} // partition -> end
	parts := map[int32]kgo.Offset{}
	var errs []error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			errs = append(errs, fmt.Errorf("partition %d: %w", e.Partition, e.Err))
			return
		}
		s, _ := starts.Lookup(source, e.Partition)
		from := max(e.Offset-int64(limit), s.Offset)
		if from < e.Offset {
			want[e.Partition] = e.Offset
			parts[e.Partition] = kgo.NewOffset().At(from)
		}
	})
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	out := cmd.OutOrStdout()
	if len(parts) == 0 {
		fmt.Fprintf(out, "topic %q has no records\n", source)
		return nil
	}
	cl, err := co.newClient(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{source: parts}))
	if err != nil {
		return err
	}
	defer cl.Close()
	pctx, cancel := context.WithTimeout(cmd.Context(), co.timeout+10*time.Second)
	defer cancel()
	matched, total := 0, 0
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PARTITION\tOFFSET\tKEY\tRESULT")
	for len(want) > 0 {
		fs := cl.PollFetches(pctx)
		if pctx.Err() != nil {
			return fmt.Errorf("read %q: %w", source, pctx.Err())
		}
		var ferr error
		fs.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("read %s[%d]: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		for _, r := range fs.Records() {
			end, ok := want[r.Partition]
			if !ok {
				continue
			}
			if r.Offset+1 >= end {
				delete(want, r.Partition)
			}
			fr := filter.Record{Key: r.Key, Value: r.Value, Timestamp: r.Timestamp.UnixMilli(), Partition: r.Partition, Offset: r.Offset}
			for _, h := range r.Headers {
				fr.Headers = append(fr.Headers, filter.Header{Key: []byte(h.Key), Value: h.Value})
			}
			ok, err := prog.Eval(&fr)
			res := "no match"
			switch {
			case err != nil:
				res = "error: " + errors.Unwrap(err).Error()
			case ok:
				res = "match"
				matched++
			}
			total++
			fmt.Fprintf(tw, "%d\t%d\t%s\t%s\n", r.Partition, r.Offset, r.Key, res)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(out, "%d of %d records match\n", matched, total)
	return nil
}

// filteredView returns the view `eddy consume --filter` reads: for a group,
// one named after the topic and filter (kept, so the group resumes on it);
// otherwise a fresh one, deleted when the consumer exits.
func filteredView(topic, expr, group string) (name string, temporary bool) {
	if group != "" {
		sum := sha256.Sum256([]byte(topic + "\x00" + expr))
		return topic + ".filter-" + hex.EncodeToString(sum[:6]), false
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	return topic + ".consume-" + hex.EncodeToString(b[:]), true
}

// consumeThroughView creates the view `eddy consume --filter` reads and
// returns its name and a function that deletes it if it is temporary.
// Printed records then carry the source's offsets; their topic is the
// view's name.
func consumeThroughView(cmd *cobra.Command, co *clientOptions, topic string, o *consumeOptions) (string, func(), error) {
	adm, ctx, done, err := co.adminSession(cmd.Context())
	if err != nil {
		return "", nil, err
	}
	name, temporary := filteredView(topic, o.filter, o.group)
	if _, err := ensureView(ctx, adm, name, topic, o.filter); err != nil {
		done()
		return "", nil, err
	}
	cleanup := func() {
		defer done()
		if !temporary {
			return
		}
		cctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), co.timeout)
		defer cancel()
		if _, err := adm.DeleteTopic(cctx, name); err != nil {
			warnf(cmd, "delete temporary view %q: %v", name, err)
		}
	}
	return name, cleanup, nil
}
