package main

// eddy stream: append to, read and tail event-store streams through the
// server's HTTP API (docs/http-api.md), with the Go SDK.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

type streamOptions struct {
	server  string
	timeout time.Duration
}

func (o *streamOptions) client() (*eventstore.Client, error) {
	base, err := serverURL(o.server)
	if err != nil {
		return nil, usageError{err}
	}
	return eventstore.New(base)
}

func newStreamCmd() *cobra.Command {
	cmd := groupCommand("stream", "Append to, read and tail event-store streams (HTTP API)")
	o := &streamOptions{}
	addServerFlag(cmd.PersistentFlags(), &o.server)
	cmd.PersistentFlags().DurationVar(&o.timeout, "timeout", 30*time.Second, "how long append and read may take")
	cmd.AddCommand(newStreamAppendCmd(o), newStreamReadCmd(o), newStreamTailCmd(o))
	return cmd
}

func newStreamAppendCmd(o *streamOptions) *cobra.Command {
	var typ, data, id, expected, metadata string
	cmd := &cobra.Command{
		Use:   "append TOPIC STREAM --type T --data JSON [--expected-version V]",
		Short: "Append one event to a stream",
		Long: `Append one event to a stream. --expected-version is any (default),
no_stream, exists or the version of the stream's last event; a mismatch
fails with the stream's actual version. The result (versions and offset)
is printed as JSON.`,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			if typ == "" {
				return usageError{errors.New("--type is required")}
			}
			if data != "" && !json.Valid([]byte(data)) {
				return usageError{fmt.Errorf("--data is not valid JSON: %q", data)}
			}
			if metadata != "" && !json.Valid([]byte(metadata)) {
				return usageError{fmt.Errorf("--metadata is not valid JSON: %q", metadata)}
			}
			exp, err := parseExpectedFlag(expected)
			if err != nil {
				return usageError{err}
			}
			c, err := o.client()
			if err != nil {
				return err
			}
			if id == "" {
				id = eventstore.NewID()
			}
			ev := eventstore.EventData{ID: id, Type: typ}
			if data != "" {
				ev.Data = json.RawMessage(data)
			}
			if metadata != "" {
				ev.Metadata = json.RawMessage(metadata)
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			res, err := c.Append(ctx, args[0], args[1], exp, ev)
			if err != nil {
				return fmt.Errorf("append to %s/%s: %w", args[0], args[1], err)
			}
			return printJSON(cmd.OutOrStdout(), res)
		},
	}
	cmd.Flags().StringVar(&typ, "type", "", "event type (required)")
	cmd.Flags().StringVar(&data, "data", "", "event data, JSON")
	cmd.Flags().StringVar(&metadata, "metadata", "", "event metadata, a JSON object")
	cmd.Flags().StringVar(&id, "id", "", "event id (default: a random UUID); retrying with the same id is idempotent")
	cmd.Flags().StringVar(&expected, "expected-version", "any", "any, no_stream, exists or a version number")
	return cmd
}

func parseExpectedFlag(s string) (eventstore.ExpectedVersion, error) {
	switch s {
	case "", "any":
		return eventstore.Any{}, nil
	case "no_stream":
		return eventstore.NoStream{}, nil
	case "exists":
		return eventstore.StreamExists{}, nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil || n < 0 || fmt.Sprint(n) != s {
		return nil, fmt.Errorf("--expected-version %q: use any, no_stream, exists or a version number >= 0", s)
	}
	return eventstore.Version(n), nil
}

func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

func newStreamReadCmd(o *streamOptions) *cobra.Command {
	var from int64
	var limit int
	var backward bool
	cmd := &cobra.Command{
		Use:   "read TOPIC STREAM",
		Short: "Print a stream's events, one JSON object per line",
		Args:  exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
			defer cancel()
			ro := eventstore.ReadOptions{Backward: backward}
			if cmd.Flags().Changed("from") {
				ro.From = &from
			}
			printed := 0
			for limit <= 0 || printed < limit {
				ro.Limit = 1000
				if limit > 0 {
					ro.Limit = min(1000, limit-printed)
				}
				page, err := c.Read(ctx, args[0], args[1], ro)
				if errors.Is(err, eventstore.ErrStreamNotFound) {
					return err // names the stream and topic already
				}
				if err != nil {
					return fmt.Errorf("read %s/%s: %w", args[0], args[1], err)
				}
				for _, ev := range page.Events {
					if err := printJSON(cmd.OutOrStdout(), ev); err != nil {
						return err
					}
					printed++
				}
				if page.Next == nil {
					break
				}
				ro.From = page.Next
			}
			return nil
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "first version (default: the start, or the end with --backward)")
	cmd.Flags().IntVar(&limit, "limit", 0, "print at most this many events (0: all)")
	cmd.Flags().BoolVar(&backward, "backward", false, "read from the newest event towards the oldest")
	return cmd
}

func newStreamTailCmd(o *streamOptions) *cobra.Command {
	var from int64
	cmd := &cobra.Command{
		Use:   "tail TOPIC [STREAM]",
		Short: "Follow a stream (or every stream of a topic) as events arrive",
		Long: `Follow a stream, or the whole topic without STREAM, over Server-Sent
Events: print the stored events from --from (a version for a stream, an
offset for a topic), then each new one, one JSON object per line, until
interrupted. Reconnects after a dropped connection without repeating or
missing events.`,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) < 1 || len(args) > 2 {
				return usageError{fmt.Errorf("%s takes TOPIC [STREAM]; usage: %s", cmd.CommandPath(), cmd.UseLine())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := o.client()
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			print := func(ev eventstore.RecordedEvent) error { return printJSON(out, ev) }
			if len(args) == 2 {
				err = c.Subscribe(cmd.Context(), args[0], args[1], eventstore.SubscribeOptions{From: from}, print)
			} else {
				err = c.SubscribeTopic(cmd.Context(), args[0], from, print)
			}
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		},
	}
	cmd.Flags().Int64Var(&from, "from", 0, "first version (stream) or offset (topic)")
	return cmd
}
