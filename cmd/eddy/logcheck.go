package main

// eddy log check: verify a stopped server's partition logs offline, as
// `bbolt check` verifies a database file.

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

func newLogCmd() *cobra.Command {
	cmd := groupCommand("log", "Offline tools for the partition logs of a stopped server")
	cmd.AddCommand(newLogCheckCmd())
	return cmd
}

func newLogCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check DIR",
		Short: "Verify every segment of every partition log under DIR, without modifying anything",
		Long: `Verify the partition logs under DIR, a data directory (every <topic>-<partition>
subdirectory) or one partition directory, without modifying anything: the
CRC and header of every batch, dense offsets within and across segments, and
that every entry of the offset and time indexes points at the batch it names.

Each partition gets one line; each problem one more line naming the file and
byte position. The exit status is 0 when every log is sound, 1 when any
problem was found (a torn tail after a crash is one: the next eddy serve
truncates it; a bad index is another: eddy serve rebuilds it). A running
server's directory is refused: stop it first.`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogCheck(cmd.OutOrStdout(), args[0])
		},
	}
}

// runLogCheck verifies every log under dir and writes a report to w. It
// returns an error naming the number of problems when there is any.
func runLogCheck(w io.Writer, dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("log check: %w", err)
	}
	if !st.IsDir() {
		return usageError{fmt.Errorf("log check: %s is not a directory; give a data directory or a partition directory", dir)}
	}
	if err := refuseLockedDataDir(dir); err != nil {
		return err
	}
	fs := vfs.OS()
	dirs, err := logDirs(fs, dir)
	if err != nil {
		return err
	}
	if len(dirs) == 0 {
		return fmt.Errorf("log check: no partition logs (segment files) under %s", dir)
	}
	problems := 0
	for _, d := range dirs {
		r, err := commitlog.Verify(fs, d)
		if err != nil {
			return fmt.Errorf("log check: %w", err)
		}
		name, _ := filepath.Rel(dir, d)
		if name == "." {
			name = filepath.Base(d)
		}
		errs := checkProblems(r)
		problems += len(errs)
		printLogReport(w, name, r, errs)
	}
	if problems > 0 {
		return fmt.Errorf("log check: %d problem(s) in %d partition log(s) under %s", problems, len(dirs), dir)
	}
	fmt.Fprintf(w, "OK: %d partition log(s)\n", len(dirs))
	return nil
}

// logDirs returns dir itself when it holds segment files, else its
// subdirectories that do, sorted.
func logDirs(fs vfs.FS, dir string) ([]string, error) {
	r, err := commitlog.Verify(fs, dir)
	if err != nil {
		return nil, fmt.Errorf("log check: %w", err)
	}
	if len(r.Segments) > 0 {
		return []string{dir}, nil
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("log check: %w", err)
	}
	var out []string
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		sub := filepath.Join(dir, e.Name())
		names, err := fs.ReadDir(sub)
		if err != nil {
			return nil, fmt.Errorf("log check: %w", err)
		}
		if slices.ContainsFunc(names, func(n string) bool { return filepath.Ext(n) == ".log" }) {
			out = append(out, sub)
		}
	}
	return out, nil
}

// checkProblems lists everything wrong with one log: Verify's problems and
// every segment whose offset or time index does not match its batches.
func checkProblems(r *commitlog.VerifyReport) []error {
	var errs []error
	if err := r.Err(); err != nil {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			errs = append(errs, j.Unwrap()...)
		} else {
			errs = append(errs, err)
		}
	}
	for _, s := range r.Segments {
		if s.Problem != nil {
			continue // its batches are reported; the indexes point into them
		}
		for _, ix := range []struct {
			ok     bool
			suffix string
			what   string
		}{{s.IndexOK, ".index", "offset index"}, {s.TimeIndexOK, ".timeindex", "time index"}} {
			if !ix.ok {
				path := filepath.Join(r.Dir, fmt.Sprintf("%020d%s", s.Base, ix.suffix))
				errs = append(errs, fmt.Errorf("%s: %s missing, torn, or naming a batch that is not there (eddy serve rebuilds it)", path, ix.what))
			}
		}
	}
	return errs
}

func printLogReport(w io.Writer, name string, r *commitlog.VerifyReport, errs []error) {
	var batches int
	var records int64
	for _, s := range r.Segments {
		batches += s.Batches
		records += s.Records
	}
	first, next := r.Segments[0].Base, r.Segments[len(r.Segments)-1].Next
	state := "ok"
	if len(errs) > 0 {
		state = fmt.Sprintf("%d problem(s)", len(errs))
	}
	shutdown := "clean shutdown marker"
	if !r.Clean {
		shutdown = "no clean shutdown marker"
	}
	fmt.Fprintf(w, "%s: %d segment(s), %d batch(es), %d record(s), offsets %d up to %d, %s: %s\n",
		name, len(r.Segments), batches, records, first, next, shutdown, state)
	for _, err := range errs {
		fmt.Fprintf(w, "  %v\n", err)
	}
}

// refuseLockedDataDir fails when an eddy serve holds dir's LOCK: its
// active segments change while they are read.
func refuseLockedDataDir(dir string) error {
	f, err := os.Open(filepath.Join(dir, node.LockFileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("log check: %w", err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_SH|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("log check: %w: stop the server before checking %s", node.ErrDataDirLocked, dir)
		}
		return fmt.Errorf("log check: lock %s: %w", f.Name(), err)
	}
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
