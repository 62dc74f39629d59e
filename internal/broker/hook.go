package broker

import (
	"github.com/eddy-streaming/eddy/internal/record"
)

// AppendHook is one step of the append hook chain: the seam where the
// idempotent producers' sequence checks (internal/producers) and the event
// store's expected-version checks and stream index (internal/eventstore)
// plug in. The chain is fixed when the broker is opened (Config.Hooks), in
// order; Broker.Write runs it under the partition lock around
// commitlog.Write: every hook's CheckAppend in order → write → every
// hook's RecordAppend. Hooks must be fast and must not call back into the
// Broker.
type AppendHook interface {
	// CheckAppend sees the validated batches before the write. An error
	// rejects the append (the front ends map the hook package's errors in
	// their tables). A non-nil Duplicate acknowledges the append with an
	// earlier write's offsets without writing anything. The first hook
	// reporting either ends the check: later hooks are not asked, which is
	// why the producer hook goes first (a retried duplicate is acknowledged
	// before the event store could refuse it as a version conflict).
	CheckAppend(a Append) (*Duplicate, error)
	// RecordAppend sees a successful write; base is the offset given to the
	// first batch and appendTime the LogAppendTime stamped (-1 for
	// CreateTime topics). a.Batches hold the assigned base offsets;
	// a.Headers still hold what the producer sent.
	RecordAppend(a Append, base, appendTime int64)
	// ForgetTopic is called by DeleteTopic once the topic's partitions
	// refuse writes, so a topic re-created under the same name starts
	// without the old topic's state.
	ForgetTopic(topic string)
}

// Append is what a hook sees of one Write call. Hooks must not keep
// Headers or Batches after returning.
type Append struct {
	Topic     string
	Partition int32
	// Headers are the batches' validated headers.
	Headers []record.BatchHeader
	// Batches are the bytes passed to Write.
	Batches []byte
	// Options are the caller's per-call options.
	Options WriteOptions
	// Config is the topic's effective configuration at the write.
	Config TopicConfig
	// Sections, when not nil, holds the batches' records sections as the
	// broker's validation decompressed them (kept for topics with schema
	// validation and event-store topics), valid during CheckAppend only.
	Sections *record.Sections
}

// WriteOptions are Write's per-call arguments, handed to every hook.
type WriteOptions struct {
	// Stream, when its Name is set, says the caller (the event store's
	// Append) built the batches as Stream.Records events of one stream that
	// must be at version Stream.Expected when they are written. The event
	// store's hook checks that instead of reading the records.
	Stream StreamWrite
}

// StreamWrite describes an event-store append (see WriteOptions.Stream).
type StreamWrite struct {
	Name     string
	Expected int64
	Records  int
}

// Duplicate describes the earlier write a retried append repeats.
type Duplicate struct {
	Base, Next    int64
	LogAppendTime int64
}

// checkAppend runs the chain's checks in order until one reports a
// duplicate or an error.
func (b *Broker) checkAppend(a Append) (*Duplicate, error) {
	for _, h := range b.hooks {
		if dup, err := h.CheckAppend(a); dup != nil || err != nil {
			return dup, err
		}
	}
	return nil, nil
}

// recordAppend tells every hook about a write.
func (b *Broker) recordAppend(a Append, base, appendTime int64) {
	for _, h := range b.hooks {
		h.RecordAppend(a, base, appendTime)
	}
}

// forgetTopic tells every hook that topic was deleted.
func (b *Broker) forgetTopic(topic string) {
	for _, h := range b.hooks {
		h.ForgetTopic(topic)
	}
}
