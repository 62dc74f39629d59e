package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// DeleteTopics: v1-6
//
// Behaviour: deletes each named topic (v6: by name or id) with its data;
// unknown names UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID.
// Fetches parked on a deleted topic wake and see the error.
//
// Version notes: v1 is Kafka 4's minimum; v4 flexible; v5 ErrorMessage;
// v6 topics by name or id.
func init() { Register(kmsg.DeleteTopics, 1, 6, handleDeleteTopics) }

func handleDeleteTopics(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DeleteTopicsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteTopicsResponse)
	type target struct {
		name *string
		id   [16]byte
	}
	var targets []target
	if r.Version >= 6 {
		for _, t := range r.Topics {
			targets = append(targets, target{t.Topic, t.TopicID})
		}
	} else {
		for i := range r.TopicNames {
			targets = append(targets, target{name: &r.TopicNames[i]})
		}
	}
	for _, tg := range targets {
		t := kmsg.NewDeleteTopicsResponseTopic()
		t.Topic, t.TopicID = tg.name, tg.id
		name := ""
		switch {
		case tg.name != nil:
			name = *tg.name
			if !s.allowed(req, opDelete, rtTopic, name) {
				t.ErrorCode = kerr.TopicAuthorizationFailed.Code
				t.ErrorMessage = errMsg(msgTopicAuth)
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
			if info, err := s.b.Topic(name); err == nil {
				t.TopicID = info.ID
			}
		case tg.id != [16]byte{}:
			n, ok := s.b.TopicByID(tg.id)
			if ok && !s.allowed(req, opDelete, rtTopic, n) {
				// A topic the principal may not even DESCRIBE stays
				// unknown, its name undisclosed.
				t.ErrorCode = kerr.TopicAuthorizationFailed.Code
				if !s.allowed(req, opDescribe, rtTopic, n) {
					t.ErrorCode = kerr.UnknownTopicID.Code
				} else {
					t.Topic = &n
				}
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
			if !ok {
				t.ErrorCode = kerr.UnknownTopicID.Code
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
			name = n
			t.Topic = &n
		default:
			t.ErrorCode = kerr.InvalidRequest.Code
			resp.Topics = append(resp.Topics, t)
			continue
		}
		if err := s.b.DeleteTopic(name); err != nil {
			t.ErrorCode = ErrorCode(err)
			t.ErrorMessage = errMessage(err)
			s.countErr(req, t.ErrorCode)
		} else {
			s.log.Info("deleted topic", "topic", name)
		}
		resp.Topics = append(resp.Topics, t)
	}
	return Respond(resp)
}
