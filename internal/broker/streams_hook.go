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
		apply: func(c *TopicConfig, s string) { c.Streams = s == "true" },
		doc:   "Index records by key as event streams (expected-version appends, per-stream reads)."}
}

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
		return fmt.Errorf("catch up %s-%d: %w", topic, part, logErr(err))
	}
	if start := p.log.LogStartOffset(); from < start {
		from = start
	}
	if from < end {
		if err := p.log.ScanBatches(from, scan); err != nil {
			return fmt.Errorf("catch up %s-%d from %d: %w", topic, part, from, logErr(err))
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
