package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// OffsetFetch: v0-9
//
// Behaviour: committed offsets with their leader epoch and metadata; -1
// for partitions (and groups) without a commit, with no error, as Kafka.
// A null topic list (v2+) returns every committed offset of the group.
// RequireStable (v7+) has nothing to wait for: Eddy has no transactions.
//
// Version notes: v1 is what librdkafka and kafka-python 2.0.2 use; v2
// null topics = all and a top-level error; v3 throttle; v5 leader epoch;
// v6 flexible; v7 require stable; v8 batched groups (one answer per group);
// v9 member id/epoch (KIP-848; ignored for classic groups). v10 (topic
// ids) is not offered.
func init() { Register(kmsg.OffsetFetch, 0, 9, handleOffsetFetch) }

func handleOffsetFetch(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.OffsetFetchRequest)
	resp := r.ResponseKind().(*kmsg.OffsetFetchResponse)
	c := s.groups()
	return Defer(func(ctx context.Context) Reply {
		if r.Version >= 8 {
			for _, g := range r.Groups {
				topics := topicPartitions(g.Topics, func(t kmsg.OffsetFetchRequestGroupTopic) (string, []int32) { return t.Topic, t.Partitions })
				resp.Groups = append(resp.Groups, fetchGroup(ctx, s, req, c, g.Group, topics))
			}
			return Respond(resp)
		}
		// v0-7 ask for one group and answer at the top level.
		topics := topicPartitions(r.Topics, func(t kmsg.OffsetFetchRequestTopic) (string, []int32) { return t.Topic, t.Partitions })
		rg := fetchGroup(ctx, s, req, c, r.Group, topics)
		if rg.ErrorCode != 0 {
			resp.ErrorCode = rg.ErrorCode
			// v0-1 have no top-level error: put it on each partition.
			for _, t := range r.Topics {
				rt := kmsg.NewOffsetFetchResponseTopic()
				rt.Topic = t.Topic
				for _, p := range t.Partitions {
					rp := kmsg.NewOffsetFetchResponseTopicPartition()
					rp.Partition, rp.Offset, rp.ErrorCode = p, -1, resp.ErrorCode
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
			return Respond(resp)
		}
		for _, gt := range rg.Topics {
			rt := kmsg.NewOffsetFetchResponseTopic()
			rt.Topic = gt.Topic
			for _, p := range gt.Partitions {
				rt.Partitions = append(rt.Partitions, kmsg.OffsetFetchResponseTopicPartition(p))
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Respond(resp)
	})
}

// topicPartitions converts a request's topic list for the coordinator. A
// nil list (v2+) stays nil: it asks for every committed offset.
func topicPartitions[T any](ts []T, get func(T) (string, []int32)) []group.TopicPartitions {
	if ts == nil {
		return nil
	}
	out := make([]group.TopicPartitions, 0, len(ts))
	for _, t := range ts {
		topic, partitions := get(t)
		out = append(out, group.TopicPartitions{Topic: topic, Partitions: partitions})
	}
	return out
}

// fetchGroup answers one group's committed offsets in the v8+ per-group
// shape, one topic entry per topic in the order the coordinator returns
// them; older versions translate it to the top-level fields.
func fetchGroup(ctx context.Context, s *Server, req *Request, c *group.Coordinator, id string, topics []group.TopicPartitions) kmsg.OffsetFetchResponseGroup {
	rg := kmsg.NewOffsetFetchResponseGroup()
	rg.Group = id
	if !s.allowed(req, opDescribe, rtGroup, id) {
		rg.ErrorCode = kerr.GroupAuthorizationFailed.Code
		s.countErr(req, rg.ErrorCode)
		return rg
	}
	// Topics the principal may not DESCRIBE: named ones are answered
	// TOPIC_AUTHORIZATION_FAILED, and left out of an all-topics answer.
	var denied []group.TopicPartitions
	if s.authz != nil && topics != nil {
		ok := make([]group.TopicPartitions, 0, len(topics))
		for _, t := range topics {
			if s.allowed(req, opDescribe, rtTopic, t.Topic) {
				ok = append(ok, t)
			} else {
				denied = append(denied, t)
			}
		}
		topics = ok
	}
	var cs []group.Committed
	err := errNoCoordinator
	if c != nil {
		cs, err = c.Fetch(ctx, id, topics)
	}
	if err != nil {
		rg.ErrorCode = groupErrCode(err)
		s.countErr(req, rg.ErrorCode)
		return rg
	}
	idx := map[string]int{}
	for _, cm := range cs {
		if s.authz != nil && !s.allowed(req, opDescribe, rtTopic, cm.Topic) {
			continue
		}
		i, ok := idx[cm.Topic]
		if !ok {
			i = len(rg.Topics)
			idx[cm.Topic] = i
			rt := kmsg.NewOffsetFetchResponseGroupTopic()
			rt.Topic = cm.Topic
			rg.Topics = append(rg.Topics, rt)
		}
		rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
		rp.Partition, rp.Offset, rp.LeaderEpoch = cm.Partition, cm.Offset, cm.LeaderEpoch
		md := cm.Metadata
		rp.Metadata = &md
		rg.Topics[i].Partitions = append(rg.Topics[i].Partitions, rp)
	}
	for _, t := range denied {
		rt := kmsg.NewOffsetFetchResponseGroupTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetFetchResponseGroupTopicPartition()
			rp.Partition, rp.Offset, rp.ErrorCode = p, -1, kerr.TopicAuthorizationFailed.Code
			s.countErr(req, rp.ErrorCode)
			rt.Partitions = append(rt.Partitions, rp)
		}
		rg.Topics = append(rg.Topics, rt)
	}
	return rg
}
