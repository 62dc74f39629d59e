package kafka

import (
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/errtext"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/producers"
	schemaregistry "github.com/eddy-streaming/eddy/internal/registry"
)

// errorTable maps the errors of the broker and of the services the front
// end calls (groups, producers, and the event store through the broker's
// append hooks) to Kafka error codes: the first entry whose error matches
// (errors.Is) wins. It is the only place Kafka codes are chosen for domain
// errors; docs/kafka.md lists them.
var errorTable = [...]struct {
	err  error
	code int16
}{
	// Broker.
	{broker.ErrUnknownTopic, kerr.UnknownTopicOrPartition.Code},
	{broker.ErrUnknownPartition, kerr.UnknownTopicOrPartition.Code},
	{broker.ErrInvalidTopic, kerr.InvalidTopicException.Code},
	{broker.ErrTopicExists, kerr.TopicAlreadyExists.Code},
	{broker.ErrInvalidPartitions, kerr.InvalidPartitions.Code},
	{broker.ErrInvalidReplicationFactor, kerr.InvalidReplicationFactor.Code},
	{broker.ErrInvalidConfig, kerr.InvalidConfig.Code},
	{broker.ErrViewSource, kerr.PolicyViolation.Code},
	{broker.ErrMessageTooLarge, kerr.MessageTooLarge.Code},
	{broker.ErrUnsupportedCompression, kerr.UnsupportedCompressionType.Code},
	{broker.ErrOffsetOutOfRange, kerr.OffsetOutOfRange.Code},
	{broker.ErrInvalidTimestamp, kerr.InvalidRequest.Code},
	{broker.ErrClosed, kerr.NotLeaderForPartition.Code},
	// A partition closed or deleted under a request: retriable, the
	// client refreshes its metadata and learns what happened.
	{broker.ErrPartitionClosed, kerr.NotLeaderForPartition.Code},
	// Batch validation: a CRC mismatch is CORRUPT_MESSAGE, anything else
	// INVALID_RECORD, at every Produce version (as Kafka).
	{broker.ErrCorruptBatch, kerr.CorruptMessage.Code},
	{broker.ErrInvalidBatch, kerr.InvalidRecord.Code},
	// DeleteRecords on an event-store topic that does not allow it, as
	// Kafka refuses it on a compacted topic.
	{broker.ErrDeleteRecordsRefused, kerr.PolicyViolation.Code},

	// Idempotent producers (the first append hook).
	{producers.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber.Code},
	{producers.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch.Code},
	{producers.ErrDuplicateSequence, kerr.DuplicateSequenceNumber.Code},
	{producers.ErrTransactionalBatch, kerr.InvalidTxnState.Code},
	{producers.ErrTransactionsUnsupported, kerr.UnsupportedVersion.Code},

	// Event store (the second append hook). A produce refused by the
	// expected-version check (a record with an eddy-expected-version
	// header that does not match its stream, or such a header on a topic
	// without eddy.streams=true) rejects the whole batch with
	// INVALID_RECORD; the error message names stream, expected and actual
	// version.
	{eventstore.ErrWrongExpectedVersion, kerr.InvalidRecord.Code},
	{eventstore.ErrInvalidExpectedVersion, kerr.InvalidRecord.Code},
	{eventstore.ErrNotStreamTopic, kerr.InvalidRecord.Code},
	// A keyed record on a partition other than its stream's.
	{eventstore.ErrWrongPartition, kerr.InvalidRecord.Code},
	// Retriable (not written; the client retries), by when the store has
	// loaded a topic created a moment ago by another path.
	{eventstore.ErrIndexNotReady, kerr.NotEnoughReplicas.Code},

	// Schema validation (the schema registry's append hook): a record
	// without the wire format, with an id not under its subject or (full
	// validation) not conforming rejects the batch; the message names the
	// record, subject and reason.
	{schemaregistry.ErrInvalidRecord, kerr.InvalidRecord.Code},

	// Consumer groups.
	{errNoCoordinator, kerr.CoordinatorNotAvailable.Code},
	{group.ErrInvalidGroupID, kerr.InvalidGroupID.Code},
	{group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout.Code},
	{group.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol.Code},
	{group.ErrUnknownMember, kerr.UnknownMemberID.Code},
	{group.ErrIllegalGeneration, kerr.IllegalGeneration.Code},
	{group.ErrRebalanceInProgress, kerr.RebalanceInProgress.Code},
	{group.ErrMemberIDRequired, kerr.MemberIDRequired.Code},
	{group.ErrFencedInstanceID, kerr.FencedInstanceID.Code},
	{group.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable.Code},
	{group.ErrGroupNotFound, kerr.GroupIDNotFound.Code},
	{group.ErrNonEmptyGroup, kerr.NonEmptyGroup.Code},
	{group.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic.Code},
	{group.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition.Code},
	{group.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge.Code},
	{group.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached.Code},
}

// ErrorCode translates an error from the broker or a service in Config to
// a Kafka error code through errorTable: 0 for nil, UNKNOWN_SERVER_ERROR
// when nothing matches.
func ErrorCode(err error) int16 {
	if err == nil {
		return 0
	}
	var ke *kerr.Error
	if errors.As(err, &ke) {
		return ke.Code // a Kafka error as is (authorization failures)
	}
	for _, e := range errorTable {
		if errors.Is(err, e.err) {
			return e.code
		}
	}
	if errtext.IsStorage(err) {
		// Disk full, I/O error, read-only or out of descriptors: the
		// client may retry (Kafka answers the same).
		return kerr.KafkaStorageError.Code
	}
	return kerr.UnknownServerError.Code
}

// errMessage returns err's text for response fields that carry one, with
// absolute paths cut to their last elements.
func errMessage(err error) *string {
	if err == nil {
		return nil
	}
	s := errtext.StripPaths(err.Error())
	return &s
}
