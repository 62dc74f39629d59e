package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// IncrementalAlterConfigs: v0-1
//
// Behaviour: applies SET, DELETE (back to the default), APPEND and
// SUBTRACT (list configs only, e.g. cleanup.policy; INVALID_CONFIG
// otherwise) to a topic's overrides, all or nothing per resource;
// persisted in meta and applied to open logs at once. ValidateOnly changes
// nothing. Group resources take SET and DELETE of share-group configs
// (internal/share). Broker configs are static in Eddy: INVALID_REQUEST.
//
// Version notes: v1 flexible.
func init() { Register(kmsg.IncrementalAlterConfigs, 0, 1, handleIncrementalAlterConfigs) }

func handleIncrementalAlterConfigs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.IncrementalAlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.IncrementalAlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewIncrementalAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code, msg := s.configDenied(req, opAlterConfigs, rr.ResourceType, rr.ResourceName); code != 0 {
			res.ErrorCode, res.ErrorMessage = code, msg
		} else if rr.ResourceType == kmsg.ConfigResourceTypeGroupConfig {
			res.ErrorCode, res.ErrorMessage = s.alterGroupConfigs(rr.ResourceName, rr.Configs, r.ValidateOnly)
		} else if rr.ResourceType != kmsg.ConfigResourceTypeTopic {
			res.ErrorCode = kerr.InvalidRequest.Code
			msg := "only topic configs can be altered; broker configs are static in Eddy"
			res.ErrorMessage = &msg
		} else {
			ops := make([]broker.ConfigOp, 0, len(rr.Configs))
			for _, c := range rr.Configs {
				op := broker.ConfigOp{Name: c.Name, Op: int8(c.Op)}
				if c.Value != nil {
					op.Value = *c.Value
				}
				ops = append(ops, op)
			}
			if err := s.b.AlterTopicConfigs(rr.ResourceName, ops, r.ValidateOnly); err != nil {
				res.ErrorCode = ErrorCode(err)
				res.ErrorMessage = errMessage(err)
			}
		}
		s.countErr(req, res.ErrorCode)
		resp.Resources = append(resp.Resources, res)
	}
	return Respond(resp)
}
