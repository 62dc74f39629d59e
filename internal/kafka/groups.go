package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/group"
)

// groupsKey is the Config.Ext key of the group coordinator.
type groupsKey struct{}

// WithGroups plugs the consumer-group coordinator into cfg; without it the
// group APIs answer COORDINATOR_NOT_AVAILABLE.
func WithGroups(cfg *Config, c *group.Coordinator) {
	if cfg.Ext == nil {
		cfg.Ext = map[any]any{}
	}
	cfg.Ext[groupsKey{}] = c
}

// groups returns the coordinator, or nil when none is plugged in.
func (s *Server) groups() *group.Coordinator {
	c, _ := s.Ext(groupsKey{}).(*group.Coordinator)
	return c
}

// errNoCoordinator is answered when no coordinator is plugged in.
var errNoCoordinator = errors.New("no group coordinator configured")

func init() {
	RegisterError(errNoCoordinator, kerr.CoordinatorNotAvailable.Code)
	RegisterError(group.ErrInvalidGroupID, kerr.InvalidGroupID.Code)
	RegisterError(group.ErrInvalidSessionTimeout, kerr.InvalidSessionTimeout.Code)
	RegisterError(group.ErrInconsistentProtocol, kerr.InconsistentGroupProtocol.Code)
	RegisterError(group.ErrUnknownMember, kerr.UnknownMemberID.Code)
	RegisterError(group.ErrIllegalGeneration, kerr.IllegalGeneration.Code)
	RegisterError(group.ErrRebalanceInProgress, kerr.RebalanceInProgress.Code)
	RegisterError(group.ErrMemberIDRequired, kerr.MemberIDRequired.Code)
	RegisterError(group.ErrFencedInstanceID, kerr.FencedInstanceID.Code)
	RegisterError(group.ErrCoordinatorNotAvailable, kerr.CoordinatorNotAvailable.Code)
	RegisterError(group.ErrGroupNotFound, kerr.GroupIDNotFound.Code)
	RegisterError(group.ErrNonEmptyGroup, kerr.NonEmptyGroup.Code)
	RegisterError(group.ErrGroupSubscribedToTopic, kerr.GroupSubscribedToTopic.Code)
	RegisterError(group.ErrUnknownTopicOrPartition, kerr.UnknownTopicOrPartition.Code)
	RegisterError(group.ErrOffsetMetadataTooLarge, kerr.OffsetMetadataTooLarge.Code)
	RegisterError(group.ErrGroupMaxSizeReached, kerr.GroupMaxSizeReached.Code)
}

// groupErrCode maps a coordinator error; a cancelled context (connection
// closed or server shutting down) becomes COORDINATOR_NOT_AVAILABLE so a
// client that is still there retries elsewhere.
func groupErrCode(err error) int16 {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return kerr.CoordinatorNotAvailable.Code
	}
	return ErrorCode(err)
}

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}
