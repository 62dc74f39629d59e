package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
)

// OffsetCommit: v0-9
//
// Behaviour: commits are fsynced to the meta store before the response.
// Simple consumers (generation -1, no member id) may commit to an empty or
// unknown group; members must name their member id and generation. Errors
// as Kafka: UNKNOWN_TOPIC_OR_PARTITION per partition for partitions that
// do not exist, OFFSET_METADATA_TOO_LARGE over offset.metadata.max.bytes,
// group-level ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID /
// REBALANCE_IN_PROGRESS repeated on every partition; a member commit to a
// group that does not exist is GROUP_ID_NOT_FOUND from v9 and
// ILLEGAL_GENERATION before, as Kafka 4. Retention times (v2-4)
// are ignored: offsets expire by the broker's offsets.retention.minutes, as
// Kafka 2.1+ does. v0 commits count as simple commits.
//
// Version notes: v1 generation, member id, commit timestamp (librdkafka
// needs v1-2 advertised); v2-4 retention (kafka-python 2.0.2 uses v2);
// v3 throttle; v6 leader epoch; v7 group.instance.id; v8 flexible; v9
// KIP-848 (same layout). v10 (topic ids) is not offered.
func init() { Register(kmsg.OffsetCommit, 0, 9, handleOffsetCommit) }

func handleOffsetCommit(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.OffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.OffsetCommitResponse)
	cr := group.CommitRequest{Group: r.Group, MemberID: r.MemberID, InstanceID: strOr(r.InstanceID), Generation: r.Generation}
	if r.Version == 0 {
		cr.MemberID, cr.Generation = "", -1
	}
	// READ on the group, else GROUP_AUTHORIZATION_FAILED everywhere; READ
	// on each topic, else TOPIC_AUTHORIZATION_FAILED on its partitions,
	// which are not committed.
	groupOK := s.allowed(req, opRead, rtGroup, r.Group)
	var deniedTopic []bool
	for _, t := range r.Topics {
		rt := kmsg.NewOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		denied := groupOK && !s.allowed(req, opRead, rtTopic, t.Topic)
		deniedTopic = append(deniedTopic, denied)
		for _, p := range t.Partitions {
			rp := kmsg.NewOffsetCommitResponseTopicPartition()
			rp.Partition = p.Partition
			if denied {
				rp.ErrorCode = kerr.TopicAuthorizationFailed.Code
				s.countErr(req, rp.ErrorCode)
			} else {
				cr.Offsets = append(cr.Offsets, group.CommitOffset{
					Topic: t.Topic, Partition: p.Partition, Offset: p.Offset,
					LeaderEpoch: p.LeaderEpoch, Metadata: strOr(p.Metadata),
				})
			}
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	fill := func(errs []error, all error) Reply {
		i := 0
		for ti := range resp.Topics {
			if deniedTopic[ti] {
				continue
			}
			for pi := range resp.Topics[ti].Partitions {
				err := all
				if errs != nil {
					err = errs[i]
				}
				if err != nil {
					code := groupErrCode(err)
					if r.Version < 9 && errors.Is(err, group.ErrGroupNotFound) {
						code = kerr.IllegalGeneration.Code
					}
					resp.Topics[ti].Partitions[pi].ErrorCode = code
					s.countErr(req, code)
				}
				i++
			}
		}
		return Respond(resp)
	}
	if !groupOK {
		for ti := range resp.Topics {
			for pi := range resp.Topics[ti].Partitions {
				resp.Topics[ti].Partitions[pi].ErrorCode = kerr.GroupAuthorizationFailed.Code
				s.countErr(req, kerr.GroupAuthorizationFailed.Code)
			}
		}
		return Respond(resp)
	}
	if len(cr.Offsets) == 0 && len(r.Topics) > 0 {
		return Respond(resp) // every topic denied
	}
	c := s.groups()
	if c == nil {
		return fill(nil, errNoCoordinator)
	}
	return Defer(func(ctx context.Context) Reply {
		errs, err := c.Commit(ctx, cr)
		if err != nil {
			return fill(nil, err)
		}
		return fill(errs, nil)
	})
}
