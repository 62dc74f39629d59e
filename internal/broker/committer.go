package broker

import "github.com/eddy-streaming/eddy/internal/commitlog"

// newCommitter returns the group committer shared by every log of the data
// directory: appenders to any partition share fsyncs (one volume sync per
// round when the filesystem offers it).
func newCommitter(o commitlog.Options, dataDir string, journalBytes int64) *commitlog.Committer {
	return commitlog.NewCommitter(commitlog.CommitterOptions{
		Registerer:   o.Registerer,
		Logger:       o.Logger,
		FS:           o.FS,
		Dir:          dataDir,
		JournalBytes: journalBytes,
	})
}

func closeCommitter(c *commitlog.Committer) error { return c.Close() }
