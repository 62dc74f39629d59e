package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/acl"
	"github.com/eddy-streaming/eddy/internal/broker"
)

// Metadata: v0-12
//
// Behaviour:
//   - One broker, NodeID, at the advertised address (Config.AdvertisedAddr
//     or the connection's local address); it leads every partition and is
//     the only replica.
//   - All topics for v0 with an empty list and v1+ with a null list.
//   - Unknown topics are auto-created when the broker allows it and the
//     request does: v0-3 carry no flag and count as allowing it, v4+ use
//     AllowAutoTopicCreation. Otherwise UNKNOWN_TOPIC_OR_PARTITION; bad
//     names INVALID_TOPIC_EXCEPTION; unknown ids (v10+) UNKNOWN_TOPIC_ID.
//   - Authorization: only topics the principal may DESCRIBE are listed;
//     a named topic it may not DESCRIBE gets TOPIC_AUTHORIZATION_FAILED
//     (for a topic id, without its name); auto-creation needs CREATE on
//     the cluster or on the topic, else TOPIC_AUTHORIZATION_FAILED. The
//     authorized-operations fields (v8+) are filled when asked for.
//
// Version notes: v1 ControllerID, IsInternal, null = all topics; v2
// ClusterID; v4 AllowAutoTopicCreation; v5 OfflineReplicas; v7
// LeaderEpoch; v8 authorized operations; v9 flexible; v10 topic ids.
func init() { Register(kmsg.Metadata, 0, 12, handleMetadata) }

func handleMetadata(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	b := s.b

	host, port := s.advertised(req.Conn)
	br := kmsg.NewMetadataResponseBroker()
	br.NodeID, br.Host, br.Port = NodeID, host, port
	resp.Brokers = append(resp.Brokers, br)
	cid := b.ClusterID()
	resp.ClusterID = &cid
	resp.ControllerID = NodeID

	if r.IncludeClusterAuthorizedOperations && r.Version <= 10 {
		resp.AuthorizedOperations = s.authorizedOps(req, rtCluster, acl.ClusterName, clusterOps)
	}
	withOps := func(t kmsg.MetadataResponseTopic) kmsg.MetadataResponseTopic {
		if r.IncludeTopicAuthorizedOperations && t.Topic != nil {
			t.AuthorizedOperations = s.authorizedOps(req, rtTopic, *t.Topic, topicOps)
		}
		return t
	}
	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if all {
		// Topics the principal may not DESCRIBE are left out silently.
		for _, t := range append(b.Topics(), b.Views()...) {
			if s.allowed(req, opDescribe, rtTopic, t.Name) {
				resp.Topics = append(resp.Topics, withOps(metadataTopic(t)))
			}
		}
		return Respond(resp)
	}
	allowCreate := r.Version <= 3 || r.AllowAutoTopicCreation
	for _, rt := range r.Topics {
		var name string
		switch {
		case rt.Topic != nil:
			name = *rt.Topic
		case rt.TopicID != [16]byte{}:
			n, ok := b.TopicByID(rt.TopicID)
			if !ok {
				t := kmsg.NewMetadataResponseTopic()
				t.TopicID = rt.TopicID
				t.ErrorCode = kerr.UnknownTopicID.Code
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
			name = n
		default:
			t := kmsg.NewMetadataResponseTopic()
			t.ErrorCode = kerr.InvalidRequest.Code
			resp.Topics = append(resp.Topics, t)
			continue
		}
		if !s.allowed(req, opDescribe, rtTopic, name) {
			t := kmsg.NewMetadataResponseTopic()
			if rt.Topic != nil {
				t.Topic = &name
			} else {
				t.TopicID = rt.TopicID // the name is not disclosed
			}
			t.ErrorCode = kerr.TopicAuthorizationFailed.Code
			s.countErr(req, t.ErrorCode)
			resp.Topics = append(resp.Topics, t)
			continue
		}
		var info broker.TopicInfo
		var err error
		create := allowCreate
		if create && s.authz != nil {
			if _, terr := b.Topic(name); terr != nil && !s.allowedCluster(req, opCreate) && !s.allowed(req, opCreate, rtTopic, name) {
				// Auto-creation needs CREATE on the cluster or the topic.
				t := kmsg.NewMetadataResponseTopic()
				t.Topic = &name
				t.ErrorCode = kerr.TopicAuthorizationFailed.Code
				s.countErr(req, t.ErrorCode)
				resp.Topics = append(resp.Topics, t)
				continue
			}
		}
		if create {
			info, err = b.EnsureTopic(name)
		} else {
			info, err = b.Topic(name)
			if err != nil {
				if verr := broker.ValidateTopicName(name); verr != nil {
					err = verr
				}
			}
		}
		if err != nil {
			t := kmsg.NewMetadataResponseTopic()
			t.Topic = &name
			t.ErrorCode = ErrorCode(err)
			if !errors.Is(err, broker.ErrInvalidTopic) && !errors.Is(err, broker.ErrUnknownTopic) {
				s.log.Warn("metadata auto-create", "topic", name, "err", err)
			}
			s.countErr(req, t.ErrorCode)
			resp.Topics = append(resp.Topics, t)
			continue
		}
		resp.Topics = append(resp.Topics, withOps(metadataTopic(info)))
	}
	return Respond(resp)
}

func metadataTopic(info broker.TopicInfo) kmsg.MetadataResponseTopic {
	t := kmsg.NewMetadataResponseTopic()
	name := info.Name
	t.Topic = &name
	t.TopicID = info.ID
	for i := int32(0); i < info.Partitions; i++ {
		p := kmsg.NewMetadataResponseTopicPartition()
		p.Partition = i
		p.Leader = NodeID
		p.LeaderEpoch = 0
		p.Replicas = []int32{NodeID}
		p.ISR = []int32{NodeID}
		p.OfflineReplicas = []int32{}
		t.Partitions = append(t.Partitions, p)
	}
	return t
}
