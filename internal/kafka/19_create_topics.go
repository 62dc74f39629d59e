package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/views"
)

// CreateTopics: v2-7
//
// Behaviour:
//   - NumPartitions -1 means the broker default; with a manual
//     ReplicaAssignment the partition count is the assignment's length and
//     every replica list must be exactly [NodeID]
//     (INVALID_REPLICA_ASSIGNMENT otherwise).
//   - ReplicationFactor must be -1 or 1 (INVALID_REPLICATION_FACTOR): one
//     node.
//   - Configs are validated against the topic configs Eddy knows
//     (INVALID_CONFIG for unknown names or bad values); ValidateOnly checks
//     everything and creates nothing.
//   - A topic named twice in one request: INVALID_REQUEST for it.
//   - v5+ returns the partition count, replication factor and the
//     effective configs.
//
// Version notes: v2 is Kafka 4's minimum; v1 ValidateOnly, ErrorMessage;
// v5 flexible, configs in the response; v7 topic ids.
func init() { Register(kmsg.CreateTopics, 2, 7, handleCreateTopics) }

func handleCreateTopics(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	seen := map[string]int{}
	for _, rt := range r.Topics {
		seen[rt.Topic]++
	}
	clusterCreate := s.allowedCluster(req, opCreate)
	// The topics that pass the checks below are created together
	// (Broker.CreateTopics: one volume sync and one metadata commit for
	// all of them); slots are their places in resp.Topics.
	var specs []broker.TopicSpec
	var slots []int
	for _, rt := range r.Topics {
		t := kmsg.NewCreateTopicsResponseTopic()
		t.Topic = rt.Topic
		err := func() error {
			if seen[rt.Topic] > 1 {
				t.ErrorCode = kerr.InvalidRequest.Code
				return fmt.Errorf("topic %s is named more than once", rt.Topic)
			}
			if !clusterCreate && !s.allowed(req, opCreate, rtTopic, rt.Topic) {
				// CREATE on the cluster or on the topic.
				t.ErrorCode = kerr.TopicAuthorizationFailed.Code
				return errors.New(msgTopicAuth)
			}
			for _, c := range rt.Configs {
				if c.Name == views.SourceConfig && c.Value != nil && !s.allowed(req, opRead, rtTopic, *c.Value) {
					// A view shows its source's records: READ on the source.
					t.ErrorCode = kerr.TopicAuthorizationFailed.Code
					return fmt.Errorf("%s: a view of %s needs READ on it", msgTopicAuth, *c.Value)
				}
			}
			if rt.ReplicationFactor != -1 && rt.ReplicationFactor != 1 && len(rt.ReplicaAssignment) == 0 {
				return fmt.Errorf("%w: %d, Eddy has one node", broker.ErrInvalidReplicationFactor, rt.ReplicationFactor)
			}
			parts := rt.NumPartitions
			if len(rt.ReplicaAssignment) > 0 {
				if parts != -1 {
					t.ErrorCode = kerr.InvalidRequest.Code
					return fmt.Errorf("both a partition count and a replica assignment")
				}
				for i, a := range rt.ReplicaAssignment {
					if a.Partition != int32(i) || len(a.Replicas) != 1 || a.Replicas[0] != NodeID {
						t.ErrorCode = kerr.InvalidReplicaAssignment.Code
						return fmt.Errorf("replica assignment of partition %d must be [%d] with partitions numbered from 0", a.Partition, NodeID)
					}
				}
				parts = int32(len(rt.ReplicaAssignment))
			}
			configs := make(map[string]string, len(rt.Configs))
			for _, c := range rt.Configs {
				if c.Value == nil {
					continue
				}
				configs[c.Name] = *c.Value
			}
			if err := broker.ValidateClientTopicName(rt.Topic); err != nil {
				return err
			}
			// Created below, with the request's other valid topics.
			specs = append(specs, broker.TopicSpec{Name: rt.Topic, Partitions: parts, Configs: configs})
			slots = append(slots, len(resp.Topics))
			return nil
		}()
		if err != nil {
			if t.ErrorCode == 0 {
				t.ErrorCode = ErrorCode(err)
			}
			t.ErrorMessage = errMessage(err)
			s.countErr(req, t.ErrorCode)
		}
		resp.Topics = append(resp.Topics, t)
	}
	for i, res := range s.b.CreateTopics(specs, r.ValidateOnly) {
		t := &resp.Topics[slots[i]]
		err := func() error {
			if res.Err != nil {
				return res.Err
			}
			info := res.Info
			t.TopicID = info.ID
			t.NumPartitions = info.Partitions
			t.ReplicationFactor = 1
			if r.Version >= 5 && !s.allowed(req, opDescribeConfigs, rtTopic, t.Topic) {
				t.ConfigErrorCode = kerr.TopicAuthorizationFailed.Code
			} else if r.Version >= 5 {
				for _, e := range broker.DescribeConfigEntries(s.b.TopicDefaults(), info.Overrides) {
					c := kmsg.NewCreateTopicsResponseTopicConfig()
					c.Name = e.Name
					v := e.Value
					c.Value = &v
					c.Source = int8(kmsg.ConfigSourceDynamicTopicConfig)
					if e.Default {
						c.Source = int8(kmsg.ConfigSourceDefaultConfig)
					}
					t.Configs = append(t.Configs, c)
				}
			}
			return nil
		}()
		if err != nil {
			if t.ErrorCode == 0 {
				t.ErrorCode = ErrorCode(err)
			}
			t.ErrorMessage = errMessage(err)
			s.countErr(req, t.ErrorCode)
		}
	}
	return Respond(resp)
}
