package kafka

import (
	"crypto/tls"
	"fmt"
	"net"
	"strings"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// Security protocols of a listener, Kafka's names.
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// SASL mechanisms a SASL listener can offer.
const (
	MechanismPlain       = "PLAIN"
	MechanismSCRAMSHA256 = "SCRAM-SHA-256"
	MechanismSCRAMSHA512 = "SCRAM-SHA-512"
)

// DefaultMechanisms are offered by a SASL listener that names none.
var DefaultMechanisms = []string{MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512}

// Listener is one Kafka listener, as Kafka's listeners setting: a name, an
// address and a security protocol.
//
//   - PLAINTEXT: no encryption, every client is auth.Anonymous.
//   - SSL: TLS; a client that presents a certificate the TLS config
//     verifies (ClientAuth requested or required) acts as the principal of
//     its subject (Principals), others as auth.Anonymous.
//   - SASL_PLAINTEXT, SASL_SSL: SaslHandshake and SaslAuthenticate with
//     one of Mechanisms before anything but ApiVersions; SASL_SSL over TLS.
type Listener struct {
	// Name is the listener's name ("PLAINTEXT", "CLIENT", ...), shown in
	// logs and matched by advertised listeners.
	Name string
	// Addr is the listen address, host:port.
	Addr string
	// Protocol is one of the Protocol* constants; empty is PLAINTEXT.
	Protocol string
	// Advertised is the host:port Metadata returns to clients connected
	// to this listener; empty means the address each client connected to.
	Advertised string
	// TLS is the server TLS config of SSL and SASL_SSL listeners
	// (auth.ServerTLS builds one with certificate reloading).
	TLS *tls.Config
	// TLSFiles, when TLS is nil, names the files Listen builds it from
	// with auth.ServerTLS.
	TLSFiles *auth.TLSOptions
	// Mechanisms are the SASL mechanisms offered; empty is
	// DefaultMechanisms.
	Mechanisms []string
	// Principals maps a verified client certificate to a principal on an
	// SSL listener; nil is Kafka's DEFAULT rule ("User:" + subject).
	Principals *auth.PrincipalMapper
}

// IsSASL reports whether the protocol authenticates with SASL.
func IsSASL(protocol string) bool {
	return protocol == ProtocolSASLPlaintext || protocol == ProtocolSASLSSL
}

// IsTLS reports whether the protocol runs over TLS.
func IsTLS(protocol string) bool { return protocol == ProtocolSSL || protocol == ProtocolSASLSSL }

// ValidProtocol reports whether p is a security protocol Eddy serves.
func ValidProtocol(p string) bool {
	switch p {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
		return true
	}
	return false
}

// ValidMechanism reports whether m is a SASL mechanism Eddy serves.
func ValidMechanism(m string) bool {
	switch m {
	case MechanismPlain, MechanismSCRAMSHA256, MechanismSCRAMSHA512:
		return true
	}
	return false
}

// boundListener is a Listener and its socket.
type boundListener struct {
	cfg Listener
	ln  net.Listener
	// mechs lists the mechanisms offered, for SaslHandshake replies.
	mechs []string
}

func (b *boundListener) offers(mech string) bool {
	for _, m := range b.mechs {
		if m == mech {
			return true
		}
	}
	return false
}

// listen binds every configured listener; on failure it closes those
// already bound.
func (s *Server) listen() ([]*boundListener, error) {
	ls := s.cfg.Listeners
	if len(ls) == 0 {
		ls = []Listener{{Name: ProtocolPlaintext, Addr: s.cfg.Addr, Protocol: ProtocolPlaintext, Advertised: s.cfg.AdvertisedAddr}}
	}
	var out []*boundListener
	fail := func(err error) ([]*boundListener, error) {
		for _, b := range out {
			_ = b.ln.Close()
		}
		return nil, err
	}
	for _, l := range ls {
		if l.Protocol == "" {
			l.Protocol = ProtocolPlaintext
		}
		if l.Name == "" {
			l.Name = l.Protocol
		}
		if !ValidProtocol(l.Protocol) {
			return fail(fmt.Errorf("kafka listener %s: unknown security protocol %q", l.Name, l.Protocol))
		}
		if IsTLS(l.Protocol) && l.TLS == nil && l.TLSFiles != nil {
			cfg, err := auth.ServerTLS(*l.TLSFiles)
			if err != nil {
				return fail(fmt.Errorf("kafka listener %s: %w", l.Name, err))
			}
			l.TLS = cfg
		}
		if IsTLS(l.Protocol) && l.TLS == nil {
			return fail(fmt.Errorf("kafka listener %s: %s needs a TLS certificate", l.Name, l.Protocol))
		}
		b := &boundListener{cfg: l}
		if IsSASL(l.Protocol) {
			b.mechs = l.Mechanisms
			if len(b.mechs) == 0 {
				b.mechs = DefaultMechanisms
			}
			for _, m := range b.mechs {
				if !ValidMechanism(m) {
					return fail(fmt.Errorf("kafka listener %s: unknown SASL mechanism %q; use %s", l.Name, m, strings.Join(DefaultMechanisms, ", ")))
				}
			}
		}
		ln, err := net.Listen("tcp", l.Addr)
		if err != nil {
			return fail(fmt.Errorf("kafka listen %s (%s): %w", l.Addr, l.Name, err))
		}
		if IsTLS(l.Protocol) {
			ln = tls.NewListener(ln, l.TLS)
		}
		b.ln = ln
		out = append(out, b)
	}
	return out, nil
}

// ListenerAddr returns the bound address of the listener called name, or
// nil.
func (s *Server) ListenerAddr(name string) net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range s.mu.lns {
		if b.cfg.Name == name {
			return b.ln.Addr()
		}
	}
	return nil
}

// ListenerAddrs maps each listener's name to its bound address.
func (s *Server) ListenerAddrs() map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := make(map[string]string, len(s.mu.lns))
	for _, b := range s.mu.lns {
		m[b.cfg.Name] = b.ln.Addr().String()
	}
	return m
}
