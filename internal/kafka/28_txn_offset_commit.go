package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TxnOffsetCommit: v0-3
//
// Behaviour: Eddy has no transactions yet; answered at once with
// UNSUPPORTED_VERSION on every item (see txnUnsupported).
func init() { Register(kmsg.TxnOffsetCommit, 0, 3, handleTxnOffsetCommit) }

func handleTxnOffsetCommit(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.TxnOffsetCommitRequest)
	resp := r.ResponseKind().(*kmsg.TxnOffsetCommitResponse)
	s.countErr(req, txnUnsupported)
	for _, t := range r.Topics {
		rt := kmsg.NewTxnOffsetCommitResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewTxnOffsetCommitResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p.Partition, txnUnsupported
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return Respond(resp)
}
