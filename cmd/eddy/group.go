package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// newGroupCmd returns `eddy group`, the consumer group administration
// commands. They speak plain Kafka admin APIs, so they work against any
// Kafka-compatible broker.
func newGroupCmd() *cobra.Command {
	cmd := groupCommand("group", "List, describe, reset and delete consumer groups")
	co := addClientFlags(cmd)
	cmd.AddCommand(
		newGroupListCmd(co),
		newGroupDescribeCmd(co),
		newGroupResetCmd(co),
		newGroupDeleteCmd(co),
	)
	return cmd
}

// newGroupListCmd is `eddy group list`: consumer groups only (classic and
// KIP-848), as kafka-consumer-groups --list; share groups are listed by
// eddy share-group list.
func newGroupListCmd(co *clientOptions) *cobra.Command {
	return groupListCmd(co, "consumer groups", []string{"classic", "consumer"}, true)
}

// groupListCmd is a `list` command for the groups of the given types: their
// names, or with --long a table of state (and protocol type when
// withProtocol).
func groupListCmd(co *clientOptions, what string, types []string, withProtocol bool) *cobra.Command {
	var long bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List " + what + " (names only, one per line; --long for a table)",
		Args:  noArgs,
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, _ []string) error {
			groups, err := adm.ListGroupsByType(ctx, types)
			if err != nil {
				return co.brokerError("list "+what, err)
			}
			out := cmd.OutOrStdout()
			if !long {
				for _, g := range groups.Sorted() {
					fmt.Fprintln(out, g.Group)
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			if withProtocol {
				fmt.Fprintln(tw, "GROUP\tSTATE\tPROTOCOL-TYPE")
			} else {
				fmt.Fprintln(tw, "GROUP\tSTATE")
			}
			for _, g := range groups.Sorted() {
				if withProtocol {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", g.Group, orDash(g.State), orDash(g.ProtocolType))
				} else {
					fmt.Fprintf(tw, "%s\t%s\n", g.Group, orDash(g.State))
				}
			}
			return tw.Flush()
		}),
	}
	help := "print a table with the state"
	if withProtocol {
		help = "print a table with state and protocol type"
	}
	cmd.Flags().BoolVarP(&long, "long", "l", false, help)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// groupMissing reports whether a described group does not exist: Kafka
// describes an unknown group as Dead with no members rather than failing.
func groupMissing(state string, members int, lag kadm.GroupLag) bool {
	return (state == "Dead" || state == "") && members == 0 && len(lag) == 0
}

func newGroupDescribeCmd(co *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "describe GROUP...",
		Short: "Show a group's state, members, assignments, committed offsets and lag",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, groups []string) error {
			lags, err := adm.Lag(ctx, groups...)
			if err != nil {
				return co.brokerError("describe groups", err)
			}
			var errs []error
			out := cmd.OutOrStdout()
			first := true
			for _, g := range groups {
				l, ok := lags[g]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("describe group %q: missing from the response", g))
					continue
				case errors.Is(l.Error(), kerr.GroupIDNotFound):
					errs = append(errs, fmt.Errorf("group %q does not exist", g))
					continue
				case l.Error() != nil:
					errs = append(errs, fmt.Errorf("describe group %q: %w", g, l.Error()))
					continue
				case groupMissing(l.State, len(l.Members), l.Lag):
					errs = append(errs, fmt.Errorf("group %q does not exist", g))
					continue
				}
				if !first {
					fmt.Fprintln(out)
				}
				first = false
				if err := writeGroup(out, &l); err != nil {
					return err
				}
			}
			return errors.Join(errs...)
		}),
	}
	return cmd
}

// writeGroup prints one described group with its lag.
func writeGroup(w io.Writer, l *kadm.DescribedGroupLag) error {
	proto := l.ProtocolType
	if l.Protocol != "" {
		proto += "/" + l.Protocol
	}
	fmt.Fprintf(w, "Group: %s\tState: %s\tProtocol: %s\tMembers: %d\tCoordinator: %d\n",
		l.Group, l.State, orDash(proto), len(l.Members), l.Coordinator.NodeID)

	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(l.Members) > 0 {
		fmt.Fprintln(tw, "MEMBER-ID\tINSTANCE-ID\tCLIENT-ID\tHOST\tASSIGNMENTS")
		for _, m := range l.Members {
			inst := "-"
			if m.InstanceID != nil {
				inst = *m.InstanceID
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", m.MemberID, inst, m.ClientID, m.ClientHost, assignmentString(m))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tCOMMITTED\tEND\tLAG\tMEMBER-ID\tCLIENT-ID\tHOST")
	for _, ml := range l.Lag.Sorted() {
		committed, lag := "-", "-"
		if ml.Commit.At >= 0 {
			committed = strconv.FormatInt(ml.Commit.At, 10)
		}
		if ml.Err == nil && ml.Lag >= 0 {
			lag = strconv.FormatInt(ml.Lag, 10)
		}
		end := "-"
		if ml.End.Err == nil {
			end = strconv.FormatInt(ml.End.Offset, 10)
		}
		member, client, host := "-", "-", "-"
		if ml.Member != nil {
			member, client, host = ml.Member.MemberID, ml.Member.ClientID, ml.Member.ClientHost
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n", ml.Topic, ml.Partition, committed, end, lag, member, client, host)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "Total lag: %d\n", l.Lag.Total())
	return nil
}

// assignmentString renders a member's assignment as topic[0,1] topic2[3].
func assignmentString(m kadm.DescribedGroupMember) string {
	c, ok := m.Assigned.AsConsumer()
	if !ok || len(c.Topics) == 0 {
		return "-"
	}
	var parts []string
	for _, t := range c.Topics {
		ps := slices.Clone(t.Partitions)
		slices.Sort(ps)
		nums := make([]string, len(ps))
		for i, p := range ps {
			nums[i] = strconv.Itoa(int(p))
		}
		parts = append(parts, t.Topic+"["+strings.Join(nums, ",")+"]")
	}
	slices.Sort(parts)
	return strings.Join(parts, " ")
}

// resetOptions are the flags of `eddy group reset-offsets`.
type resetOptions struct {
	topic      string
	partitions []int
	earliest   bool
	latest     bool
	toOffset   int64
	toDatetime string
	shiftBy    int64
	dryRun     bool
}

func newGroupResetCmd(co *clientOptions) *cobra.Command {
	var o resetOptions
	cmd := &cobra.Command{
		Use:   "reset-offsets GROUP --topic TOPIC (--to-earliest | --to-latest | --to-offset N | --to-datetime TIME | --shift-by N)",
		Short: "Move a stopped group's committed offsets",
		Long: `Move a group's committed offsets for a topic (or some of its partitions).

As in Kafka, this is refused while the group has members: stop its consumers
first. The old and new offsets are printed; with --dry-run nothing is
committed. --to-offset and --shift-by are clamped to each partition's start
and end; --shift-by moves committed offsets by N (negative: back), so it
needs a committed offset on every partition it moves.
--to-datetime takes RFC 3339 (2026-01-02T15:04:05Z), a local
2026-01-02T15:04:05 or 2026-01-02, or Unix milliseconds, and moves to the
first record at or after that time (the end if there is none).`,
		Example: `  eddy group reset-offsets order-processor --topic order-events --to-earliest --dry-run
  eddy group reset-offsets order-processor --topic order-events --to-datetime 2026-11-25T09:00:00Z`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runGroupReset(cmd, args[0], &o, co)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.topic, "topic", "t", "", "topic whose offsets to move (required)")
	f.IntSliceVarP(&o.partitions, "partition", "p", nil, "only these partitions (repeatable or comma-separated; default: all)")
	f.BoolVar(&o.earliest, "to-earliest", false, "move to each partition's oldest record")
	f.BoolVar(&o.latest, "to-latest", false, "move to each partition's end (skip everything)")
	f.Int64Var(&o.toOffset, "to-offset", 0, "move to this offset (clamped to each partition's start and end)")
	f.StringVar(&o.toDatetime, "to-datetime", "", "move to the first record at or after this time")
	f.Int64Var(&o.shiftBy, "shift-by", 0, "move each committed offset by this many records (negative: back)")
	f.BoolVar(&o.dryRun, "dry-run", false, "print the new offsets without committing them")
	return cmd
}

// parseDatetime accepts the --to-datetime forms.
func parseDatetime(s string) (time.Time, error) {
	if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(ms), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05.000", "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("cannot parse %q as a time", s)
}

func runGroupReset(cmd *cobra.Command, group string, o *resetOptions, co *clientOptions) error {
	if o.topic == "" {
		return usageError{errors.New("--topic is required")}
	}
	modes := 0
	shift := cmd.Flags().Changed("shift-by")
	for _, set := range []bool{o.earliest, o.latest, cmd.Flags().Changed("to-offset"), o.toDatetime != "", shift} {
		if set {
			modes++
		}
	}
	if modes != 1 {
		return usageError{errors.New("give exactly one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by")}
	}
	if cmd.Flags().Changed("to-offset") && o.toOffset < 0 {
		return usageError{fmt.Errorf("--to-offset %d: want a non-negative offset", o.toOffset)}
	}
	var at time.Time
	if o.toDatetime != "" {
		var err error
		if at, err = parseDatetime(o.toDatetime); err != nil {
			return usageError{fmt.Errorf("--to-datetime: %w", err)}
		}
	}

	adm, ctx, done, err := co.adminSession(cmd.Context())
	if err != nil {
		return err
	}
	defer done()

	// Kafka refuses to move offsets under a live group; so do we, and
	// before the commit, so that the message says why.
	described, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return co.brokerError("describe group", err)
	}
	if d, ok := described[group]; ok {
		switch {
		case errors.Is(d.Err, kerr.GroupIDNotFound):
			// A group that does not exist yet gets its first offsets.
		case d.Err != nil:
			return fmt.Errorf("describe group %q: %w", group, withMessage(d.Err, d.ErrMessage))
		}
		if len(d.Members) > 0 || (d.State != "Empty" && d.State != "Dead" && d.State != "") {
			return fmt.Errorf("group %q is %s with %d member(s): stop its consumers before resetting offsets", group, d.State, len(d.Members))
		}
	}

	tds, err := adm.ListTopics(ctx, o.topic)
	if err != nil {
		return co.brokerError("look up topic", err)
	}
	td, ok := tds[o.topic]
	if !ok || errors.Is(td.Err, kerr.UnknownTopicOrPartition) {
		return fmt.Errorf("topic %q does not exist", o.topic)
	}
	if td.Err != nil {
		return fmt.Errorf("look up topic %q: %w", o.topic, td.Err)
	}
	var partitions []int32
	for _, p := range o.partitions {
		if _, ok := td.Partitions[int32(p)]; !ok || p < 0 || p > math.MaxInt32 {
			return fmt.Errorf("topic %q has no partition %d", o.topic, p)
		}
		partitions = append(partitions, int32(p))
	}
	if len(partitions) == 0 {
		partitions = td.Partitions.Numbers()
	}
	slices.Sort(partitions)

	current, err := adm.FetchOffsetsForTopics(ctx, group, o.topic)
	if err != nil {
		return co.brokerError("fetch committed offsets", err)
	}
	starts, err := adm.ListStartOffsets(ctx, o.topic)
	if err != nil {
		return co.brokerError("list start offsets", err)
	}
	ends, err := adm.ListEndOffsets(ctx, o.topic)
	if err != nil {
		return co.brokerError("list end offsets", err)
	}
	var byTime kadm.ListedOffsets
	if o.toDatetime != "" {
		if byTime, err = adm.ListOffsetsAfterMilli(ctx, at.UnixMilli(), o.topic); err != nil {
			return co.brokerError("list offsets by time", err)
		}
	}

	next := make(kadm.Offsets)
	tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tPARTITION\tOLD-OFFSET\tNEW-OFFSET")
	for _, p := range partitions {
		s, sok := starts.Lookup(o.topic, p)
		e, eok := ends.Lookup(o.topic, p)
		if !sok || !eok || s.Err != nil || e.Err != nil {
			return fmt.Errorf("list offsets of %s[%d]: %v %v", o.topic, p, s.Err, e.Err)
		}
		c, hasCommit := current.Lookup(o.topic, p)
		hasCommit = hasCommit && c.Err == nil && c.At >= 0
		var to int64
		switch {
		case o.earliest:
			to = s.Offset
		case o.latest:
			to = e.Offset
		case o.toDatetime != "":
			lo, ok := byTime.Lookup(o.topic, p)
			if !ok || lo.Err != nil {
				return fmt.Errorf("list offsets of %s[%d] by time: %v", o.topic, p, lo.Err)
			}
			to = lo.Offset
			if to < 0 {
				to = e.Offset
			}
		case shift && !hasCommit:
			return fmt.Errorf("%s[%d] has no committed offset to shift; use --to-earliest, --to-latest or --to-offset", o.topic, p)
		default:
			to = o.toOffset
			if shift {
				to = c.At + o.shiftBy
			}
			if to < s.Offset || to > e.Offset {
				clamped := min(max(to, s.Offset), e.Offset)
				warnf(cmd, "%s[%d]: offset %d is outside [%d, %d]; using %d", o.topic, p, to, s.Offset, e.Offset, clamped)
				to = clamped
			}
		}
		old := "-"
		if hasCommit {
			old = strconv.FormatInt(c.At, 10)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\n", o.topic, p, old, to)
		next.AddOffset(o.topic, p, to, -1)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if o.dryRun {
		warnf(cmd, "dry run: offsets of group %q not changed", group)
		return nil
	}
	resps, err := adm.CommitOffsets(ctx, group, next)
	if err != nil {
		return co.brokerError("commit offsets", err)
	}
	if err := resps.Error(); err != nil {
		if errors.Is(err, kerr.UnknownMemberID) || errors.Is(err, kerr.IllegalGeneration) || errors.Is(err, kerr.RebalanceInProgress) {
			return fmt.Errorf("commit offsets of group %q: %w (did a consumer join meanwhile?)", group, err)
		}
		return fmt.Errorf("commit offsets of group %q: %w", group, err)
	}
	warnf(cmd, "reset %d partition(s) of %q for group %q", len(partitions), o.topic, group)
	return nil
}

func newGroupDeleteCmd(co *clientOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "delete GROUP...",
		Short: "Delete consumer groups and their committed offsets (only groups without members)",
		Args:  minArgs(1),
		RunE: co.adminRun(func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, groups []string) error {
			resps, err := adm.DeleteGroups(ctx, groups...)
			if err != nil {
				return co.brokerError("delete groups", err)
			}
			var errs []error
			for _, g := range groups {
				r, ok := resps[g]
				switch {
				case !ok:
					errs = append(errs, fmt.Errorf("delete group %q: missing from the response", g))
				case errors.Is(r.Err, kerr.GroupIDNotFound):
					errs = append(errs, fmt.Errorf("group %q does not exist", g))
				case errors.Is(r.Err, kerr.NonEmptyGroup):
					errs = append(errs, fmt.Errorf("group %q has active members: stop its consumers first", g))
				case r.Err != nil:
					errs = append(errs, fmt.Errorf("delete group %q: %w", g, withMessage(r.Err, r.ErrMessage)))
				default:
					warnf(cmd, "deleted group %q", g)
				}
			}
			return errors.Join(errs...)
		}),
	}
	return cmd
}
