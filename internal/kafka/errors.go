package kafka

import (
	"errors"
	"sync"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/record"
)

var errTable = struct {
	sync.RWMutex
	entries []errEntry
}{entries: []errEntry{
	{broker.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{broker.ErrUnknownPartition, kerr.UnknownTopicOrPartition.Code},
	{broker.ErrInvalidTopic, kerr.InvalidTopicException.Code},
	{broker.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{broker.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{broker.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{broker.ErrInvalidConfig, kerr.InvalidConfig.Code},
	{broker.ErrMessageTooLarge, kerr.MessageTooLarge.Code},
	{broker.ErrUnsupportedCompression, kerr.UnsupportedCompressionType.Code},
	{broker.ErrOffsetOutOfRange, kerr.OffsetOutOfRange.Code},
	{broker.ErrInvalidTimestamp, kerr.InvalidRequest.Code},
	{broker.ErrClosed, kerr.NotLeaderForPartition.Code},
	// A partition closed or deleted under a request: retriable, the
	// client refreshes its metadata and learns what happened.
	{commitlog.ErrClosed, kerr.NotLeaderForPartition.Code},
}}

type errEntry struct {
	err  error
	code int16
}

// RegisterError maps every error matching target (errors.Is) to a Kafka
// error code, so packages plugged in through broker hooks (producers,
// groups) can have their sentinels translated without editing this file.
// Later registrations take precedence. Call it from init.
func RegisterError(target error, code int16) {
	errTable.Lock()
	defer errTable.Unlock()
	errTable.entries = append([]errEntry{{target, code}}, errTable.entries...)
}

// ErrorCode translates an error from the broker (or a registered package) to
// a Kafka error code: 0 for nil, UNKNOWN_SERVER_ERROR when nothing matches.
// Batch validation errors become CORRUPT_MESSAGE for CRC mismatches and
// INVALID_RECORD otherwise; ProduceErrorCode downgrades the latter for old
// Produce versions.
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var be *record.BatchError
	if errors.As(err, &be) {
		if be.Corrupt {
			return kerr.CorruptMessage.Code
		}
		return kerr.InvalidRecord.Code
	}
	errTable.RLock()
	defer errTable.RUnlock()
	for _, e := range errTable.entries {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	return kerr.UnknownServerError.Code
}

// errMessage returns err's text for response fields that carry one.
func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := err.Error()
	return &s
}
