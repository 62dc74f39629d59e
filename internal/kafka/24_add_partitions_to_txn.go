package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddPartitionsToTxn: v0-3
//
// Behaviour: Eddy has no transactions yet; answered at once with
// UNSUPPORTED_VERSION on every item (see txnUnsupported).
func init() { Register(kmsg.AddPartitionsToTxn, 0, 3, handleAddPartitionsToTxn) }

func handleAddPartitionsToTxn(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.AddPartitionsToTxnRequest)
	resp := r.ResponseKind().(*kmsg.AddPartitionsToTxnResponse)
	s.countErr(req, txnUnsupported)
	for _, t := range r.Topics {
		rt := kmsg.NewAddPartitionsToTxnResponseTopic()
		rt.Topic = t.Topic
		for _, p := range t.Partitions {
			rp := kmsg.NewAddPartitionsToTxnResponseTopicPartition()
			rp.Partition, rp.ErrorCode = p, txnUnsupported
			rt.Partitions = append(rt.Partitions, rp)
		}
		resp.Topics = append(resp.Topics, rt)
	}
	return Respond(resp)
}
