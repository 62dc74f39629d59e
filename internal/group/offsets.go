package group

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// CommitOffset is one partition's offset in an OffsetCommit.
type CommitOffset struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32 // -1 when unknown
	Metadata    string
}

// CommitRequest is an OffsetCommit request in domain terms. Simple
// (non-member) consumers send Generation -1 and an empty MemberID.
type CommitRequest struct {
	Group      string
	MemberID   string
	InstanceID string
	Generation int32
	Offsets    []CommitOffset
}

// Commit handles OffsetCommit. It returns one error (or nil) per offset, in
// request order; every committed offset is fsynced before Commit returns.
// A group-level failure (unknown member, stale generation, …) is reported
// on every offset, as Kafka does.
func (c *Coordinator) Commit(ctx context.Context, req CommitRequest) ([]error, error) {
	errs := make([]error, len(req.Offsets))
	if len(req.Group) > MaxGroupIDLength {
		fillAll(errs, ErrInvalidGroupID)
		return errs, nil
	}
	valid := make([]int, 0, len(req.Offsets))
	for i, o := range req.Offsets {
		n, ok := c.cfg.Topics.Partitions(o.Topic)
		switch {
		case !ok || o.Partition < 0 || o.Partition >= n:
			errs[i] = ErrUnknownTopicOrPartition
		case len(o.Metadata) > c.cfg.MaxMetadataSize:
			errs[i] = ErrOffsetMetadataTooLarge
		default:
			valid = append(valid, i)
		}
	}
	// A commit with generation >= 0 to a group that does not exist is
	// refused without creating it: ErrGroupNotFound, which Kafka reports as
	// GROUP_ID_NOT_FOUND from OffsetCommit v9 and ILLEGAL_GENERATION before.
	create := req.Generation < 0
	for {
		g, err := c.lookup(req.Group, create)
		if err != nil {
			return nil, err
		}
		if g == nil {
			fillAll(errs, ErrGroupNotFound)
			return errs, nil
		}
		done, err := g.commit(ctx, req, valid, errs)
		if err != nil {
			return nil, err
		}
		if done {
			return errs, nil
		}
		// The group died between lookup and commit; try again.
	}
}

func fillAll(errs []error, err error) {
	for i := range errs {
		errs[i] = err
	}
}

// commit validates on the loop, writes durably under commitMu and applies
// on the loop. done is false when the group died underneath.
func (g *group) commit(ctx context.Context, req CommitRequest, valid []int, errs []error) (done bool, err error) {
	if err := g.commitMu.lock(ctx); err != nil {
		return false, err
	}
	defer g.commitMu.unlock()
	var groupErr error
	err = g.run(ctx, func() { groupErr = g.validateCommit(req) })
	if err == errGroupGone {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if groupErr != nil {
		fillAll(errs, groupErr)
		return true, nil
	}
	if len(valid) == 0 {
		return true, nil
	}
	now := g.now()
	ids := g.c.topicIDs()
	entries := make([]offsetEntry, 0, len(valid))
	for _, i := range valid {
		o := req.Offsets[i]
		c := committed{offset: o.Offset, leaderEpoch: o.LeaderEpoch, metadata: o.Metadata, commitTime: now}
		if ids != nil {
			c.topicID, _ = ids(o.Topic)
		}
		entries = append(entries, offsetEntry{tp{o.Topic, o.Partition}, c})
	}
	werr := g.c.w.write(func(tx *meta.Tx) error {
		for _, e := range entries {
			if err := tx.Put(bucketOffsets, offsetKey(g.name, e.tp), encodeOffset(e.c)); err != nil {
				return err
			}
		}
		return nil
	})
	if werr != nil {
		g.c.log.Error("store offsets", "group", g.name, "err", werr)
		for _, i := range valid {
			errs[i] = fmt.Errorf("store offsets: %w: %w", ErrCoordinatorNotAvailable, werr)
		}
		return true, nil
	}
	err = g.run(context.WithoutCancel(ctx), func() {
		for _, e := range entries {
			g.offsets[e.tp] = e.c
		}
	})
	g.c.metrics.commits(len(entries))
	if err == errGroupGone {
		// Stored, then the group was closed: the offsets are durable and
		// load on the next start.
		return true, nil
	}
	return true, err
}

type offsetEntry struct {
	tp tp
	c  committed
}

// validateCommit is Kafka's validateOffsetCommit plus the state switch of
// doCommitOffsets.
func (g *group) validateCommit(req CommitRequest) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	if req.Generation < 0 && g.state == Empty {
		return nil // a simple (non-member) commit, whatever ids it names
	}
	if req.Generation >= 0 || req.MemberID != "" || req.InstanceID != "" {
		if err := g.checkMember(req.MemberID, req.InstanceID, req.Generation); err != nil {
			return err
		}
	} else if g.state != Empty {
		// Only members may commit to a group that has members.
		return ErrUnknownMember
	}
	switch g.state {
	case CompletingRebalance:
		return ErrRebalanceInProgress
	case Stable, PreparingRebalance:
		if m := g.members[req.MemberID]; m != nil {
			g.touch(m)
		}
	}
	return nil
}

// TopicPartitions names partitions per topic.
type TopicPartitions struct {
	Topic      string
	Partitions []int32
}

// Committed is a committed offset as OffsetFetch returns it. Offset is -1
// when nothing is committed.
type Committed struct {
	Topic       string
	Partition   int32
	Offset      int64
	LeaderEpoch int32
	Metadata    string
}

// Fetch handles OffsetFetch for one group. With topics nil it returns every
// committed offset of the group; otherwise exactly the requested partitions,
// -1 for those without a commit. An unknown group yields -1 offsets (or
// nothing for topics nil), as Kafka does. Offsets committed for a deleted
// (or deleted and re-created) topic are treated as absent.
func (c *Coordinator) Fetch(ctx context.Context, groupID string, topics []TopicPartitions) ([]Committed, error) {
	var out []Committed
	ids := c.topicIDs()
	err := c.withGroup(ctx, groupID, false, func(g *group) {
		get := func(t string, p int32) (committed, bool) { return committed{}, false }
		if g != nil {
			get = func(t string, p int32) (committed, bool) {
				o, ok := g.offsets[tp{t, p}]
				if ok && staleOffset(ids, t, o) {
					return committed{}, false
				}
				return o, ok
			}
		}
		if topics == nil {
			if g == nil {
				return
			}
			for k, o := range g.offsets {
				if staleOffset(ids, k.topic, o) {
					continue
				}
				out = append(out, Committed{Topic: k.topic, Partition: k.partition, Offset: o.offset, LeaderEpoch: o.leaderEpoch, Metadata: o.metadata})
			}
			sortCommitted(out)
			return
		}
		for _, t := range topics {
			for _, p := range t.Partitions {
				o, ok := get(t.Topic, p)
				if !ok {
					out = append(out, Committed{Topic: t.Topic, Partition: p, Offset: -1, LeaderEpoch: -1})
					continue
				}
				out = append(out, Committed{Topic: t.Topic, Partition: p, Offset: o.offset, LeaderEpoch: o.leaderEpoch, Metadata: o.metadata})
			}
		}
	})
	return out, err
}

func sortCommitted(cs []Committed) {
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].Topic != cs[j].Topic {
			return cs[i].Topic < cs[j].Topic
		}
		return cs[i].Partition < cs[j].Partition
	})
}

// DeleteOffsets handles OffsetDelete: it returns a group-level error or one
// error (or nil) per requested partition, flattened in request order:
// ErrUnknownTopicOrPartition for partitions that do not exist,
// ErrGroupSubscribedToTopic for topics a member subscribes to.
func (c *Coordinator) DeleteOffsets(ctx context.Context, groupID string, topics []TopicPartitions) ([]error, error) {
	var n int
	for _, t := range topics {
		n += len(t.Partitions)
	}
	errs := make([]error, n)
	for {
		g, err := c.lookup(groupID, false)
		if err != nil {
			return nil, err
		}
		if g == nil {
			return nil, ErrGroupNotFound
		}
		if err := g.commitMu.lock(ctx); err != nil {
			return nil, err
		}
		var groupErr error
		var del []tp
		err = g.run(ctx, func() {
			var subscribed map[string]bool
			switch g.state {
			case Dead:
				groupErr = ErrGroupNotFound
				return
			case Empty:
			default:
				if g.protocolType != "consumer" {
					groupErr = ErrNonEmptyGroup
					return
				}
				subscribed = g.subscribedTopics()
			}
			i := 0
			for _, t := range topics {
				n, exists := g.c.cfg.Topics.Partitions(t.Topic)
				for _, p := range t.Partitions {
					if !exists || p < 0 || p >= n {
						// Kafka's API layer refuses partitions it does
						// not know before the coordinator sees them.
						errs[i] = ErrUnknownTopicOrPartition
					} else if subscribed[t.Topic] {
						errs[i] = ErrGroupSubscribedToTopic
					} else if _, ok := g.offsets[tp{t.Topic, p}]; ok {
						del = append(del, tp{t.Topic, p})
					}
					i++
				}
			}
		})
		if err == errGroupGone {
			g.commitMu.unlock()
			continue
		}
		if err != nil || groupErr != nil {
			g.commitMu.unlock()
			return nil, firstErr(err, groupErr)
		}
		err = g.deleteOffsets(ctx, del)
		g.commitMu.unlock()
		if err != nil {
			return nil, err
		}
		return errs, nil
	}
}

func firstErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// deleteOffsets removes offsets durably, then from memory. Caller holds
// commitMu.
func (g *group) deleteOffsets(ctx context.Context, del []tp) error {
	if len(del) == 0 {
		return nil
	}
	err := g.c.w.write(func(tx *meta.Tx) error {
		for _, k := range del {
			if err := tx.Delete(bucketOffsets, offsetKey(g.name, k)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete offsets of group %s: %w: %w", g.name, ErrCoordinatorNotAvailable, err)
	}
	err = g.run(context.WithoutCancel(ctx), func() {
		for _, k := range del {
			delete(g.offsets, k)
		}
	})
	if err == errGroupGone {
		return nil
	}
	return err
}

// Delete handles DeleteGroups: it returns one error (or nil) per group.
// Only Empty groups can be deleted; their offsets go with them.
func (c *Coordinator) Delete(ctx context.Context, groups []string) []error {
	errs := make([]error, len(groups))
	for i, name := range groups {
		errs[i] = c.deleteGroup(ctx, name)
	}
	return errs
}

func (c *Coordinator) deleteGroup(ctx context.Context, name string) error {
	g, err := c.lookup(name, false)
	if err != nil {
		return err
	}
	if g == nil {
		return ErrGroupNotFound
	}
	if err := g.commitMu.lock(ctx); err != nil {
		return err
	}
	defer g.commitMu.unlock()
	var out error
	err = g.run(ctx, func() {
		switch g.state {
		case Dead:
			out = ErrGroupNotFound
		case Empty:
			if werr := g.deleteDurably(); werr != nil {
				out = werr
				return
			}
			g.kill()
			g.c.log.Info("group deleted", "group", g.name)
		default:
			out = ErrNonEmptyGroup
		}
	})
	if err == errGroupGone {
		return ErrGroupNotFound
	}
	if err != nil {
		return err
	}
	return out
}

// deleteDurably removes the group record and every offset of the group from
// meta. Runs on the loop with commitMu held.
func (g *group) deleteDurably() error {
	err := g.c.w.write(func(tx *meta.Tx) error {
		if err := tx.Delete(bucketGroups, g.name); err != nil {
			return err
		}
		return tx.DeletePrefix(bucketOffsets, offsetGroupPrefix(g.name))
	})
	if err != nil {
		return fmt.Errorf("delete group %s: %w: %w", g.name, ErrCoordinatorNotAvailable, err)
	}
	return nil
}

// expire deletes offsets of deleted topics, offsets of a group that has
// been empty for the retention period (and, in a Stable consumer group, offsets of topics no member
// subscribes to that were committed longer ago than the retention period,
// KIP-496), and drops an empty group left with nothing. It runs from the
// retention loop.
func (g *group) expire(ctx context.Context) error {
	if err := g.commitMu.lock(ctx); err != nil {
		return err
	}
	defer g.commitMu.unlock()
	retention := g.c.cfg.OffsetsRetention
	var del []tp
	var drop bool
	ids := g.c.topicIDs()
	err := g.run(ctx, func() {
		now := g.now()
		// Offsets of deleted topics go whatever the group's state.
		stale := map[tp]bool{}
		for k, o := range g.offsets {
			if staleOffset(ids, k.topic, o) {
				stale[k] = true
				del = append(del, k)
			}
		}
		if g.state != Empty {
			// KIP-496: a live consumer group's offsets for topics no
			// member subscribes to any more expire from their commit.
			if g.state != Stable || g.protocolType != "consumer" {
				return
			}
			subscribed := g.subscribedTopics()
			for k, o := range g.offsets {
				if !stale[k] && !subscribed[k.topic] && now.Sub(o.commitTime) >= retention {
					del = append(del, k)
				}
			}
			return
		}
		for k, o := range g.offsets {
			if stale[k] {
				continue
			}
			base := o.commitTime
			if g.emptySince.After(base) {
				base = g.emptySince
			}
			if now.Sub(base) >= retention {
				del = append(del, k)
			}
		}
		if len(del) == len(g.offsets) {
			// Nothing left: Kafka turns the group Dead and forgets it.
			if werr := g.deleteDurably(); werr != nil {
				g.c.log.Error("expire group", "group", g.name, "err", werr)
				return
			}
			if len(del) > 0 {
				g.c.log.Info("group offsets expired; group removed", "group", g.name, "offsets", len(del))
			}
			drop = true
			g.kill()
		}
	})
	if drop || err == errGroupGone {
		return nil
	}
	if err != nil {
		return err
	}
	if len(del) > 0 {
		g.c.log.Info("offsets expired", "group", g.name, "offsets", len(del))
	}
	return g.deleteOffsets(ctx, del)
}

// ExpireOffsets runs one retention sweep now; the coordinator also runs it
// every RetentionCheckInterval.
func (c *Coordinator) ExpireOffsets(ctx context.Context) error {
	for _, g := range c.snapshotGroups() {
		if err := g.expire(ctx); err != nil && err != errGroupGone {
			return err
		}
	}
	return nil
}

func (c *Coordinator) retentionLoop() {
	defer c.wg.Done()
	t := time.NewTicker(c.cfg.RetentionCheckInterval)
	defer t.Stop()
	for {
		select {
		case <-c.quit:
			return
		case <-t.C:
			ctx, cancel := context.WithCancel(context.Background())
			go func() {
				select {
				case <-c.quit:
				case <-ctx.Done():
				}
				cancel()
			}()
			if err := c.ExpireOffsets(ctx); err != nil && ctx.Err() == nil {
				c.log.Error("offset expiry", "err", err)
			}
			cancel()
		}
	}
}
