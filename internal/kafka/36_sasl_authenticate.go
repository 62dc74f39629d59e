package kafka

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// SaslAuthenticate: v0-2
//
// Behaviour:
//   - After a v1 SaslHandshake: each request carries one client token of
//     the mechanism's exchange (one for PLAIN, two for SCRAM) and the
//     reply the server's token. When the exchange completes the
//     connection acts as the user (ConnInfo.Principal) and may send any
//     request.
//   - Wrong password, unknown user or a malformed token:
//     SASL_AUTHENTICATION_FAILED with one generic message (it does not say
//     which), sent after a delay that grows with repeated failures from the
//     same host, then the connection closes.
//   - On a PLAINTEXT or SSL listener, or after authentication:
//     ILLEGAL_SASL_STATE.
//
// Version notes: v1 SessionLifetimeMillis (0: no re-authentication
// required); v2 flexible.
func init() { Register(kmsg.SASLAuthenticate, 0, 2, handleSaslAuthenticate) }

func handleSaslAuthenticate(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.SASLAuthenticateRequest)
	resp := r.ResponseKind().(*kmsg.SASLAuthenticateResponse)
	sec := req.Conn.sec
	if sec == nil || sec.state != stateAuthenticate {
		resp.ErrorCode = kerr.IllegalSaslState.Code
		msg := "SaslAuthenticate request received after successful authentication or on a listener without SASL"
		resp.ErrorMessage = &msg
		s.countErr(req, resp.ErrorCode)
		return Respond(resp)
	}
	c := sec.conn
	reply, done, err := c.saslStep(r.SASLAuthBytes)
	if err != nil {
		delay := c.authFailed(err)
		resp.ErrorCode = kerr.SaslAuthenticationFailed.Code
		msg := errAuthFailed.Error()
		resp.ErrorMessage = &msg
		s.countErr(req, resp.ErrorCode)
		return Defer(func(ctx context.Context) Reply {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
			}
			return Respond(resp)
		})
	}
	resp.SASLAuthBytes = reply
	if reply == nil {
		resp.SASLAuthBytes = []byte{}
	}
	if done {
		c.authSucceeded()
	}
	return Respond(resp)
}
