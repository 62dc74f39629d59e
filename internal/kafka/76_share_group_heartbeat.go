package kafka

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

// ShareGroupHeartbeat: v0-1
//
// Behaviour (KIP-932): MemberEpoch 0 joins with a client-chosen member id
// and SubscribedTopicNames, -1 leaves (the member's acquired records are
// released), any other is the member's current epoch. The coordinator
// assigns server-side: each subscribed topic's partitions spread over its
// subscribers, shared when members outnumber partitions. The assignment
// is returned when it changed or the member sent its subscription.
// Errors: GROUP_ID_NOT_FOUND, UNKNOWN_MEMBER_ID, FENCED_MEMBER_EPOCH,
// INVALID_REQUEST.
//
// Version notes: v0 is Kafka 4.0's early access (the KafkaShareConsumer of
// Java clients 4.0 sends it), the same fields as v1, KIP-932's stable
// version (Kafka 4.1+). A v0 join (epoch 0) may leave MemberId empty: the
// coordinator generates one and returns it, as Kafka 4.0 did; from v1 on
// the client generates it (KIP-1082) and an empty one is INVALID_REQUEST.
func init() { Register(kmsg.ShareGroupHeartbeat, 0, 1, handleShareGroupHeartbeat) }

func handleShareGroupHeartbeat(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ShareGroupHeartbeatRequest)
	resp := r.ResponseKind().(*kmsg.ShareGroupHeartbeatResponse)
	c := s.shareCoord()
	fail := func(err error) Reply {
		resp.ErrorCode = shareErrCode(err)
		resp.ErrorMessage = errMessage(err)
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	if c == nil {
		return fail(errNoShareCoordinator)
	}
	// READ on the group, DESCRIBE on every subscribed topic (KIP-932).
	if !s.allowed(req, opRead, rtGroup, r.GroupID) {
		return fail(errGroupAuth)
	}
	for _, t := range r.SubscribedTopicNames {
		if !s.allowed(req, opDescribe, rtTopic, t) {
			return fail(errTopicAuth)
		}
	}
	if r.Version == 0 && r.MemberEpoch == 0 && r.MemberID == "" {
		// Kafka 4.0's share consumer joins without a member id and takes
		// the one the coordinator generates (from v1 on, KIP-1082, the
		// client generates it).
		r.MemberID = newShareMemberID()
	}
	host := ""
	if req.Conn != nil && req.Conn.Remote != nil {
		host, _, _ = net.SplitHostPort(req.Conn.Remote.String())
	}
	hb, err := c.Heartbeat(context.Background(), share.HeartbeatRequest{
		Group: r.GroupID, MemberID: r.MemberID, MemberEpoch: r.MemberEpoch, Rack: strOr(r.RackID),
		Topics: r.SubscribedTopicNames, ClientID: req.ClientID, ClientIP: host,
	})
	if err != nil {
		return fail(err)
	}
	id := r.MemberID
	resp.MemberID = &id
	resp.MemberEpoch = hb.MemberEpoch
	resp.HeartbeatIntervalMillis = int32(hb.HeartbeatInterval.Milliseconds())
	if hb.Assignment != nil {
		a := kmsg.NewShareGroupHeartbeatResponseAssignment()
		a.TopicPartitions = []kmsg.ShareGroupHeartbeatResponseAssignmentTopicPartition{}
		for topic, parts := range hb.Assignment {
			info, err := s.b.Topic(topic)
			if err != nil {
				continue
			}
			tp := kmsg.NewShareGroupHeartbeatResponseAssignmentTopicPartition()
			tp.TopicID = info.ID
			tp.Partitions = parts
			a.TopicPartitions = append(a.TopicPartitions, tp)
		}
		resp.Assignment = &a
	}
	return Respond(resp)
}

// newShareMemberID returns a member id in Kafka's Uuid text form: 16 random
// bytes, base64url without padding.
func newShareMemberID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}
