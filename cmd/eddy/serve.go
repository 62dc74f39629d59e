package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func newServeCmd() *cobra.Command {
	var dataDir string
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the Eddy server",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := os.MkdirAll(dataDir, 0o755); err != nil {
				return fmt.Errorf("create data dir: %w", err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			log.Info("eddy started", "version", versionString(), "data_dir", dataDir)
			<-ctx.Done()
			log.Info("eddy stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&dataDir, "data-dir", "eddy-data", "directory holding Eddy's data")
	return cmd
}
