package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// EndTxn: v0-3
//
// Behaviour: Eddy has no transactions yet; answered at once with
// UNSUPPORTED_VERSION on every item (see txnUnsupported).
func init() { Register(kmsg.EndTxn, 0, 3, handleEndTxn) }

func handleEndTxn(_ context.Context, s *Server, req *Request) Reply {
	resp := req.Msg.(*kmsg.EndTxnRequest).ResponseKind().(*kmsg.EndTxnResponse)
	resp.ErrorCode = txnUnsupported
	s.countErr(req, txnUnsupported)
	return Respond(resp)
}
