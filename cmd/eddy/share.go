package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func newShareGroupCmd() *cobra.Command {
	cmd := groupCommand("share-group", "List, describe, reset and delete share groups (queues)")
	co := addClientFlags(cmd)
	cmd.AddCommand(
		newShareGroupListCmd(co),
		newShareGroupDescribeCmd(co),
		newShareGroupResetCmd(co),
		newShareGroupDeleteCmd(co),
	)
	return cmd
}

func newShareGroupListCmd(co *clientOptions) *cobra.Command {
	return groupListCmd(co, "share groups", []string{"share"}, false)
}

func newShareGroupDescribeCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show a share group's members, assignments, start offsets and lag",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, groups []string) error {
			described, err := adm.DescribeShareGroups(ctx, groups...)
			if err != nil && len(described) == 0 {
				return co.brokerError("describe share groups", err)
			}
			offsets, err := adm.DescribeShareGroupOffsets(ctx, groups...)
			if err != nil && len(offsets) == 0 {
				return co.brokerError("describe share group offsets", err)
			}
			var errs []error
			out := cmd.OutOrStdout()
			for i, g := range groups {
				d, ok := described[g]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("describe share group %q: missing from the response", g))
					continue
				case errors.Is(d.Err, kerr.GroupIDNotFound):
					errs = append(errs, fmt.Errorf("share group %q does not exist", g))
					continue
				case d.Err != nil:
					errs = append(errs, fmt.Errorf("describe share group %q: %w", g, d.Err))
					continue
				}
				if i > 0 {
					fmt.Fprintln(out)
				}
				if err := writeShareGroup(out, &d, offsets[g]); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		}),
	}
}

func writeShareGroup(w io.Writer, d *kadm.DescribedShareGroup, o kadm.DescribedShareGroupOffsets) error {
	fmt.Fprintf(w, "Share group: %s\tState: %s\tEpoch: %d\tMembers: %d\n", d.GroupID, d.GroupState, d.GroupEpoch, len(d.Members))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(d.Members) > 0 {
		fmt.Fprintln(tw, "MEMBER-ID\tCLIENT-ID\tHOST\tASSIGNMENTS")
		for _, m := range d.Members {
			var parts []string
			m.Assignment.EachPartitions(func(t string, ps []int32) {
				sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
				nums := make([]string, len(ps))
				for i, p := range ps {
					nums[i] = strconv.Itoa(int(p))
				}
				parts = append(parts, t+"["+strings.Join(nums, ",")+"]")
			})
			sort.Strings(parts)
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", m.MemberID, m.ClientID, m.ClientHost, orDash(strings.Join(parts, " ")))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tSTART-OFFSET\tLAG")
	var total int64
	for _, so := range o.Offsets.Sorted() {
		start, lag := "-", "-"
		if so.StartOffset >= 0 {
			start = strconv.FormatInt(so.StartOffset, 10)
		}
		if so.Lag >= 0 {
			lag = strconv.FormatInt(so.Lag, 10)
			total += so.Lag
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", so.Topic, so.Partition, start, lag)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Total lag: %d\n", total)
	return nil
}

func newShareGroupResetCmd(co *clientOptions) *cobra.Command {
	var (
		topic            string
		earliest, latest bool
		toOffset         int64
		dryRun           bool
	)
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC (--to-earliest | --to-latest | --to-offset N)",
		Short: "Move a stopped share group's start offsets",
		Long: `Move a share group's start offsets for every partition of a topic, forgetting
the records in flight there. As in Kafka, this is refused while the group has
members: stop its consumers first. With --dry-run nothing changes.`,
		Example: `  eddy share-group reset-offsets workers --topic jobs --to-latest`,
		Args:    exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			group := args[0]
			if topic == "" {
				return usageError{errors.New("--topic is required")}
			}
			modes := 0
			for _, set := range []bool{earliest, latest, cmd.Flags().Changed("to-offset")} {
				if set {
					modes++
				}
			}
			if modes != 1 {
				return usageError{errors.New("give exactly one of --to-earliest, --to-latest, --to-offset")}
			}
			adm, ctx, done, err := co.adminSession(cmd.Context())
			if err != nil {
				return err
			}
			defer done()
			var listed kadm.ListedOffsets
			if latest {
				listed, err = adm.ListEndOffsets(ctx, topic)
			} else {
				listed, err = adm.ListStartOffsets(ctx, topic)
			}
			if err != nil {
				return co.brokerError("list offsets", err)
			}
			if err := listed.Error(); err != nil {
				return fmt.Errorf("topic %q: %w", topic, err)
			}
			var ends kadm.ListedOffsets
			if cmd.Flags().Changed("to-offset") {
				if ends, err = adm.ListEndOffsets(ctx, topic); err != nil {
					return co.brokerError("list offsets", err)
				}
			}
			offs := kadm.Offsets{}
			out := cmd.OutOrStdout()
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "TOPIC\tPARTITION\tNEW-START-OFFSET")
			listed.Each(func(l kadm.ListedOffset) {
				at := l.Offset
				if cmd.Flags().Changed("to-offset") {
					e, _ := ends.Lookup(l.Topic, l.Partition)
					at = max(l.Offset, min(toOffset, e.Offset))
				}
				offs.AddOffset(l.Topic, l.Partition, at, -1)
				fmt.Fprintf(tw, "%s\t%d\t%d\n", l.Topic, l.Partition, at)
			})
			if err := tw.Flush(); err != nil {
				return err
			}
			if dryRun {
				fmt.Fprintln(out, "(dry run: nothing changed)")
				return nil
			}
			resp, err := adm.AlterShareGroupOffsets(ctx, group, offs)
			if err != nil {
				return co.brokerError("alter share group offsets", err)
			}
			if err := resp.Error(); err != nil {
				if errors.Is(err, kerr.NonEmptyGroup) {
					return fmt.Errorf("share group %q has members: stop its consumers before resetting offsets", group)
				}
				return fmt.Errorf("reset share group %q: %w", group, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&topic, "topic", "t", "", "topic whose start offsets to move (required)")
	f.BoolVar(&earliest, "to-earliest", false, "move to each partition's oldest record")
	f.BoolVar(&latest, "to-latest", false, "move to each partition's end (skip everything)")
	f.Int64Var(&toOffset, "to-offset", 0, "move to this offset (clamped to each partition's start and end)")
	f.BoolVar(&dryRun, "dry-run", false, "print the new offsets without changing them")
	return cmd
}

func newShareGroupDeleteCmd(co *clientOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete empty share groups and their state",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, groups []string) error {
			return deleteShareGroups(ctx, adm, co, groups)
		}),
	}
}

func deleteShareGroups(ctx context.Context, adm *kadm.Client, co *clientOptions, groups []string) error {
	resp, err := adm.DeleteGroups(ctx, groups...)
	if err != nil {
		return co.brokerError("delete share groups", err)
	}
	var errs []error
	for _, g := range groups {
		r, ok := resp[g]
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("delete %q: missing from the response", g))
		case errors.Is(r.Err, kerr.NonEmptyGroup):
			errs = append(errs, fmt.Errorf("share group %q has members: stop its consumers first", g))
		case errors.Is(r.Err, kerr.GroupIDNotFound):
			errs = append(errs, fmt.Errorf("share group %q does not exist", g))
		case r.Err != nil:
			errs = append(errs, fmt.Errorf("delete %q: %w", g, r.Err))
		}
	}
	return errors.Join(errs...)
}
