package broker

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/record"
)

// ConfigStreams marks a topic as an event-store topic (internal/eventstore):
// every record appended to it, by any path, is indexed by key so a stream
// (the records of one key) can be read without scanning the partition, and
// records carrying an eddy-expected-version header are checked against
// their stream. Off by default: indexing costs a record walk per batch
// (and a decompression for compressed batches) on the produce path.
const ConfigStreams = "eddy.streams"

func init() {
	configDefs[ConfigStreams] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		doc: "Index records by key as event streams (expected-version appends, per-stream reads)."}
}

// BatchHook is an AppendHook that also needs the batch bytes, not only
// their headers: the event store reads record keys and headers to check
// expected versions and index streams. Broker.Write calls CheckBatches and
// RecordBatches instead of CheckAppend and RecordAppend when the installed
// hook implements it. batches are the bytes passed to Write; in
// RecordBatches their base offsets are the assigned ones. Neither may keep
// batches after returning.
type BatchHook interface {
	AppendHook
	CheckBatches(topic string, partition int32, hs []record.BatchHeader, batches []byte) (*Duplicate, error)
	RecordBatches(topic string, partition int32, hs []record.BatchHeader, batches []byte, base, appendTime int64)
}

func checkAppend(h AppendHook, topic string, part int32, hs []record.BatchHeader, batches []byte) (*Duplicate, error) {
	if bh, ok := h.(BatchHook); ok {
		return bh.CheckBatches(topic, part, hs, batches)
	}
	return h.CheckAppend(topic, part, hs)
}

func recordAppend(h AppendHook, topic string, part int32, hs []record.BatchHeader, batches []byte, base, appendTime int64) {
	if bh, ok := h.(BatchHook); ok {
		bh.RecordBatches(topic, part, hs, batches, base, appendTime)
		return
	}
	h.RecordAppend(topic, part, hs, base, appendTime)
}

// ChainHooks combines hooks into one, called in order: the first hook
// reporting a duplicate or an error ends the check (later hooks are not
// asked), and every hook records a successful write. Put the idempotent
// producer hook first, so a retried duplicate is acknowledged before any
// later hook (the event store) would refuse it as a version conflict.
func ChainHooks(hooks ...AppendHook) AppendHook {
	var c hookChain
	for _, h := range hooks {
		if h != nil {
			c = append(c, h)
		}
	}
	return c
}

type hookChain []AppendHook

// CheckAppend runs CheckBatches without batch bytes.
func (c hookChain) CheckAppend(topic string, part int32, hs []record.BatchHeader) (*Duplicate, error) {
	return c.CheckBatches(topic, part, hs, nil)
}

// RecordAppend runs RecordBatches without batch bytes.
func (c hookChain) RecordAppend(topic string, part int32, hs []record.BatchHeader, base, appendTime int64) {
	c.RecordBatches(topic, part, hs, nil, base, appendTime)
}

// CheckBatches asks each hook in order until one reports a duplicate or
// an error.
func (c hookChain) CheckBatches(topic string, part int32, hs []record.BatchHeader, batches []byte) (*Duplicate, error) {
	for _, h := range c {
		if dup, err := checkAppend(h, topic, part, hs, batches); dup != nil || err != nil {
			return dup, err
		}
	}
	return nil, nil
}

// RecordBatches tells every hook about the write.
func (c hookChain) RecordBatches(topic string, part int32, hs []record.BatchHeader, batches []byte, base, appendTime int64) {
	for _, h := range c {
		recordAppend(h, topic, part, hs, batches, base, appendTime)
	}
}

// ForgetTopic tells every hook that keeps per-topic state that topic was
// deleted.
func (c hookChain) ForgetTopic(topic string) {
	for _, h := range c {
		if f, ok := h.(TopicForgetter); ok {
			f.ForgetTopic(topic)
		}
	}
}

// InstalledAppendHook returns the hook set by SetAppendHook, or nil, so a
// component can chain its own after it (ChainHooks).
func (b *Broker) InstalledAppendHook() AppendHook { return b.hook }

// CatchUp runs an index catch-up with the partition's appends paused: it
// takes the partition lock, waits until everything written is durable,
// calls scan for every batch from the one holding offset from up to the log
// end (commitlog.Log.ScanBatches), then calls done with the log start and
// end offsets, still under the lock. A hook that registers the partition
// in done therefore sees every later append and misses none before it.
// Appends to the partition wait meanwhile; call it at startup or when a
// topic is first turned into an event-store topic.
func (b *Broker) CatchUp(topic string, part int32, from int64, scan func(h record.BatchHeader, batch []byte) error, done func(start, end int64) error) error {
	p, err := b.partition(topic, part)
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.deleted {
		return fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	end := p.log.LogEndOffset()
	if err := p.log.WaitDurable(end); err != nil {
		return fmt.Errorf("catch up %s-%d: %w", topic, part, err)
	}
	if start := p.log.LogStartOffset(); from < start {
		from = start
	}
	if from < end {
		if err := p.log.ScanBatches(from, scan); err != nil {
			return fmt.Errorf("catch up %s-%d from %d: %w", topic, part, from, err)
		}
	}
	return done(p.log.LogStartOffset(), end)
}

// WaitTopic returns a topic's description, first waiting for a CreateTopic
// of it still in progress (CreateTopic answers ErrTopicExists for a name
// being created, before the topic is visible).
func (b *Broker) WaitTopic(name string) (TopicInfo, error) {
	b.mu.RLock()
	ch := b.mu.creating[name]
	b.mu.RUnlock()
	if ch != nil {
		<-ch
	}
	return b.Topic(name)
}

// StreamTopic is what the event store checks of a topic on every append.
type StreamTopic struct {
	ID         [16]byte
	Partitions int32
	// Streams: the topic's eddy.streams override is "true".
	Streams bool
}

// StreamTopic returns name's id, partition count and eddy.streams flag
// without copying its configuration (Topic copies the overrides);
// ErrUnknownTopic if absent.
func (b *Broker) StreamTopic(name string) (StreamTopic, error) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.mu.topics[name]
	if !ok {
		return StreamTopic{}, fmt.Errorf("%w: %s", ErrUnknownTopic, name)
	}
	return StreamTopic{ID: t.id, Partitions: int32(len(t.parts)), Streams: t.overrides[ConfigStreams] == "true"}, nil
}
