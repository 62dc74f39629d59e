package broker

import (
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/commitlog"
)

// ConfigStreamsAllowDeleteRecords lets DeleteRecords move the log start
// offset of an event-store topic (eddy.streams=true), which otherwise
// refuses it: an event store keeps its history. A topic config, so any
// admin client can set it (kafka-configs --alter --add-config
// eddy.streams.allow.delete.records=true) before deleting.
const ConfigStreamsAllowDeleteRecords = "eddy.streams.allow.delete.records"

func init() {
	configDefs[ConfigStreamsAllowDeleteRecords] = configDef{kind: KindString, fixedDef: "false", check: oneOf("true", "false"),
		doc: "Allow DeleteRecords on an event-store topic (eddy.streams=true), which refuses it by default."}
}

// ErrDeleteRecordsRefused is returned by DeleteRecords on an event-store
// topic without eddy.streams.allow.delete.records=true.
var ErrDeleteRecordsRefused = errors.New("delete records refused")

// DeleteRecords moves a partition's log start offset up to offset (-1: the
// high watermark), as Kafka's DeleteRecords: records below it can no
// longer be fetched, whole segments below it are deleted, and the new
// start is durable before it returns (commitlog.Log.DeleteRecordsBefore).
// It returns the log start offset afterwards (Kafka's low watermark).
// Errors: ErrUnknownTopic, ErrUnknownPartition, ErrOffsetOutOfRange for an
// offset above the high watermark or below -1, ErrDeleteRecordsRefused on
// an event-store topic that does not allow it.
func (b *Broker) DeleteRecords(topic string, part int32, offset int64) (int64, error) {
	p, err := b.partition(topic, part)
	if err != nil {
		return -1, err
	}
	b.mu.RLock()
	t := b.mu.topics[topic]
	streams, allow := false, false
	if t != nil {
		streams = t.overrides[ConfigStreams] == "true"
		allow = t.overrides[ConfigStreamsAllowDeleteRecords] == "true"
	}
	b.mu.RUnlock()
	if streams && !allow {
		return -1, fmt.Errorf("%w: topic %q is an event-store topic (%s=true), which keeps its history; "+
			"to delete records anyway set the topic config %s=true "+
			"(kafka-configs --alter --entity-type topics --entity-name %s --add-config %s=true)",
			ErrDeleteRecordsRefused, topic, ConfigStreams, ConfigStreamsAllowDeleteRecords, topic, ConfigStreamsAllowDeleteRecords)
	}
	if offset == -1 {
		offset = p.log.HighWatermark()
	}
	if offset < 0 {
		return -1, fmt.Errorf("%w: delete records before %d", ErrOffsetOutOfRange, offset)
	}
	before := p.log.LogStartOffset()
	start, n, err := p.log.DeleteRecordsBefore(offset)
	if errors.Is(err, commitlog.ErrOffsetOutOfRange) {
		return -1, fmt.Errorf("%w: %s-%d: %v", ErrOffsetOutOfRange, topic, part, err)
	}
	if err != nil {
		return -1, fmt.Errorf("delete records %s-%d: %w", topic, part, err)
	}
	if start != before || n > 0 {
		b.log.Info("deleted records", "topic", topic, "partition", part, "log_start_offset", start, "previous_log_start_offset", before, "segments_deleted", n)
	}
	return start, nil
}
