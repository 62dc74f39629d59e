package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Transaction APIs: AddPartitionsToTxn v0-3, AddOffsetsToTxn v0-3, EndTxn
// v0-3, TxnOffsetCommit v0-3.
//
// Behaviour: Eddy has no transactions yet. These APIs are answered at once
// with UNSUPPORTED_VERSION (35) on every item, so a transactional client
// fails clearly instead of hanging; InitProducerId already refuses
// transactional ids, so well-behaved clients never get here. The
// advertised ranges stop at v3, before the batched (KIP-890) layouts.
func init() {
	Register(kmsg.AddPartitionsToTxn, 0, 3, handleAddPartitionsToTxn)
	Register(kmsg.AddOffsetsToTxn, 0, 3, handleAddOffsetsToTxn)
	Register(kmsg.EndTxn, 0, 3, handleEndTxn)
	Register(kmsg.TxnOffsetCommit, 0, 3, handleTxnOffsetCommit)
}

var txnUnsupported = kerr.UnsupportedVersion.Code

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

func handleAddOffsetsToTxn(_ context.Context, s *Server, req *Request) Reply {
	resp := req.Msg.(*kmsg.AddOffsetsToTxnRequest).ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.ErrorCode = txnUnsupported
	s.countErr(req, txnUnsupported)
	return Respond(resp)
}

func handleEndTxn(_ context.Context, s *Server, req *Request) Reply {
	resp := req.Msg.(*kmsg.EndTxnRequest).ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = txnUnsupported
	s.countErr(req, txnUnsupported)
	return Respond(resp)
}

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
