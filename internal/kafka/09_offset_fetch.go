package kafka

import (
	"context"

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
		if r.Version < 8 {
			var topics []group.TopicPartitions
			if r.Topics != nil {
				topics = make([]group.TopicPartitions, 0, len(r.Topics))
				for _, t := range r.Topics {
					topics = append(topics, group.TopicPartitions{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			var cs []group.Committed
			err := errNoCoordinator
			if c != nil {
				cs, err = c.Fetch(ctx, r.Group, topics)
			}
			if err != nil {
				resp.ErrorCode = groupErrCode(err)
				s.countErr(req, resp.ErrorCode)
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
			idx := map[string]int{}
			for _, cm := range cs {
				i, ok := idx[cm.Topic]
				if !ok {
					i = len(resp.Topics)
					idx[cm.Topic] = i
					rt := kmsg.NewOffsetFetchResponseTopic()
					rt.Topic = cm.Topic
					resp.Topics = append(resp.Topics, rt)
				}
				rp := kmsg.NewOffsetFetchResponseTopicPartition()
				rp.Partition, rp.Offset, rp.LeaderEpoch = cm.Partition, cm.Offset, cm.LeaderEpoch
				md := cm.Metadata
				rp.Metadata = &md
				resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, rp)
			}
			return Respond(resp)
		}
		for _, g := range r.Groups {
			rg := kmsg.NewOffsetFetchResponseGroup()
			rg.Group = g.Group
			var topics []group.TopicPartitions
			if g.Topics != nil {
				topics = make([]group.TopicPartitions, 0, len(g.Topics))
				for _, t := range g.Topics {
					topics = append(topics, group.TopicPartitions{Topic: t.Topic, Partitions: t.Partitions})
				}
			}
			var cs []group.Committed
			err := errNoCoordinator
			if c != nil {
				cs, err = c.Fetch(ctx, g.Group, topics)
			}
			if err != nil {
				rg.ErrorCode = groupErrCode(err)
				s.countErr(req, rg.ErrorCode)
				resp.Groups = append(resp.Groups, rg)
				continue
			}
			idx := map[string]int{}
			for _, cm := range cs {
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
			resp.Groups = append(resp.Groups, rg)
		}
		return Respond(resp)
	})
}
