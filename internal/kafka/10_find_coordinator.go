package kafka

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// FindCoordinator: v0-5
//
// Behaviour: Eddy is one node, so it coordinates every group. Key type 0
// (group) answers this node. Key type 1 (transaction) answers
// TRANSACTIONAL_ID_AUTHORIZATION_FAILED with a message saying Eddy has no
// transactions: it is the one coordinator error every client treats as
// fatal at once (librdkafka's init_transactions would otherwise retry
// until its timeout; it prints the message), and no transactional id is
// allowed, since none can work. Other key types get INVALID_REQUEST. An
// empty group id is INVALID_GROUP_ID as in Kafka. Without a plugged-in
// coordinator every group key gets COORDINATOR_NOT_AVAILABLE.
// Authorization: DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED;
// DESCRIBE on the transactional id, else TRANSACTIONAL_ID_AUTHORIZATION_FAILED
// with Kafka's message (an allowed one still gets the refusal above).
//
// Version notes: v0 is used by kafka-python 2.0.2 and librdkafka (group
// consumption is only enabled when v0 is advertised); v1 key type,
// throttle, error message; v3 flexible; v4 batched CoordinatorKeys (one
// answer per key); v5 no change for classic groups.
func init() { Register(kmsg.FindCoordinator, 0, 5, handleFindCoordinator) }

func handleFindCoordinator(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	host, port := s.advertised(req.Conn)
	answer := func(key string) (code int16, msg *string) {
		var m string
		switch {
		case r.CoordinatorType == 1 && !s.allowed(req, opDescribe, rtTxnID, key):
			// DESCRIBE on the transactional id, as Kafka: the same code
			// as the refusal below, with Kafka's message.
			code, m = kerr.TransactionalIDAuthorizationFailed.Code, msgTxnAuth
		case r.CoordinatorType == 1:
			code, m = kerr.TransactionalIDAuthorizationFailed.Code, noTransactions
		case r.CoordinatorType == 0 && !s.allowed(req, opDescribe, rtGroup, key):
			code, m = kerr.GroupAuthorizationFailed.Code, msgGroupAuth
		case s.groups() == nil:
			code = kerr.CoordinatorNotAvailable.Code
		case r.CoordinatorType != 0:
			code = kerr.InvalidRequest.Code
		case key == "":
			code = kerr.InvalidGroupID.Code
		}
		if code != 0 {
			if m == "" {
				m = kerr.ErrorForCode(code).Error()
			}
			msg = &m
			s.countErr(req, code)
		}
		return code, msg
	}
	if r.Version >= 4 {
		for _, key := range r.CoordinatorKeys {
			c := kmsg.NewFindCoordinatorResponseCoordinator()
			c.Key = key
			c.ErrorCode, c.ErrorMessage = answer(key)
			c.NodeID, c.Host, c.Port = NodeID, host, port
			if c.ErrorCode != 0 {
				c.NodeID, c.Host, c.Port = -1, "", -1
			}
			resp.Coordinators = append(resp.Coordinators, c)
		}
		return Respond(resp)
	}
	resp.ErrorCode, resp.ErrorMessage = answer(r.CoordinatorKey)
	resp.NodeID, resp.Host, resp.Port = NodeID, host, port
	if resp.ErrorCode != 0 {
		resp.NodeID, resp.Host, resp.Port = -1, "", -1
	}
	return Respond(resp)
}

// noTransactions is the message of every refusal of a transactional id.
const noTransactions = "Eddy does not support transactions yet: unset the producer's transactional id (transactional.id); " +
	"idempotent producers (enable.idempotence) work"
