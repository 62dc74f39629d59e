package kafka

import (
	"context"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ShareGroupDescribe: v0-1
//
// Behaviour: each group's state (Empty or Stable), epoch and members with
// their subscriptions and assignments; an unknown group GROUP_ID_NOT_FOUND.
// The assignor is "simple", as Kafka's.
//
// Version notes: v0 is Kafka 4.0's early access, the same fields as v1,
// KIP-932's stable version.
func init() { Register(kmsg.ShareGroupDescribe, 0, 1, handleShareGroupDescribe) }

func handleShareGroupDescribe(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ShareGroupDescribeRequest)
	resp := r.ResponseKind().(*kmsg.ShareGroupDescribeResponse)
	c := s.shareCoord()
	for _, id := range r.GroupIDs {
		rg := kmsg.NewShareGroupDescribeResponseGroup()
		rg.GroupID = id
		if c == nil {
			rg.ErrorCode, rg.ErrorMessage = shareErrCode(errNoShareCoordinator), errMessage(errNoShareCoordinator)
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		if !s.allowed(req, opDescribe, rtGroup, id) {
			rg.ErrorCode, rg.ErrorMessage = kerr.GroupAuthorizationFailed.Code, errMsg(msgGroupAuth)
			s.countErr(req, rg.ErrorCode)
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		info, err := c.Describe(id)
		if err != nil {
			rg.ErrorCode, rg.ErrorMessage = shareErrCode(err), errMessage(err)
			s.countErr(req, rg.ErrorCode)
			resp.Groups = append(resp.Groups, rg)
			continue
		}
		rg.GroupState = info.State
		rg.GroupEpoch, rg.AssignmentEpoch = info.Epoch, info.Epoch
		rg.Assignor = "simple"
		rg.AuthorizedOperations = -2147483648
		if r.IncludeAuthorizedOperations {
			rg.AuthorizedOperations = s.authorizedOps(req, rtGroup, id, groupOps)
		}
		for _, m := range info.Members {
			rm := kmsg.NewShareGroupDescribeResponseGroupMember()
			rm.MemberID, rm.MemberEpoch, rm.ClientID, rm.ClientHost = m.MemberID, m.Epoch, m.ClientID, m.ClientHost
			if m.Rack != "" {
				rack := m.Rack
				rm.RackID = &rack
			}
			rm.SubscribedTopicNames = append([]string{}, m.Topics...)
			topics := make([]string, 0, len(m.Assignment))
			for t := range m.Assignment {
				topics = append(topics, t)
			}
			sort.Strings(topics)
			for _, t := range topics {
				tp := kmsg.NewShareGroupDescribeResponseGroupMemberAssignmentTopicPartition()
				tp.Topic = t
				if ti, err := s.b.Topic(t); err == nil {
					tp.TopicID = ti.ID
				}
				tp.Partitions = m.Assignment[t]
				rm.Assignment.TopicPartitions = append(rm.Assignment.TopicPartitions, tp)
			}
			rg.Members = append(rg.Members, rm)
		}
		resp.Groups = append(resp.Groups, rg)
	}
	return Respond(resp)
}
