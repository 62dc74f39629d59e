package main

// Shared plumbing for the client subcommands (topic, produce, consume,
// group): the --brokers flag, franz-go client construction, usage errors for
// bad arguments, and small parsing helpers.
//
// Conventions for every client subcommand, so they compose in pipes:
//   - data (records, listings) goes to stdout, diagnostics and confirmations
//     to stderr;
//   - a failure exits 1, a usage error (bad flag or argument) exits 2;
//   - the broker list comes from --brokers, else $EDDY_BROKERS, else
//     localhost:9092.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// brokersEnv names the environment variable holding the default broker list.
const brokersEnv = "EDDY_BROKERS"

// defaultBrokers is used when neither --brokers nor $EDDY_BROKERS is set.
const defaultBrokers = "localhost:9092"

// clientOptions holds the connection flags every client subcommand shares.
type clientOptions struct {
	brokers string
	timeout time.Duration
	// security is the TLS and SASL flags (client_security.go).
	security *securityOptions
}

// addClientFlags registers --brokers and --timeout as persistent flags of
// cmd, so that cmd and all its subcommands accept them.
func addClientFlags(cmd *cobra.Command) *clientOptions {
	o := &clientOptions{}
	def := os.Getenv(brokersEnv)
	if strings.TrimSpace(def) == "" {
		def = defaultBrokers
	}
	cmd.PersistentFlags().StringVar(&o.brokers, "brokers", def,
		"comma-separated Kafka bootstrap addresses (also $"+brokersEnv+")")
	cmd.PersistentFlags().DurationVar(&o.timeout, "timeout", 30*time.Second,
		"how long a request to the brokers may take (admin calls, flushing produced records)")
	o.security = addSecurityFlags(cmd)
	return o
}

// seeds returns the broker list, or a usage error if it is empty.
func (o *clientOptions) seeds() ([]string, error) {
	var out []string
	for _, s := range strings.Split(o.brokers, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, usageError{errors.New("no brokers: set --brokers or $" + brokersEnv)}
	}
	return out, nil
}

// newClient builds a franz-go client for the configured brokers. The caller
// closes it.
func (o *clientOptions) newClient(extra ...kgo.Opt) (*kgo.Client, error) {
	seeds, err := o.seeds()
	if err != nil {
		return nil, err
	}
	sec, err := o.security.kgoOpts()
	if err != nil {
		return nil, err
	}
	opts := append([]kgo.Opt{
		kgo.SeedBrokers(seeds...),
		kgo.ClientID("eddy-cli"),
		// Without this a dead address is retried until the caller's
		// context ends; fail the way a user expects instead.
		kgo.DialTimeout(5 * time.Second),
	}, sec...)
	opts = append(opts, extra...)
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("create client: %w", err)
	}
	return cl, nil
}

// newAdmin builds an admin client; the returned close function closes both
// it and the underlying client.
func (o *clientOptions) newAdmin() (*kadm.Client, func(), error) {
	cl, err := o.newClient()
	if err != nil {
		return nil, nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(o.timeout / time.Millisecond))
	return adm, cl.Close, nil
}

// requestContext bounds one admin exchange by --timeout.
func (o *clientOptions) requestContext(parent context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, o.timeout)
}

// adminSession is newAdmin plus requestContext for a command that makes
// one bounded admin exchange: done cancels the context and closes the
// client.
func (o *clientOptions) adminSession(parent context.Context) (*kadm.Client, context.Context, func(), error) {
	adm, closeAdm, err := o.newAdmin()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := o.requestContext(parent)
	return adm, ctx, func() { cancel(); closeAdm() }, nil
}

// brokerError turns a context deadline into a message naming the brokers,
// which is what a user needs when the server is not running.
func (o *clientOptions) brokerError(what string, err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: no answer from %s within %s (is the server running?)", what, o.brokers, o.timeout)
	}
	if oe, ok := errors.AsType[*net.OpError](err); ok && oe.Op == "dial" {
		return fmt.Errorf("%s: cannot connect to %s (is the server running?): %w", what, o.brokers, err)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// exactArgs is cobra.ExactArgs whose failure is a usage error (exit 2).
func exactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != n {
			return usageError{fmt.Errorf("%s takes %d argument(s), got %d; usage: %s", cmd.CommandPath(), n, len(args), cmd.UseLine())}
		}
		return nil
	}
}

// minArgs is cobra.MinimumNArgs whose failure is a usage error (exit 2).
func minArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < n {
			return usageError{fmt.Errorf("%s needs at least %d argument(s); usage: %s", cmd.CommandPath(), n, cmd.UseLine())}
		}
		return nil
	}
}

// noArgs is cobra.NoArgs whose failure is a usage error (exit 2).
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) != 0 {
		return usageError{fmt.Errorf("%s takes no arguments, got %q; usage: %s", cmd.CommandPath(), args, cmd.UseLine())}
	}
	return nil
}

// groupCommand returns a parent command that only holds subcommands: run
// without one (or with an unknown one) it is a usage error.
func groupCommand(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageError{fmt.Errorf("unknown command %q for %q; run '%s --help'", args[0], cmd.CommandPath(), cmd.CommandPath())}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return usageError{fmt.Errorf("%s needs a subcommand; run '%s --help'", cmd.CommandPath(), cmd.CommandPath())}
		},
	}
}

// parseKeyValues parses repeated k=v flags. Values may contain '='; keys
// may not be empty.
func parseKeyValues(flag string, kvs []string) ([][2]string, error) {
	out := make([][2]string, 0, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, usageError{fmt.Errorf("--%s %q: want key=value", flag, kv)}
		}
		out = append(out, [2]string{k, v})
	}
	return out, nil
}

// warnf prints a diagnostic to the command's stderr.
func warnf(cmd *cobra.Command, format string, args ...any) {
	fmt.Fprintf(cmd.ErrOrStderr(), "eddy: "+format+"\n", args...)
}

// adminRun makes a command's RunE from run: an admin client and a context
// bounded by --timeout (adminSession) are opened before run and closed
// after it.
func (o *clientOptions) adminRun(run func(ctx context.Context, adm *kadm.Client, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		adm, ctx, done, err := o.adminSession(cmd.Context())
		if err != nil {
			return err
		}
		defer done()
		return run(ctx, adm, cmd, args)
	}
}
