package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// AlterConfigs: v0-2
//
// Behaviour: replaces all of a topic's overrides with the given set
// (names missing from the request return to their defaults), as Kafka's
// non-incremental AlterConfigs does; persisted in meta and applied to open
// logs at once. Unknown names or bad values: INVALID_CONFIG, nothing
// changed. ValidateOnly changes nothing. Broker configs are static in
// Eddy: INVALID_REQUEST.
//
// Version notes: v2 flexible.
func init() { Register(kmsg.AlterConfigs, 0, 2, handleAlterConfigs) }

func handleAlterConfigs(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.AlterConfigsRequest)
	resp := r.ResponseKind().(*kmsg.AlterConfigsResponse)
	for _, rr := range r.Resources {
		res := kmsg.NewAlterConfigsResponseResource()
		res.ResourceType, res.ResourceName = rr.ResourceType, rr.ResourceName
		if code, msg := s.configDenied(req, opAlterConfigs, rr.ResourceType, rr.ResourceName); code != 0 {
			res.ErrorCode, res.ErrorMessage = code, msg
		} else if rr.ResourceType != kmsg.ConfigResourceTypeTopic {
			res.ErrorCode = kerr.InvalidRequest.Code
			msg := "only topic configs can be altered; broker configs are static in Eddy"
			res.ErrorMessage = &msg
		} else {
			configs := make(map[string]string, len(rr.Configs))
			for _, c := range rr.Configs {
				if c.Value != nil {
					configs[c.Name] = *c.Value
				}
			}
			if err := s.b.SetTopicConfigs(rr.ResourceName, configs, r.ValidateOnly); err != nil {
				res.ErrorCode = ErrorCode(err)
				res.ErrorMessage = errMessage(err)
			}
		}
		s.countErr(req, res.ErrorCode)
		resp.Resources = append(resp.Resources, res)
	}
	return Respond(resp)
}
