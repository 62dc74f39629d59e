package kafka

import (
	"context"
	"errors"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

// ShareFetch: v0-2
//
// Behaviour (KIP-932): a share session per (group, member):
// ShareSessionEpoch 0 opens it with the request's partitions, later
// requests carry the next epoch and add (Topics) or forget
// (ForgottenTopicsData) partitions, -1 closes it (acknowledgements only,
// nothing fetched; then the records the member still holds in the
// session's partitions are released, as they are when the connection that
// opened the session closes). Piggybacked acknowledgements are applied first and
// durable before the answer (per-partition AcknowledgeErrorCode:
// INVALID_RECORD_STATE for a record the member does not hold). Then up
// to MaxRecords records are acquired over the session's partitions,
// oldest available first, waiting up to MaxWaitMillis when none is; the
// response carries the stored batches that hold them and the acquired
// ranges with their delivery counts (records of a batch that are not
// acquired are skipped by clients). Acquisitions are durable before the
// answer. Errors: SHARE_SESSION_NOT_FOUND, INVALID_SHARE_SESSION_EPOCH,
// UNKNOWN_MEMBER_ID, GROUP_ID_NOT_FOUND, INVALID_REQUEST (acknowledgements
// on epoch 0), UNKNOWN_TOPIC_ID.
//
// Version notes: v0 is Kafka 4.0's early access (Java clients 4.0): it has
// PartitionMaxBytes and no MaxRecords (then 500 records are acquired per
// request, batch-optimized); v0 and v1 have no ShareAcquireMode and are
// served batch-optimized; v1 adds MaxRecords, BatchSize and
// AcquisitionLockTimeoutMillis; v2 (Kafka 4.2,
// what franz-go's share consumer requires) adds ShareAcquireMode (record
// limit mode: at most MaxRecords are acquired; batch-optimized mode, 0, as
// Kafka: MaxRecords is soft, new records are acquired up to the end of a
// stored batch so no batch is split between fetches) and renew
// acknowledgements (type 4).
func init() { Register(kmsg.ShareFetch, 0, 2, handleShareFetch) }

type shareAckPart struct {
	tp      share.TP
	id      [16]byte
	batches []share.AckBatch
}

func handleShareFetch(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ShareFetchRequest)
	resp := r.ResponseKind().(*kmsg.ShareFetchResponse)
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
	var (
		add     []share.TP
		acks    []shareAckPart
		unknown []kmsg.ShareFetchRequestTopic
		denied  []kmsg.ShareFetchRequestTopic
	)
	ids := map[string][16]byte{}
	for _, t := range r.Topics {
		name, ok := s.b.TopicByID(t.TopicID)
		if !ok {
			unknown = append(unknown, t)
			continue
		}
		if !s.allowed(req, opRead, rtTopic, name) {
			denied = append(denied, t) // READ on the topic (KIP-932)
			continue
		}
		ids[name] = t.TopicID
		for _, p := range t.Partitions {
			tp := share.TP{Topic: name, Partition: p.Partition}
			add = append(add, tp)
			if len(p.AcknowledgementBatches) > 0 {
				acks = append(acks, shareAckPart{tp, t.TopicID, shareAckBatches(p.AcknowledgementBatches, func(b kmsg.ShareFetchRequestTopicPartitionAcknowledgementBatch) (int64, int64, []int8) {
					return b.FirstOffset, b.LastOffset, b.AcknowledgeTypes
				})})
			}
		}
	}
	var forget []share.TP
	for _, f := range r.ForgottenTopicsData {
		if name, ok := s.b.TopicByID(f.TopicID); ok {
			for _, p := range f.Partitions {
				forget = append(forget, share.TP{Topic: name, Partition: p})
			}
		}
	}
	if r.ShareSessionEpoch == 0 && len(acks) > 0 {
		return fail(errors.Join(share.ErrInvalidRequest, errors.New("acknowledgements need an open share session (epoch > 0)")))
	}
	parts, err := c.Session(group, member, r.ShareSessionEpoch, connID(req), add, forget)
	if err != nil {
		return fail(err)
	}
	if s.authz != nil {
		// A session's partitions whose READ was revoked since they joined
		// it are not fetched.
		kept := parts[:0:0]
		for _, p := range parts {
			if s.allowed(req, opRead, rtTopic, p.Topic) {
				kept = append(kept, p)
			}
		}
		parts = kept
	}
	for _, p := range parts {
		if _, ok := ids[p.Topic]; !ok {
			if info, err := s.b.Topic(p.Topic); err == nil {
				ids[p.Topic] = info.ID
			}
		}
	}
	resp.AcquisitionLockTimeoutMillis = int32(c.LockDuration(group).Milliseconds())
	fetch := r.ShareSessionEpoch != -1 && len(parts) > 0
	return Defer(func(ctx context.Context) Reply {
		type entry struct {
			p       kmsg.ShareFetchResponseTopicPartition
			touched bool
		}
		entries := map[share.TP]*entry{}
		get := func(tp share.TP) *entry {
			e := entries[tp]
			if e == nil {
				p := kmsg.NewShareFetchResponseTopicPartition()
				p.Partition = tp.Partition
				e = &entry{p: p}
				entries[tp] = e
			}
			e.touched = true
			return e
		}
		pas := make([]share.PartitionAcks, len(acks))
		for i, a := range acks {
			pas[i] = share.PartitionAcks{TP: a.tp, Batches: a.batches}
		}
		var (
			ackErrs []error
			res     []share.PartitionResult
			fr      share.FetchResult
		)
		if fetch {
			maxRecs := int(r.MaxRecords)
			if maxRecs <= 0 {
				maxRecs = 500
			}
			wait := time.Duration(r.MaxWaitMillis) * time.Millisecond
			// The acks and the acquisitions are made durable together.
			var err error
			fr, err = c.FetchAck(ctx, share.FetchRequest{Group: group, MemberID: member, Partitions: parts, MaxRecords: maxRecs, MaxBytes: int(r.MaxBytes), MaxWait: wait, Acks: pas,
				BatchOptimized: r.ShareAcquireMode == 0})
			if err != nil {
				return fail(err)
			}
			ackErrs, res = fr.AckErrs, fr.Partitions
		} else if len(pas) > 0 {
			ackErrs = c.AckMany(ctx, group, member, pas)
		}
		if r.ShareSessionEpoch == -1 {
			// The session is closed: what the member still holds in it
			// is released (KIP-932).
			if err := c.ReleaseSession(group, member, parts); err != nil {
				return fail(err)
			}
		}
		for i, err := range ackErrs {
			e := get(acks[i].tp)
			if err != nil {
				e.p.AcknowledgeErrorCode = shareErrCode(err)
				e.p.AcknowledgeErrorMessage = errMessage(err)
				s.countErr(req, e.p.AcknowledgeErrorCode)
			}
		}
		for _, pr := range res {
			if pr.Err == nil && len(pr.Acquired) == 0 {
				continue
			}
			e := get(pr.TP)
			if pr.Err != nil {
				e.p.ErrorCode = shareErrCode(pr.Err)
				e.p.ErrorMessage = errMessage(pr.Err)
				s.countErr(req, e.p.ErrorCode)
			}
			e.p.Records = pr.Batches
			for _, rg := range pr.Acquired {
				ar := kmsg.NewShareFetchResponseTopicPartitionAcquiredRecord()
				ar.FirstOffset, ar.LastOffset, ar.DeliveryCount = rg.First, rg.Last, rg.Deliveries
				e.p.AcquiredRecords = append(e.p.AcquiredRecords, ar)
			}
		}
		topicIdx := map[string]int{}
		for tp, e := range entries {
			if !e.touched {
				continue
			}
			i, ok := topicIdx[tp.Topic]
			if !ok {
				i = len(resp.Topics)
				topicIdx[tp.Topic] = i
				rt := kmsg.NewShareFetchResponseTopic()
				rt.TopicID = ids[tp.Topic]
				resp.Topics = append(resp.Topics, rt)
			}
			resp.Topics[i].Partitions = append(resp.Topics[i].Partitions, e.p)
		}
		for _, u := range []struct {
			ts   []kmsg.ShareFetchRequestTopic
			code int16
		}{{unknown, kerr.UnknownTopicID.Code}, {denied, kerr.TopicAuthorizationFailed.Code}} {
			for _, t := range u.ts {
				rt := kmsg.NewShareFetchResponseTopic()
				rt.TopicID = t.TopicID
				for _, p := range t.Partitions {
					rp := kmsg.NewShareFetchResponseTopicPartition()
					rp.Partition = p.Partition
					rp.ErrorCode = u.code
					if len(p.AcknowledgementBatches) > 0 {
						rp.AcknowledgeErrorCode = u.code
					}
					rt.Partitions = append(rt.Partitions, rp)
				}
				resp.Topics = append(resp.Topics, rt)
			}
		}
		// The batches are in pooled buffers until the response is
		// written.
		reply := Respond(resp)
		reply.release = fr.Release
		return reply
	})
}
