package kafka

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/producers"
)

// InitProducerId: v0-5
//
// Behaviour: idempotent producers (null or empty transactional id) get a
// fresh producer id with epoch 0, unique across restarts; as Kafka, the id
// and epoch a v3+ request carries are ignored when there is no
// transactional id. A transactional id is refused with UNSUPPORTED_VERSION
// (35), which every client treats as fatal: Eddy has no transactions yet,
// and a clear failure beats a producer waiting forever.
// Authorization: a transactional id needs WRITE on it, else
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED; an idempotent producer needs
// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679), else
// CLUSTER_AUTHORIZATION_FAILED.
//
// Version notes: v0 is what librdkafka needs advertised to enable
// enable.idempotence; v1 no change; v2 flexible; v3 producer id/epoch
// (KIP-360); v4 no change; v5 KIP-890 (no change for idempotence).
func init() { Register(kmsg.InitProducerID, 0, 5, handleInitProducerID) }

func handleInitProducerID(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.InitProducerIDRequest)
	resp := r.ResponseKind().(*kmsg.InitProducerIDResponse)
	resp.ProducerID, resp.ProducerEpoch = -1, -1
	// A transactional id needs WRITE on it; an idempotent producer needs
	// IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679).
	if txn := strOr(r.TransactionalID); txn != "" && !s.allowed(req, opWrite, rtTxnID, txn) {
		resp.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	} else if txn == "" && !s.allowedCluster(req, opIdempotentWrite) && !s.allowedAny(req, opWrite, rtTopic) {
		resp.ErrorCode = kerr.ClusterAuthorizationFailed.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	m := s.producers()
	if m == nil {
		// No manager plugged in (a bare test server): hand out ids from a
		// random in-memory range so idempotent clients still work, without
		// sequence checks or persistence. eddy serve always plugs one in.
		if strOr(r.TransactionalID) != "" {
			resp.ErrorCode = ErrorCode(producers.ErrTransactionsUnsupported)
			s.countErr(req, resp.ErrorCode)
			return Respond(resp)
		}
		resp.ProducerID, resp.ProducerEpoch = fallbackProducerID(), 0
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

// fallbackIDs is the in-memory producer id counter used when no
// producers.Manager is plugged in; it starts at a random point in the upper
// half of the id space, far from the Manager's ids, which count up from 0.
var fallbackIDs atomic.Int64

func init() {
	var b [8]byte
	_, _ = rand.Read(b[:])
	fallbackIDs.Store(int64(binary.BigEndian.Uint64(b[:])>>2) | 1<<61)
}

func fallbackProducerID() int64 { return fallbackIDs.Add(1) }
