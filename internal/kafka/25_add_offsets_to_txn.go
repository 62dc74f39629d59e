package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// AddOffsetsToTxn: v0-3
//
// Behaviour: Eddy has no transactions yet; answered at once with
// UNSUPPORTED_VERSION on every item (see txnUnsupported).
func init() { Register(kmsg.AddOffsetsToTxn, 0, 3, handleAddOffsetsToTxn) }

func handleAddOffsetsToTxn(_ context.Context, s *Server, req *Request) Reply {
	resp := req.Msg.(*kmsg.AddOffsetsToTxnRequest).ResponseKind().(*kmsg.AddOffsetsToTxnResponse)
	resp.ErrorCode = txnUnsupported
	s.countErr(req, txnUnsupported)
	return Respond(resp)
}
