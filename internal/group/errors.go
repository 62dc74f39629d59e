package group

import "errors"

// MaxGroupIDLength is the longest group id accepted: Kafka's non-compact
// string limit, which also bounds the stored key format.
const MaxGroupIDLength = 32767

// Sentinel errors returned by the Coordinator. Each matches one Kafka error
// code; the kafka package translates them at the protocol edge. The comment
// on each says where Kafka returns the code and where we return it.
var (
	// ErrInvalidGroupID: an empty group id on JoinGroup, SyncGroup,
	// Heartbeat or LeaveGroup (offset and admin APIs accept "" as Kafka does);
	// any group id longer than MaxGroupIDLength.
	ErrInvalidGroupID = errors.New("invalid group id")
	// ErrInvalidSessionTimeout: JoinGroup with a session timeout outside
	// [MinSessionTimeout, MaxSessionTimeout].
	ErrInvalidSessionTimeout = errors.New("invalid session timeout")
	// ErrInconsistentProtocol: JoinGroup with an empty protocol type or no
	// protocols, a protocol type other than the group's, or no protocol in
	// common with every member; SyncGroup naming another protocol.
	ErrInconsistentProtocol = errors.New("inconsistent group protocol")
	// ErrUnknownMember: a member id the group does not know (also every
	// member request to an Empty group, and member commits to a group with no
	// such member).
	ErrUnknownMember = errors.New("unknown member id")
	// ErrIllegalGeneration: a member request carrying another generation.
	ErrIllegalGeneration = errors.New("illegal generation")
	// ErrRebalanceInProgress: Heartbeat and SyncGroup while the group is
	// PreparingRebalance, commits while it is CompletingRebalance, and parked
	// SyncGroups when a new rebalance starts.
	ErrRebalanceInProgress = errors.New("rebalance in progress")
	// ErrMemberIDRequired: the first step of the KIP-394 two-step join
	// (JoinGroup v4+ without a member id); JoinResult.MemberID holds the id to
	// join with.
	ErrMemberIDRequired = errors.New("member id required")
	// ErrFencedInstanceID: a static member (group.instance.id) whose member id
	// was replaced by a newer instance with the same instance id.
	ErrFencedInstanceID = errors.New("fenced instance id")
	// ErrCoordinatorNotAvailable: the coordinator is closed, or durable
	// storage failed; clients retry.
	ErrCoordinatorNotAvailable = errors.New("coordinator not available")
	// ErrGroupNotFound: DeleteGroups or OffsetDelete of a group that does not
	// exist; a member commit (generation >= 0) to a group that does not exist
	// (OffsetCommit before v9 reports it as ILLEGAL_GENERATION, as Kafka).
	ErrGroupNotFound = errors.New("group id not found")
	// ErrNonEmptyGroup: DeleteGroups of a group with members, OffsetDelete on
	// a non-consumer group with members.
	ErrNonEmptyGroup = errors.New("group is not empty")
	// ErrGroupSubscribedToTopic: OffsetDelete of a partition whose topic a
	// member of the (consumer protocol) group subscribes to.
	ErrGroupSubscribedToTopic = errors.New("group subscribed to topic")
	// ErrUnknownTopicOrPartition: OffsetCommit for a partition that does not
	// exist.
	ErrUnknownTopicOrPartition = errors.New("unknown topic or partition")
	// ErrOffsetMetadataTooLarge: OffsetCommit metadata longer than
	// Config.MaxMetadataSize.
	ErrOffsetMetadataTooLarge = errors.New("offset metadata too large")
	// ErrGroupMaxSizeReached: JoinGroup of a new member into a group already
	// holding Config.MaxGroupSize members.
	ErrGroupMaxSizeReached = errors.New("group max size reached")
)
