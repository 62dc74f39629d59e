// Command eddy is the Eddy event streaming platform: `eddy serve` runs the
// server; every other subcommand is a client of a running server.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "eddy:", err)
		os.Exit(exitCode(err))
	}
}

// usageError marks an error caused by invalid flags or configuration; the
// process exits with status 2 for it, 1 for everything else.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if _, ok := err.(usageError); ok {
		return 2
	}
	return 1
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "eddy",
		Short:         "Eddy: a single-binary, Kafka-compatible event streaming platform",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(
		newServeCmd(),
		newVersionCmd(),
		newStatusCmd(),
		newTopicCmd(),
		newProduceCmd(),
		newConsumeCmd(),
		newGroupCmd(),
		newShareGroupCmd(),
		newDLQCmd(),
		newBenchCmd(),
		newStreamCmd(),
		newViewCmd(),
		newLogCmd(),
		newSchemaCmd(),
		newACLCmd(),
		newUserCmd(),
	)
	return root
}
