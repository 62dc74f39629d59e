package broker

import (
	"github.com/eddy-streaming/eddy/internal/record"
)

// AppendHook is the seam where idempotent-producer sequence checks plug in
// (internal/producers). Broker.Write calls CheckAppend and RecordAppend
// under the partition lock, around commitlog.Write: check → Write → record.
// Both must be fast and must not call back into the Broker.
type AppendHook interface {
	// CheckAppend sees the validated batch headers before the write. An
	// error rejects the append (the front end maps it to a protocol code;
	// see kafka.RegisterError). A non-nil Duplicate acknowledges the append
	// with an earlier write's offsets without writing anything.
	CheckAppend(topic string, partition int32, hs []record.BatchHeader) (*Duplicate, error)
	// RecordAppend sees the headers after a successful write; base is the
	// offset given to the first batch and appendTime the LogAppendTime
	// stamped (-1 for CreateTime topics). Header BaseOffset fields still
	// hold what the producer sent.
	RecordAppend(topic string, partition int32, hs []record.BatchHeader, base, appendTime int64)
}

// Duplicate describes the earlier write a retried append repeats.
type Duplicate struct {
	Base, Next    int64
	LogAppendTime int64
}

// SetAppendHook installs h. Call it before serving traffic; it is not
// synchronized with concurrent writes.
func (b *Broker) SetAppendHook(h AppendHook) { b.hook = h }

// TopicForgetter is implemented by hooks that keep per-topic state (the
// idempotent producers' sequences): DeleteTopic calls ForgetTopic once the
// topic's partitions refuse writes, so a topic re-created under the same
// name starts without the old topic's state.
type TopicForgetter interface {
	ForgetTopic(topic string)
}

// forgetTopic tells the installed hook, if it keeps per-topic state, that
// topic was deleted.
func (b *Broker) forgetTopic(topic string) {
	if f, ok := b.hook.(TopicForgetter); ok {
		f.ForgetTopic(topic)
	}
}
