package broker

import (
	"errors"
	"fmt"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/record"
)

// Sentinel errors returned by Broker methods. Front ends translate them to
// protocol codes (kafka: kerr; httpapi: status codes); see docs/kafka.md.
var (
	// ErrUnknownTopic is returned when a topic does not exist (and was not
	// auto-created).
	ErrUnknownTopic = errors.New("unknown topic")
	// ErrUnknownPartition is returned when a topic exists but the partition
	// number is outside it.
	ErrUnknownPartition = errors.New("unknown partition")
	// ErrInvalidTopic is returned for topic names Kafka would refuse: empty,
	// longer than 249 characters, "." or "..", characters outside
	// [a-zA-Z0-9._-], or colliding with an existing topic once '.' and '_'
	// are treated alike.
	ErrInvalidTopic = errors.New("invalid topic name")
	// ErrTopicExists is returned by CreateTopic for an existing topic.
	ErrTopicExists = errors.New("topic already exists")
	// ErrInvalidPartitions is returned for a partition count below 1 or,
	// from CreatePartitions, not above the current count.
	ErrInvalidPartitions = errors.New("invalid number of partitions")
	// ErrInvalidReplicationFactor is returned for a replication factor other
	// than 1 or -1 (default): Eddy has one node.
	ErrInvalidReplicationFactor = errors.New("invalid replication factor")
	// ErrInvalidConfig is returned for unknown topic config names and values
	// out of range.
	ErrInvalidConfig = errors.New("invalid config")
	// ErrMessageTooLarge is returned when a record batch is larger than the
	// topic's max.message.bytes.
	ErrMessageTooLarge = errors.New("record batch larger than max.message.bytes")
	// ErrUnsupportedCompression is returned for a compression codec id
	// outside 0-4.
	ErrUnsupportedCompression = errors.New("unsupported compression codec")
	// ErrOffsetOutOfRange is returned by Fetch for an offset below the log
	// start offset or above the log end offset.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("broker closed")
	// ErrPartitionClosed is returned when a partition is closed or deleted
	// under a request (its topic deleted, the broker closing): retriable,
	// a client refreshes its metadata and learns what happened.
	ErrPartitionClosed = errors.New("partition closed")
	// ErrInvalidBatch is returned by Write for a record batch that fails
	// validation (bad magic, lengths, record count); the error also wraps
	// the *record.BatchError saying why.
	ErrInvalidBatch = errors.New("invalid record batch")
	// ErrCorruptBatch is returned by Write for a record batch whose CRC
	// does not match its bytes; it also wraps the *record.BatchError.
	ErrCorruptBatch = errors.New("corrupt record batch")
)

// logErr gives an error from a partition's log the broker's own sentinel
// where one applies, so front ends map broker errors only.
func logErr(err error) error {
	if errors.Is(err, commitlog.ErrClosed) {
		return fmt.Errorf("%w: %w", ErrPartitionClosed, err)
	}
	return err
}

// batchErr wraps a batch validation error in ErrInvalidBatch or, for a CRC
// mismatch, ErrCorruptBatch.
func batchErr(err error) error {
	var be *record.BatchError
	if errors.As(err, &be) && be.Corrupt {
		return fmt.Errorf("%w: %w", ErrCorruptBatch, err)
	}
	return fmt.Errorf("%w: %w", ErrInvalidBatch, err)
}

// ErrInvalidTimestamp is returned by ListOffset for a negative timestamp
// that is not one of the special values.
var ErrInvalidTimestamp = errors.New("invalid timestamp")
