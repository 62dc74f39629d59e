package pubsub

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// CommitInterval makes a router on a classic group commit its offsets in
// the background every d — franz-go's autocommit of marked offsets
// (kgo.AutoCommitMarks, kgo.AutoCommitInterval) — instead of committing
// after every poll and waiting for the commit before polling again. The
// router marks each poll's records once their handlers returned; franz-go
// commits the marks every d and when partitions are revoked (before they
// move to another member), and Run commits them when it stops or a
// handler fails. A crash loses at most the last d of commits: those events
// are delivered again (at-least-once; pair with Idempotent).
//
// With few events per poll, a commit per poll is an offset commit request
// and an fsync on the broker per event or two, and its wait delays the
// next poll's events. No effect on a share group, whose acknowledgements
// are sent with its fetches. Default 0: commit after every poll.
func CommitInterval(d time.Duration) RouterOpt {
	return routerOpt(func(c *routerCfg) { c.commitEvery = d })
}

// classicCommitOpts are the commit options of a classic group's client.
func (r *Router) classicCommitOpts() []kgo.Opt {
	if r.cfg.commitEvery > 0 {
		return []kgo.Opt{kgo.AutoCommitMarks(), kgo.AutoCommitInterval(r.cfg.commitEvery)}
	}
	return []kgo.Opt{kgo.DisableAutoCommit()}
}

// commit commits recs (the last handled record of each partition) after
// a poll: at once and waiting for it, or, with CommitInterval, by marking
// them for the next background commit; final also commits the marks now.
func (r *Router) commit(ctx context.Context, cl *kgo.Client, recs []*kgo.Record, final bool) error {
	if r.cfg.commitEvery <= 0 {
		if len(recs) == 0 {
			return nil
		}
		return cl.CommitRecords(ctx, recs...)
	}
	cl.MarkCommitRecords(recs...)
	if !final {
		return nil
	}
	return cl.CommitMarkedOffsets(ctx)
}
