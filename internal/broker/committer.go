package broker

import "github.com/eddy-streaming/eddy/internal/commitlog"

func newCommitter(o commitlog.Options) *commitlog.Committer {
	return commitlog.NewCommitter(commitlog.CommitterOptions{Registerer: o.Registerer, Logger: o.Logger})
}

func closeCommitter(c *commitlog.Committer) error { return c.Close() }
