package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslHandshake: v0-1
//
// Behaviour (Kafka's SaslServerAuthenticator):
//   - On a SASL listener before authentication: a mechanism the listener
//     offers is accepted and the reply lists the offered mechanisms; v1
//     then expects SaslAuthenticate requests, v0 bare SASL tokens
//     (conn_auth.go).
//   - A mechanism not offered: UNSUPPORTED_SASL_MECHANISM with the
//     offered list, then the connection closes.
//   - On a PLAINTEXT or SSL listener, or after authentication:
//     ILLEGAL_SASL_STATE (Kafka's KafkaApis answer).
//
// Version notes: v1 only changes what follows (SaslAuthenticate framing).
func init() { Register(kmsg.SASLHandshake, 0, 1, handleSaslHandshake) }

func handleSaslHandshake(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.SASLHandshakeRequest)
	resp := r.ResponseKind().(*kmsg.SASLHandshakeResponse)
	sec := req.Conn.sec
	if sec == nil || sec.state != stateHandshake {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	resp.SupportedMechanisms = sec.lis.mechs
	if !sec.lis.offers(r.Mechanism) {
		resp.ErrorCode = kerr.UnsupportedSaslMechanism.Code
		s.countErr(req, resp.ErrorCode)
		sec.closing = true
		s.log.Info("kafka SASL mechanism not offered, closing connection", "conn", req.Conn.ID, "remote", req.Conn.Remote.String(), "mechanism", fmt.Sprintf("%.64q", r.Mechanism), "offered", sec.lis.mechs)
		return Respond(resp)
	}
	sec.mech = r.Mechanism
	if r.Version == 0 {
		sec.state = stateRaw
	} else {
		sec.state = stateAuthenticate
	}
	return Respond(resp)
}
