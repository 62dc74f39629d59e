package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// newTopicCmd returns `eddy topic`, the topic administration commands.
func newTopicCmd() *cobra.Command {
	cmd := groupCommand("topic", "Create, list, describe, alter and delete topics")
	co := addClientFlags(cmd)
	cmd.AddCommand(
		newTopicCreateCmd(co),
		newTopicListCmd(co),
		newTopicDescribeCmd(co),
		newTopicAlterCmd(co),
		newTopicDeleteCmd(co),
	)
	return cmd
}

// withMessage joins a Kafka error with the broker's error message, if any:
// the broker's message says what was wrong, the code name follows it.
func withMessage(err error, msg string) error {
	if err == nil || msg == "" || strings.Contains(err.Error(), msg) {
		return err
	}
	return brokerMessageError{err: err, msg: msg}
}

// brokerMessageError is a Kafka error code with the broker's message.
type brokerMessageError struct {
	err error
	msg string
}

func (e brokerMessageError) Error() string {
	if ke, ok := errors.AsType[*kerr.Error](e.err); ok {
		return e.msg + " (" + ke.Message + ")"
	}
	return e.msg + ": " + e.err.Error()
}

func (e brokerMessageError) Unwrap() error { return e.err }

func newTopicCreateCmd(co *clientOptions) *cobra.Command {
	var (
		partitions  int32
		replication int16
		configs     []string
		ifNotExists bool
	)
	cmd := &cobra.Command{
		Use:   "create TOPIC...",
		Short: "Create topics",
		Example: `  eddy topic create order-events --partitions 3
  eddy topic create audit --config retention.ms=-1 --config eddy.fsync=always`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, topics []string) error {
			kvs, err := parseKeyValues("config", configs)
			if err != nil {
				return err
			}
			if partitions == 0 || partitions < -1 {
				return usageError{fmt.Errorf("--partitions %d: want a positive count, or -1 for the server default", partitions)}
			}
			cfg := make(map[string]*string, len(kvs))
			for _, kv := range kvs {
				cfg[kv[0]] = kadm.StringPtr(kv[1])
			}
			adm, ctx, done, err := co.adminSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			resps, err := adm.CreateTopics(ctx, partitions, replication, cfg, topics...)
			if err != nil {
				return co.brokerError("create topics", err)
			}
			var errs []error
			for _, t := range topics {
				r, ok := resps[t]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("create topic %q: missing from the response", t))
				case errors.Is(r.Err, kerr.TopicAlreadyExists) && ifNotExists:
				case r.Err != nil:
					errs = append(errs, fmt.Errorf("create topic %q: %w", t, withMessage(r.Err, r.ErrMessage)))
				default:
					if r.NumPartitions > 0 {
						warnf(cmd, "created topic %q with %d partition(s)", t, r.NumPartitions)
					} else {
						warnf(cmd, "created topic %q", t)
					}
				}
			}
			return errors.Join(errs...)
		},
	}
	cmd.Flags().Int32VarP(&partitions, "partitions", "p", -1, "number of partitions (-1: the server's default)")
	cmd.Flags().Int16Var(&replication, "replication-factor", -1, "replicas per partition (-1: the server's default)")
	cmd.Flags().StringArrayVarP(&configs, "config", "c", nil, "topic config key=value (repeatable), e.g. retention.ms=86400000")
	cmd.Flags().BoolVar(&ifNotExists, "if-not-exists", false, "succeed if the topic already exists")
	return cmd
}

func newTopicListCmd(co *clientOptions) *cobra.Command {
	var long, internal bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List topics (names only, one per line; --long for a table)",
		Args:  noArgs,
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
			var tds kadm.TopicDetails
			var err error
			if internal {
				tds, err = adm.ListTopicsWithInternal(ctx)
			} else {
				tds, err = adm.ListTopics(ctx)
			}
			if err != nil {
				return co.brokerError("list topics", err)
			}
			out := cmd.OutOrStdout()
			if !long {
				for _, name := range tds.Names() {
					fmt.Fprintln(out, name)
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITIONS\tREPLICAS")
			for _, name := range tds.Names() {
				td := tds[name]
				fmt.Fprintf(tw, "%s\t%d\t%d\n", name, len(td.Partitions), td.Partitions.NumReplicas())
			}
			return tw.Flush()
		}),
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, "print a table with partition and replica counts")
	cmd.Flags().BoolVar(&internal, "internal", false, "include internal topics")
	return cmd
}

func newTopicDescribeCmd(co *clientOptions) *cobra.Command {
	var allConfigs bool
	cmd := &cobra.Command{
		Use:   "describe [TOPIC...]",
		Short: "Show topics' partitions, offsets and configs (all topics if none named)",
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, topics []string) error {
			tds, err := adm.ListTopics(ctx, topics...)
			if err != nil {
				return co.brokerError("describe topics", err)
			}
			var errs []error
			var names []string
			if len(topics) == 0 {
				names = tds.Names()
			} else {
				names = topics
			}
			var found []string
			for _, t := range names {
				td, ok := tds[t]
				switch {
				case !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition):
					errs = append(errs, fmt.Errorf("topic %q does not exist", t))
				case td.Err != nil:
					errs = append(errs, fmt.Errorf("describe topic %q: %w", t, td.Err))
				default:
					found = append(found, t)
				}
			}
			if len(found) == 0 {
				return errors.Join(errs...)
			}
			starts, err := adm.ListStartOffsets(ctx, found...)
			if err != nil {
				return co.brokerError("list start offsets", err)
			}
			ends, err := adm.ListEndOffsets(ctx, found...)
			if err != nil {
				return co.brokerError("list end offsets", err)
			}
			rcs, err := adm.DescribeTopicConfigs(ctx, found...)
			if err != nil {
				return co.brokerError("describe topic configs", err)
			}
			out := cmd.OutOrStdout()
			for i, t := range found {
				if i > 0 {
					fmt.Fprintln(out)
				}
				td := tds[t]
				fmt.Fprintf(out, "Topic: %s\tPartitions: %d\tReplicationFactor: %d\n", t, len(td.Partitions), td.Partitions.NumReplicas())
				rc, cerr := rcs.On(t, nil)
				switch {
				case cerr != nil:
					errs = append(errs, fmt.Errorf("describe configs of %q: %w", t, cerr))
				case rc.Err != nil:
					errs = append(errs, fmt.Errorf("describe configs of %q: %w", t, withMessage(rc.Err, rc.ErrMessage)))
				default:
					writeConfigs(out, rc.Configs, allConfigs)
				}
				tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "PARTITION\tLEADER\tREPLICAS\tISR\tSTART\tEND\tRECORDS")
				for _, p := range td.Partitions.Sorted() {
					s, sok := starts.Lookup(t, p.Partition)
					e, eok := ends.Lookup(t, p.Partition)
					start, end, n := "?", "?", "?"
					if sok && s.Err == nil {
						start = fmt.Sprint(s.Offset)
					}
					if eok && e.Err == nil {
						end = fmt.Sprint(e.Offset)
					}
					if sok && eok && s.Err == nil && e.Err == nil {
						n = fmt.Sprint(e.Offset - s.Offset)
					}
					fmt.Fprintf(tw, "%d\t%d\t%v\t%v\t%s\t%s\t%s\n", p.Partition, p.Leader, p.Replicas, p.ISR, start, end, n)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		}),
	}
	cmd.Flags().BoolVar(&allConfigs, "all-configs", false, "show every config, not only those set on the topic")
	return cmd
}

// writeConfigs prints a topic's configs one per line, by default only
// those set on the topic itself.
func writeConfigs(w io.Writer, cs []kadm.Config, all bool) {
	var parts []string
	for _, c := range cs {
		if !all && c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			continue
		}
		v := "<nil>"
		switch {
		case c.Sensitive:
			v = "<sensitive>"
		case c.Value != nil:
			v = *c.Value
		}
		parts = append(parts, c.Key+"="+v)
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		fmt.Fprintln(w, "Configs: (defaults)")
		return
	}
	fmt.Fprintln(w, "Configs:")
	for _, p := range parts {
		fmt.Fprintf(w, "  %s\n", p)
	}
}

func newTopicAlterCmd(co *clientOptions) *cobra.Command {
	var (
		partitions int
		configs    []string
		deletes    []string
	)
	cmd := &cobra.Command{
		Use:   "alter TOPIC",
		Short: "Add partitions to a topic or change its configs",
		Example: `  eddy topic alter order-events --partitions 6
  eddy topic alter order-events --config retention.ms=3600000 --delete-config segment.bytes`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			topic := args[0]
			kvs, err := parseKeyValues("config", configs)
			if err != nil {
				return err
			}
			if partitions == 0 && len(kvs) == 0 && len(deletes) == 0 {
				return usageError{errors.New("nothing to alter: give --partitions, --config or --delete-config")}
			}
			if partitions < 0 {
				return usageError{fmt.Errorf("--partitions %d: want the new, larger partition count", partitions)}
			}
			adm, ctx, done, err := co.adminSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			if partitions > 0 {
				resps, err := adm.UpdatePartitions(ctx, partitions, topic)
				if err != nil {
					return co.brokerError("update partitions", err)
				}
				r, ok := resps[topic]
				if !ok {
					return fmt.Errorf("update partitions of %q: missing from the response", topic)
				}
				if r.Err != nil {
					return fmt.Errorf("update partitions of %q: %w", topic, withMessage(r.Err, r.ErrMessage))
				}
				warnf(cmd, "topic %q now has %d partitions", topic, partitions)
			}
			if len(kvs) == 0 && len(deletes) == 0 {
				return nil
			}
			var alters []kadm.AlterConfig
			for _, kv := range kvs {
				alters = append(alters, kadm.AlterConfig{Op: kadm.SetConfig, Name: kv[0], Value: kadm.StringPtr(kv[1])})
			}
			for _, k := range deletes {
				alters = append(alters, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: k})
			}
			resps, err := adm.AlterTopicConfigs(ctx, alters, topic)
			if err != nil {
				return co.brokerError("alter configs", err)
			}
			r, err := resps.On(topic, nil)
			if err != nil {
				return fmt.Errorf("alter configs of %q: %w", topic, err)
			}
			if r.Err != nil {
				return fmt.Errorf("alter configs of %q: %w", topic, withMessage(r.Err, r.ErrMessage))
			}
			warnf(cmd, "altered %d config(s) of topic %q", len(alters), topic)
			return nil
		},
	}
	cmd.Flags().IntVarP(&partitions, "partitions", "p", 0, "grow the topic to this many partitions")
	cmd.Flags().StringArrayVarP(&configs, "config", "c", nil, "set topic config key=value (repeatable)")
	cmd.Flags().StringArrayVar(&deletes, "delete-config", nil, "remove a topic config override, restoring the default (repeatable)")
	return cmd
}

func newTopicDeleteCmd(co *clientOptions) *cobra.Command {
	var ifExists bool
	cmd := &cobra.Command{
		Use:   "delete TOPIC...",
		Short: "Delete topics and all their records",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, topics []string) error {
			resps, err := adm.DeleteTopics(ctx, topics...)
			if err != nil {
				return co.brokerError("delete topics", err)
			}
			var errs []error
			for _, t := range topics {
				r, ok := resps[t]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("delete topic %q: missing from the response", t))
				case errors.Is(r.Err, kerr.UnknownTopicOrPartition) && ifExists:
				case errors.Is(r.Err, kerr.UnknownTopicOrPartition):
					errs = append(errs, fmt.Errorf("topic %q does not exist", t))
				case r.Err != nil:
					errs = append(errs, fmt.Errorf("delete topic %q: %w", t, withMessage(r.Err, r.ErrMessage)))
				default:
					warnf(cmd, "deleted topic %q", t)
				}
			}
			return errors.Join(errs...)
		}),
	}
	cmd.Flags().BoolVar(&ifExists, "if-exists", false, "succeed if the topic does not exist")
	return cmd
}
