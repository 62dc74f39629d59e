package kafka

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/share"
)

// shareCoord returns the share-group coordinator, or nil when none is
// configured.
func (s *Server) shareCoord() *share.Coordinator { return s.cfg.Share }

// errNoShareCoordinator is answered when share groups are not configured.
var errNoShareCoordinator = errors.New("share groups are not enabled on this server")

// shareErrCode maps errors of internal/share (and the broker) to Kafka
// codes.
func shareErrCode(err error) int16 {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, errNoShareCoordinator), errors.Is(err, share.ErrClosed):
		return kerr.CoordinatorNotAvailable.Code
	case errors.Is(err, share.ErrGroupNotFound):
		return kerr.GroupIDNotFound.Code
	case errors.Is(err, share.ErrUnknownMember):
		return kerr.UnknownMemberID.Code
	case errors.Is(err, share.ErrFencedEpoch):
		return kerr.FencedMemberEpoch.Code
	case errors.Is(err, share.ErrInvalidRequest), errors.Is(err, share.ErrInvalidAck):
		return kerr.InvalidRequest.Code
	case errors.Is(err, share.ErrSessionNotFound):
		return kerr.ShareSessionNotFound.Code
	case errors.Is(err, share.ErrInvalidSession):
		return kerr.InvalidShareSessionEpoch.Code
	case errors.Is(err, share.ErrInvalidRecordState):
		return kerr.InvalidRecordState.Code
	case errors.Is(err, share.ErrUnknownPartition), errors.Is(err, broker.ErrUnknownTopic), errors.Is(err, broker.ErrUnknownPartition):
		return kerr.UnknownTopicOrPartition.Code
	case errors.Is(err, share.ErrGroupNotEmpty):
		return kerr.NonEmptyGroup.Code
	}
	var ce *share.ConfigError
	if errors.As(err, &ce) {
		return kerr.InvalidConfig.Code
	}
	return ErrorCode(err)
}

// shareAckBatches converts wire acknowledgement batches.
func shareAckBatches[B any](in []B, get func(B) (int64, int64, []int8)) []share.AckBatch {
	out := make([]share.AckBatch, 0, len(in))
	for _, b := range in {
		first, last, types := get(b)
		ts := make([]share.AckType, len(types))
		for i, t := range types {
			ts[i] = share.AckType(t)
		}
		out = append(out, share.AckBatch{First: first, Last: last, Types: ts})
	}
	return out
}

// describeGroupConfigs answers DescribeConfigs for resource type GROUP.
func (s *Server) describeGroupConfigs(name string, add func(name, value string, src kmsg.ConfigSource, readOnly bool, kind broker.ConfigKind, doc string)) (int16, *string) {
	c := s.shareCoord()
	if c == nil {
		return kerr.InvalidRequest.Code, errMessage(errNoShareCoordinator)
	}
	for _, e := range c.GroupConfigs(name) {
		src := kmsg.ConfigSourceGroupConfig
		if e.Default {
			src = kmsg.ConfigSourceDefaultConfig
		}
		add(e.Name, e.Value, src, false, broker.KindString, e.Doc)
	}
	return 0, nil
}

// alterGroupConfigs answers IncrementalAlterConfigs for resource type
// GROUP: SET and DELETE of share-group configs.
func (s *Server) alterGroupConfigs(name string, cfgs []kmsg.IncrementalAlterConfigsRequestResourceConfig, validateOnly bool) (int16, *string) {
	c := s.shareCoord()
	if c == nil {
		return kerr.InvalidRequest.Code, errMessage(errNoShareCoordinator)
	}
	ops := make([]share.ConfigOp, 0, len(cfgs))
	for _, cf := range cfgs {
		op := share.ConfigOp{Name: cf.Name}
		switch cf.Op {
		case kmsg.IncrementalAlterConfigOpSet:
			if cf.Value == nil {
				return kerr.InvalidConfig.Code, errMessage(errors.New("SET of " + cf.Name + " needs a value"))
			}
			op.Value = *cf.Value
		case kmsg.IncrementalAlterConfigOpDelete:
			op.Delete = true
		default:
			return kerr.InvalidConfig.Code, errMessage(errors.New("group configs are not lists: only SET and DELETE apply to " + cf.Name))
		}
		ops = append(ops, op)
	}
	if err := c.AlterConfigs(name, ops, validateOnly); err != nil {
		return shareErrCode(err), errMessage(err)
	}
	return 0, nil
}

func errShareGroupNotFound(group string) error {
	return fmt.Errorf("%w: %s", share.ErrGroupNotFound, group)
}

// listShareGroups lists the share groups for ListGroups, filtered by
// state and type as Kafka does (type "share").
func (s *Server) listShareGroups(states, types []string) []kmsg.ListGroupsResponseGroup {
	c := s.shareCoord()
	if c == nil || !matchesFilter(types, "share") {
		return nil
	}
	var out []kmsg.ListGroupsResponseGroup
	for _, g := range c.List() {
		if !matchesFilter(states, g.State) {
			continue
		}
		rg := kmsg.NewListGroupsResponseGroup()
		rg.Group, rg.ProtocolType, rg.GroupState, rg.GroupType = g.Group, "share", g.State, "share"
		out = append(out, rg)
	}
	return out
}

func matchesFilter(filter []string, v string) bool {
	if len(filter) == 0 {
		return true
	}
	for _, f := range filter {
		if strings.EqualFold(f, v) {
			return true
		}
	}
	return false
}
