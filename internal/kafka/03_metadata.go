package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

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

	all := r.Topics == nil || (r.Version == 0 && len(r.Topics) == 0)
	if all {
		for _, t := range append(b.Topics(), b.Views()...) {
			resp.Topics = append(resp.Topics, metadataTopic(t))
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
		var info broker.TopicInfo
		var err error
		if allowCreate {
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
		resp.Topics = append(resp.Topics, metadataTopic(info))
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
