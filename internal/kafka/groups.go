package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/group"
)

// groups returns the coordinator, or nil when none is configured.
func (s *Server) groups() *group.Coordinator { return s.cfg.Groups }

// memberGroup gates a classic group membership request (JoinGroup,
// SyncGroup, Heartbeat, LeaveGroup): READ on the group, and a coordinator
// to answer it. It returns the coordinator, or the error code to answer.
func (s *Server) memberGroup(req *Request, groupID string) (*group.Coordinator, int16) {
	if !s.allowed(req, opRead, rtGroup, groupID) {
		return nil, kerr.GroupAuthorizationFailed.Code
	}
	c := s.groups()
	if c == nil {
		return nil, ErrorCode(errNoCoordinator)
	}
	return c, 0
}

// errNoCoordinator is answered when no coordinator is plugged in.
var errNoCoordinator = errors.New("no group coordinator configured")

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
