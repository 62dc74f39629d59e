package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// CreatePartitions: v0-3
//
// Behaviour: grows a topic to Count partitions (INVALID_PARTITIONS when
// not larger); a manual Assignment must give every new partition the
// replicas [NodeID] (INVALID_REPLICA_ASSIGNMENT); ValidateOnly changes
// nothing; a topic named twice: INVALID_REQUEST.
//
// Version notes: v2 flexible.
func init() { Register(kmsg.CreatePartitions, 0, 3, handleCreatePartitions) }

func handleCreatePartitions(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	for _, rt := range r.Topics {
		t := kmsg.NewCreatePartitionsResponseTopic()
		t.Topic = rt.Topic
		var err error
		switch {
		case seen[rt.Topic] > 1:
			t.ErrorCode = kerr.InvalidRequest.Code
			err = fmt.Errorf("topic %s is named more than once", rt.Topic)
		case !s.allowed(req, opAlter, rtTopic, rt.Topic):
			t.ErrorCode = kerr.TopicAuthorizationFailed.Code
			err = errors.New(msgTopicAuth)
		default:
			for _, a := range rt.Assignment {
				if len(a.Replicas) != 1 || a.Replicas[0] != NodeID {
					t.ErrorCode = kerr.InvalidReplicaAssignment.Code
					err = fmt.Errorf("every new partition's replicas must be [%d]", NodeID)
				}
			}
			if err == nil {
				err = s.b.CreatePartitions(rt.Topic, rt.Count, r.ValidateOnly)
			}
		}
		if err != nil {
			if t.ErrorCode == 0 {
				t.ErrorCode = ErrorCode(err)
			}
			t.ErrorMessage = errMessage(err)
			s.countErr(req, t.ErrorCode)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return Respond(resp)
}
