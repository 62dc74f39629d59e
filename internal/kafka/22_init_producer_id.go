package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// InitProducerId: v0-5
//
// Behaviour: idempotent producers (null or empty transactional id) get a
// fresh producer id with epoch 0, unique across restarts; as Kafka, the id
// and epoch a v3+ request carries are ignored when there is no
// transactional id. A transactional id is refused with UNSUPPORTED_VERSION
// (35), which every client treats as fatal: Eddy has no transactions yet,
// and a clear failure beats a producer waiting forever.
//
// Version notes: v0 is what librdkafka needs advertised to enable
// enable.idempotence; v1 no change; v2 flexible; v3 producer id/epoch
// (KIP-360); v4 no change; v5 KIP-890 (no change for idempotence).
func init() { Register(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	m := s.producers()
	if m == nil {
		resp.ErrorCode = ErrorCode(errNoCoordinator)
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	// Allocating may fsync a new id block: do it off the reader goroutine.
	return Defer(func(context.Context) Reply {
		id, epoch, err := m.InitProducerID(strOr(r.TransactionalID))
		if err != nil {
			resp.ErrorCode = ErrorCode(err)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		resp.ProducerID, resp.ProducerEpoch = id, epoch
		return Respond(resp)
	})
}
