package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/node"
)

func newServeCmd() *cobra.Command {
	var printConfig bool
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Eddy server",
		Long: `Run the Eddy server: the Kafka protocol listener, the HTTP listener
(/healthz, /readyz, /metrics, /v1/status) and the storage under --data-dir.

Every flag can also be set as an EDDY_* environment variable (--data-dir is
EDDY_DATA_DIR) or as a key of the YAML file named by --config (data-dir: ...).
Flags win over the environment, which wins over the file.`,
		Args: cobra.NoArgs,
	}
	fl := config.BindFlags(cmd.Flags())
	cmd.Flags().BoolVar(&printConfig, "print-config", false, "print the effective configuration as YAML and exit")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		loaded, err := config.Load(fl, os.LookupEnv)
		if err != nil {
			return usageError{fmt.Errorf("invalid configuration:\n%w", err)}
		}
		if printConfig {
			return loaded.Print(cmd.OutOrStdout())
		}
		return runServe(cmd.Context(), loaded.Config, cmd.ErrOrStderr())
	}
	return cmd
}

// newLogger builds the process logger from log-format and log-level.
func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == config.LogFormatJSON {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// nodeConfig is the node `eddy serve` runs for cfg.
func nodeConfig(cfg config.Config, log *slog.Logger) node.Config {
	nc := node.FromConfig(cfg)
	nc.Logger = log
	nc.Version = versionString()
	if nc.Kafka != nil {
		nc.Kafka.MaxConnections = connectionLimit(nc.Kafka.MaxConnections, raiseFileLimit(log), log)
	}
	return nc
}

// runServe runs the server until ctx ends or SIGINT/SIGTERM arrives, then
// shuts down gracefully. A second signal exits the process at once.
func runServe(ctx context.Context, cfg config.Config, stderr io.Writer) error {
	return runServeNode(ctx, cfg, stderr, nil)
}

// runServeNode is runServe with a hook to edit the node config (tests
// substitute the filesystem).
func runServeNode(ctx context.Context, cfg config.Config, stderr io.Writer, edit func(*node.Config)) error {
	log := newLogger(cfg, stderr)
	defer applyMemoryLimit(cfg, os.LookupEnv, log)()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case sig := <-sigs:
			log.Info("shutting down", "signal", sig.String(), "timeout", cfg.ShutdownTimeout)
			cancel()
		case <-done:
			return
		}
		select {
		case sig := <-sigs:
			// Safe: every acknowledged write is already durable per its topic's
			// fsync policy; the next start runs recovery.
			log.Warn("second signal: exiting now without a clean shutdown; the next start recovers", "signal", sig.String())
			os.Exit(128 + int(sig.(syscall.Signal)))
		case <-done:
		}
	}()

	stopPprof, err := startPprof(cfg.PprofAddr, log)
	if err != nil {
		return err
	}
	defer stopPprof()

	started := time.Now()
	nc := nodeConfig(cfg, log)
	if edit != nil {
		edit(&nc)
	}
	n, err := node.Open(nc)
	if err != nil {
		return err
	}
	if remote := cfg.RemoteListeners(); len(remote) > 0 {
		log.Warn("listening on non-loopback addresses without authentication (allow-unauthenticated-remote): anyone who can reach them can read, write and delete data",
			"listeners", remote)
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-n.Err():
		log.Error("listener failed; shutting down", "err", runErr)
	}
	shutdownCtx, cancelShutdown := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancelShutdown()
	if err := n.Close(shutdownCtx); err != nil {
		log.Error("shutdown", "err", err)
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	log.Info("eddy stopped cleanly", "uptime", time.Since(started).Round(time.Millisecond).String())
	return nil
}
