package broker

import "errors"

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
)

// ErrInvalidTimestamp is returned by ListOffset for a negative timestamp
// that is not one of the special values.
var ErrInvalidTimestamp = errors.New("invalid timestamp")
