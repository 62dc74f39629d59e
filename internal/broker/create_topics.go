package broker

import (
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/views"
)

// TopicSpec is one topic to create: CreateTopic's arguments.
type TopicSpec struct {
	Name string
	// Partitions is the partition count; -1 takes the default.
	Partitions int32
	// Configs are the topic's config overrides; eddy.view.source makes a
	// view (CreateView).
	Configs map[string]string
}

// CreateResult is the outcome of one TopicSpec of CreateTopics.
type CreateResult struct {
	Info TopicInfo
	Err  error
}

// CreateTopics creates several topics (a CreateTopics request) and answers
// for each spec in order. Each topic is checked as CreateTopic checks it;
// those that pass are created together: every partition log is opened
// without fsyncs of its own (commitlog.Options.DeferCreateSync), then one
// volume sync makes all of them durable (or, where the filesystem offers
// none, their fsyncs run in parallel), then one metadata transaction
// records every topic. A topic is visible only once all of that
// succeeded. Creating 100 topics so costs about what creating one did.
//
// Views (eddy.view.source) are created one by one by CreateView. With
// validateOnly nothing is created.
func (b *Broker) CreateTopics(specs []TopicSpec, validateOnly bool) []CreateResult {
	res := make([]CreateResult, len(specs))
	var batch []*newTopic
	defer func() {
		if len(batch) > 0 {
			b.unreserve(batch)
		}
	}()
	for i, s := range specs {
		if src, ok := s.Configs[views.SourceConfig]; ok {
			res[i].Info, res[i].Err = b.CreateView(s.Name, src, s.Configs[views.FilterConfig], s.Partitions, validateOnly)
			continue
		}
		nt, err := b.checkNewTopic(s)
		if err != nil {
			res[i].Err = err
			continue
		}
		if err := b.reserve(s.Name, validateOnly); err != nil {
			res[i].Err = err
			continue
		}
		if validateOnly {
			res[i].Info = nt.t.info()
			res[i].Info.Partitions = nt.rec.Partitions
			continue
		}
		nt.index = i
		batch = append(batch, nt)
	}
	if len(batch) == 0 {
		return res
	}
	b.openNewTopics(batch)
	if err := b.persistNewTopics(batch); err != nil {
		for _, nt := range batch {
			if nt.err == nil {
				nt.err = err
				nt.closeParts()
			}
		}
	}
	b.mu.Lock()
	closed := b.mu.closed
	for _, nt := range batch {
		if nt.err == nil && closed {
			nt.err = ErrClosed
			nt.closeParts()
		}
		if nt.err == nil {
			b.mu.topics[nt.t.name] = nt.t
			b.mu.byID[nt.t.id] = nt.t
			b.mu.keys[collisionKey(nt.t.name)] = nt.t.name
		}
	}
	b.mu.Unlock()
	for _, nt := range batch {
		if nt.err != nil {
			res[nt.index].Err = nt.err
		} else {
			res[nt.index].Info = nt.t.info()
		}
	}
	return res
}

// newTopic is one topic of a CreateTopics batch on its way in.
type newTopic struct {
	index int // in the specs
	id    [16]byte
	rec   topicRecord
	t     *topic
	err   error
}

// checkNewTopic checks a spec as CreateTopic does and returns its record.
func (b *Broker) checkNewTopic(s TopicSpec) (*newTopic, error) {
	if err := ValidateTopicName(s.Name); err != nil {
		return nil, err
	}
	partitions := s.Partitions
	if partitions == -1 {
		partitions = b.cfg.DefaultPartitions
	}
	if partitions < 1 || partitions > 1<<20 {
		return nil, fmt.Errorf("%w: %d", ErrInvalidPartitions, partitions)
	}
	if err := validateConfigs(s.Configs); err != nil {
		return nil, err
	}
	ov := make(map[string]string, len(s.Configs))
	for k, v := range s.Configs {
		ov[k] = v
	}
	id := newTopicID()
	t := &topic{name: s.Name, id: id, overrides: ov, cfg: effective(b.cfg.TopicDefaults, ov), parts: make([]*partition, partitions)}
	return &newTopic{id: id, t: t, rec: topicRecord{V: 1, ID: hex.EncodeToString(id[:]), Partitions: partitions, Configs: ov}}, nil
}

// unreserve ends the creation of the batch's names (reserve).
func (b *Broker) unreserve(batch []*newTopic) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, nt := range batch {
		name := nt.t.name
		if ch, ok := b.mu.creating[name]; ok {
			close(ch)
			delete(b.mu.creating, name)
		}
	}
}

// openNewTopics opens every partition of the batch's topics at once, their
// creation left to persistNewTopics to make durable, without the
// topic-table lock so produce and fetch on other topics go on. A topic
// with a partition that failed to open gets that error and its other
// partitions are closed.
func (b *Broker) openNewTopics(batch []*newTopic) {
	type slot struct {
		nt *newTopic
		i  int32
	}
	var slots []slot
	for _, nt := range batch {
		for i := range nt.rec.Partitions {
			slots = append(slots, slot{nt, i})
		}
	}
	errs := make([]error, len(slots))
	_ = forEachParallel(len(slots), logOpenParallelism, func(k int) error {
		s := slots[k]
		s.nt.t.parts[s.i], errs[k] = b.openNewPartition(s.nt.t, s.i)
		return nil
	})
	for k, s := range slots {
		if errs[k] != nil && s.nt.err == nil {
			s.nt.err = errs[k]
		}
	}
	for _, nt := range batch {
		if nt.err != nil {
			nt.closeParts()
		}
	}
}

// openNewPartition opens a new partition's log (after removing a stale
// directory of the same name) with its creation not yet durable.
func (b *Broker) openNewPartition(t *topic, i int32) (*partition, error) {
	opts := logOptions(b.logOpts, t.cfg)
	opts.DeferCreateSync = true
	return b.openPartitionLog(t, i, true, opts)
}

// persistNewTopics makes the creation of the batch's opened topics
// durable: their logs first (one volume sync, or their fsyncs), then every
// topic record in one metadata transaction. A failure fails them all.
func (b *Broker) persistNewTopics(batch []*newTopic) error {
	var ok []*newTopic
	for _, nt := range batch {
		if nt.err == nil {
			ok = append(ok, nt)
		}
	}
	if len(ok) == 0 {
		return nil
	}
	var logs []*commitlog.Log
	for _, nt := range ok {
		for _, p := range nt.t.parts {
			logs = append(logs, p.log)
		}
	}
	if err := b.logOpts.Committer.SyncCreated(logs); err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	vals := make([][]byte, len(ok))
	for i, nt := range ok {
		v, err := json.Marshal(nt.t.record())
		if err != nil {
			return fmt.Errorf("encode topic %s: %w", nt.t.name, err)
		}
		vals[i] = v
	}
	err := b.cfg.Meta.Update(func(tx *meta.Tx) error {
		for i, nt := range ok {
			if err := tx.Put(topicsBucket, nt.t.name, vals[i]); err != nil {
				return fmt.Errorf("store topic %s: %w", nt.t.name, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create topics: %w", err)
	}
	return nil
}

// closeParts closes the partitions opened so far.
func (nt *newTopic) closeParts() {
	for _, p := range nt.t.parts {
		if p != nil {
			_ = p.close()
		}
	}
}
