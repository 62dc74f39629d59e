package kafka

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// A connection's authentication state (Kafka's SaslServerAuthenticator):
//
//	PLAINTEXT, SSL listeners:  open from the start
//	SASL listeners:            handshake → authenticate (SaslHandshake v1+)
//	                                     → raw          (SaslHandshake v0)
//	                           → done
//
// Before done, a SASL connection may send only ApiVersions and
// SaslHandshake (state handshake) or only SaslAuthenticate (state
// authenticate); anything else closes the connection without a reply, as
// Kafka does (IllegalSaslStateException). After a v0 handshake the client
// sends bare SASL tokens, each a 4-byte size and the token, without a
// request header, and the server answers the same way (kafka-python 2.0
// does this). A failed authentication answers SASL_AUTHENTICATION_FAILED
// (v1 framing) after a delay that grows with the failures from the same
// host, then closes.
type authState uint8

const (
	stateOpen authState = iota
	stateHandshake
	stateAuthenticate
	stateRaw
	stateDone
)

// connSecurity is a connection's listener and authentication state. It is
// only touched by the connection's reader goroutine (handlers run there).
type connSecurity struct {
	conn  *conn
	lis   *boundListener
	state authState
	mech  string
	scram *auth.ScramConversation
	// closing makes the reader stop after queueing the current reply: a
	// failed authentication or an unsupported mechanism.
	closing bool
	// wbuf gathers vectored replies on TLS connections (writeBufs); used
	// only under the connection's write role.
	wbuf []byte
}

func newConnSecurity(c *conn, bl *boundListener) *connSecurity {
	sec := &connSecurity{conn: c, lis: bl}
	if bl != nil && IsSASL(bl.cfg.Protocol) {
		sec.state = stateHandshake
	}
	return sec
}

// allows reports whether a request with API key may be served in the
// current state.
func (sec *connSecurity) allows(key int16) bool {
	switch sec.state {
	case stateOpen, stateDone:
		return true
	case stateHandshake:
		return key == int16(kmsg.ApiVersions) || key == int16(kmsg.SASLHandshake)
	case stateAuthenticate:
		return key == int16(kmsg.SASLAuthenticate)
	}
	return false
}

// maxPreAuthFrame caps a request frame on a SASL connection that has not
// logged in yet (Kafka's sasl.server.max.receive.size, 512 KiB): a client
// nobody knows cannot make the server buffer max-request-bytes.
const maxPreAuthFrame = 512 << 10

// preAuth reports whether the connection is on a SASL listener and has
// not logged in yet.
func (sec *connSecurity) preAuth() bool {
	return sec.state == stateHandshake || sec.state == stateAuthenticate || sec.state == stateRaw
}

// maxSASLToken caps a raw (v0) SASL token.
const maxSASLToken = 64 << 10

// handshakeTimeout bounds a TLS handshake when FrameTimeout is off.
const handshakeTimeout = 30 * time.Second

// startTLS runs the TLS handshake of a connection on an SSL or SASL_SSL
// listener and, on SSL, takes the principal from a verified client
// certificate. A client that does not speak TLS (a plaintext client on
// a TLS port) fails here and the connection closes.
func (c *conn) startTLS() bool {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return true
	}
	timeout := c.s.cfg.FrameTimeout
	if timeout <= 0 {
		timeout = handshakeTimeout
	}
	ctx, cancel := context.WithTimeout(c.ctx, timeout)
	defer cancel()
	if err := tc.HandshakeContext(ctx); err != nil {
		c.s.authMetrics.tlsFailures.Inc()
		c.s.log.Info("kafka TLS handshake failed, closing connection", "conn", c.info.ID, "remote", c.info.Remote.String(), "listener", c.info.sec.lis.cfg.Name, "err", err.Error())
		return false
	}
	if c.info.sec.lis.cfg.Protocol == ProtocolSSL {
		if certs := tc.ConnectionState().PeerCertificates; len(certs) > 0 {
			c.info.Principal = c.info.sec.lis.cfg.Principals.CertPrincipal(certs[0])
		}
	}
	return true
}

// errAuthFailed is the one message every failed login gets, whatever
// failed (unknown user, wrong password, malformed exchange).
var errAuthFailed = auth.ErrBadCredentials

// step runs one client token of the SASL exchange: the reply token, and
// whether the exchange is complete (the connection then acts as the
// authenticated principal). An error means authentication failed.
func (c *conn) saslStep(token []byte) (reply []byte, done bool, err error) {
	sec := c.info.sec
	users := c.s.cfg.Users
	if users == nil {
		return nil, false, errAuthFailed
	}
	switch sec.mech {
	case MechanismPlain:
		user, pass, err := parsePlain(token)
		if err != nil {
			return nil, false, err
		}
		p, err := users.VerifyPassword(c.ctx, user, pass)
		if err != nil {
			return nil, false, errAuthFailed
		}
		c.info.Principal = p
		return nil, true, nil
	case MechanismSCRAMSHA256, MechanismSCRAMSHA512:
		if sec.scram == nil {
			m, _ := auth.ParseMechanism(sec.mech)
			sec.scram = users.NewScramConversation(m)
		}
		out, err := sec.scram.Step(token)
		if err != nil {
			return nil, false, err
		}
		if !sec.scram.Done() {
			return out, false, nil
		}
		c.info.Principal = auth.User(sec.scram.User())
		return out, true, nil
	}
	return nil, false, errAuthFailed
}

// parsePlain splits a SASL/PLAIN message, "authzid NUL user NUL password"
// (RFC 4616); an authorization id other than empty or the user is refused,
// as Kafka does.
func parsePlain(b []byte) (user, pass string, err error) {
	parts := bytes.Split(b, []byte{0})
	if len(parts) != 3 || len(parts[1]) == 0 || len(parts[2]) == 0 {
		return "", "", errors.New("malformed PLAIN message")
	}
	if len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1]) {
		return "", "", errors.New("PLAIN authorization id differs from the user")
	}
	return string(parts[1]), string(parts[2]), nil
}

// authSucceeded ends the exchange.
func (c *conn) authSucceeded() {
	sec := c.info.sec
	sec.state, sec.scram = stateDone, nil
	c.s.authMetrics.result(sec.mech, true)
	c.s.authFailures.succeeded(c.info.Host)
	c.debug("kafka SASL authenticated", "mechanism", sec.mech, "principal", string(c.info.Principal))
}

// authFailed ends the exchange and returns how long to wait before the
// failure is answered and the connection closed.
func (c *conn) authFailed(err error) time.Duration {
	sec := c.info.sec
	sec.closing, sec.scram = true, nil
	c.s.authMetrics.result(sec.mech, false)
	d := c.s.authFailures.failed(c.info.Host)
	c.s.log.Info("kafka SASL authentication failed", "conn", c.info.ID, "remote", c.info.Remote.String(), "listener", sec.lis.cfg.Name, "mechanism", sec.mech, "reason", err.Error(), "delay", d)
	return d
}

// rawSASL reads and answers one bare (v0) SASL token of size n. It returns
// false to close the connection.
func (c *conn) rawSASL(br *bufio.Reader, n int32) bool {
	if n < 0 || n > maxSASLToken {
		c.s.metrics.badFrames.Inc()
		return false
	}
	token := make([]byte, n)
	if _, err := io.ReadFull(br, token); err != nil {
		return false
	}
	reply, done, err := c.saslStep(token)
	if err != nil {
		d := c.authFailed(err)
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-c.ctx.Done():
		case <-c.stopping:
		}
		return false
	}
	frame := binary.BigEndian.AppendUint32(make([]byte, 0, 4+len(reply)), uint32(len(reply)))
	frame = append(frame, reply...)
	// The client sent this token only after reading every earlier
	// response, so nothing else is being written.
	if _, err := c.nc.Write(frame); err != nil {
		return false
	}
	if done {
		c.authSucceeded()
	}
	return true
}

// failureDelays slows down repeated failed logins from one host: the
// first failure is answered after 100 ms (Kafka's
// connection.failed.authentication.delay.ms), each further failure
// within a minute doubles it, up to 5 s. A success from the host resets
// it.
type failureDelays struct {
	mu    sync.Mutex
	hosts map[string]failureRecord
}

type failureRecord struct {
	count int
	last  time.Time
}

const (
	authFailDelay     = 100 * time.Millisecond
	authFailMaxDelay  = 5 * time.Second
	authFailWindow    = time.Minute
	authFailMaxTraced = 10000
)

func (f *failureDelays) failed(host string) time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.hosts == nil || len(f.hosts) >= authFailMaxTraced {
		f.hosts = map[string]failureRecord{}
	}
	now := time.Now()
	r := f.hosts[host]
	if now.Sub(r.last) > authFailWindow {
		r.count = 0
	}
	r.count++
	r.last = now
	f.hosts[host] = r
	d := authFailDelay
	for i := 1; i < r.count && d < authFailMaxDelay; i++ {
		d *= 2
	}
	return min(d, authFailMaxDelay)
}

func (f *failureDelays) succeeded(host string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.hosts, host)
}

// tlsChunk is how many bytes of a vectored reply go into one TLS write.
const tlsChunk = 64 << 10

// writeBufs writes a vectored reply (a Fetch response's header and stored
// batches). A plain socket takes it with writev; a TLS connection has no
// vectored write and would seal and send every piece (often one small
// batch) as a record of its own with a syscall each, so the pieces are
// first gathered into chunks of up to 64 KiB. Only the goroutine holding
// the connection's write role calls it (it reuses sec.wbuf).
func (c *conn) writeBufs(bufs net.Buffers) (int64, error) {
	tc, ok := c.nc.(*tls.Conn)
	if !ok {
		return bufs.WriteTo(c.nc)
	}
	sec := c.info.sec
	buf := sec.wbuf[:0]
	var total int64
	flush := func() error {
		n, err := tc.Write(buf)
		total += int64(n)
		buf = buf[:0]
		return err
	}
	for _, b := range bufs {
		for len(b) > 0 {
			if len(buf) == 0 && len(b) >= tlsChunk {
				// Big enough on its own: no copy.
				n, err := tc.Write(b)
				total += int64(n)
				if err != nil {
					return total, err
				}
				b = nil
				continue
			}
			n := min(len(b), tlsChunk-len(buf))
			buf = append(buf, b[:n]...)
			b = b[n:]
			if len(buf) == tlsChunk {
				if err := flush(); err != nil {
					return total, err
				}
			}
		}
	}
	if len(buf) > 0 {
		if err := flush(); err != nil {
			return total, err
		}
	}
	if cap(buf) <= tlsChunk {
		sec.wbuf = buf[:0]
	}
	return total, nil
}
