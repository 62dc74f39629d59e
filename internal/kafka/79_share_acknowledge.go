package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

// ShareAcknowledge: v0-2
//
// Behaviour (KIP-932): acknowledges records in an open share session; the
// epoch must be the session's next (it advances the same sequence as
// ShareFetch) or -1, which closes the session after applying the
// acknowledgements and releases the records the member still holds in the
// session's partitions. Types: 0 gap, 1 accept, 2 release, 3 reject, 4 renew
// (v2). Each partition's acknowledgements are durable before the answer;
// a record the member does not hold fails its partition with
// INVALID_RECORD_STATE. Epoch 0 is INVALID_SHARE_SESSION_EPOCH.
//
// Version notes: v0 is Kafka 4.0's early access, the same fields as v1,
// KIP-932's stable version; v2 (Kafka 4.2) adds IsRenewAck and
// AcquisitionLockTimeoutMillis.
func init() { Register(kmsg.ShareAcknowledge, 0, 2, handleShareAcknowledge) }

func handleShareAcknowledge(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ShareAcknowledgeRequest)
	resp := r.ResponseKind().(*kmsg.ShareAcknowledgeResponse)
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
	group, member := strOr(r.GroupID), strOr(r.MemberID)
	if group == "" || member == "" {
		return fail(errors.Join(share.ErrInvalidRequest, errors.New("GroupId and MemberId are required")))
	}
	if !s.allowed(req, opRead, rtGroup, group) {
		return fail(errGroupAuth)
	}
	if r.ShareSessionEpoch == 0 {
		return fail(errors.Join(share.ErrInvalidSession, errors.New("ShareAcknowledge needs an open share session (epoch > 0 or -1)")))
	}
	parts, err := c.Session(group, member, r.ShareSessionEpoch, connID(req), nil, nil)
	if err != nil {
		return fail(err)
	}
	resp.AcquisitionLockTimeoutMillis = int32(c.LockDuration(group).Milliseconds())
	return Defer(func(ctx context.Context) Reply {
		// One durable write for every known partition's acknowledgements.
		var pas []share.PartitionAcks
		known := make([]bool, len(r.Topics))
		denied := make([]bool, len(r.Topics))
		for ti, t := range r.Topics {
			name, ok := s.b.TopicByID(t.TopicID)
			if known[ti] = ok; !ok {
				continue
			}
			if !s.allowed(req, opRead, rtTopic, name) {
				denied[ti] = true // READ on the topic (KIP-932)
				continue
			}
			for _, p := range t.Partitions {
				pas = append(pas, share.PartitionAcks{TP: share.TP{Topic: name, Partition: p.Partition}, Batches: shareAckBatches(p.AcknowledgementBatches, func(b kmsg.ShareAcknowledgeRequestTopicPartitionAcknowledgementBatch) (int64, int64, []int8) {
					return b.FirstOffset, b.LastOffset, b.AcknowledgeTypes
				})})
			}
		}
		errs := c.AckMany(ctx, group, member, pas)
		if r.ShareSessionEpoch == -1 {
			// The session is closed: what the member still holds in it
			// is released (KIP-932).
			if err := c.ReleaseSession(group, member, parts); err != nil {
				return fail(err)
			}
		}
		i := 0
		for ti, t := range r.Topics {
			rt := kmsg.NewShareAcknowledgeResponseTopic()
			rt.TopicID = t.TopicID
			ok := known[ti]
			for _, p := range t.Partitions {
				rp := kmsg.NewShareAcknowledgeResponseTopicPartition()
				rp.Partition = p.Partition
				if !ok {
					rp.ErrorCode = kerr.UnknownTopicID.Code
				} else if denied[ti] {
					rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				} else {
					if err := errs[i]; err != nil {
						rp.ErrorCode = shareErrCode(err)
						rp.ErrorMessage = errMessage(err)
					}
					i++
				}
				s.countErr(req, rp.ErrorCode)
				rt.Partitions = append(rt.Partitions, rp)
			}
			resp.Topics = append(resp.Topics, rt)
		}
		return Respond(resp)
	})
}
