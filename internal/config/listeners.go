package config

import (
	"fmt"
	"os"
	"regexp"
	"strings"

	"github.com/eddy-streaming/eddy/internal/auth"
)

// Kafka listener security protocols (Kafka's names).
const (
	ProtocolPlaintext     = "PLAINTEXT"
	ProtocolSSL           = "SSL"
	ProtocolSASLPlaintext = "SASL_PLAINTEXT"
	ProtocolSASLSSL       = "SASL_SSL"
)

// SASL mechanisms.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// SSL client authentication modes (Kafka's ssl.client.auth).
const (
	ClientAuthNone      = "none"
	ClientAuthRequested = "requested"
	ClientAuthRequired  = "required"
)

// Listener is one Kafka listener parsed from listeners,
// listener-security-protocol-map, advertised-listeners and
// sasl-mechanisms (or the kafka-addr shorthand).
type Listener struct {
	Name     string
	Addr     string // host:port
	Protocol string
	// Advertised is host:port, or "" for the address each client used.
	Advertised string
	// Mechanisms are the SASL mechanisms of a SASL listener.
	Mechanisms []string
}

// Authenticates reports whether every client of the listener must prove
// who it is: SASL, or SSL with required client certificates.
func (l Listener) Authenticates(clientAuth string) bool {
	return l.Protocol == ProtocolSASLPlaintext || l.Protocol == ProtocolSASLSSL ||
		(l.Protocol == ProtocolSSL && clientAuth == ClientAuthRequired)
}

// IsTLS reports whether the listener runs over TLS.
func (l Listener) IsTLS() bool { return l.Protocol == ProtocolSSL || l.Protocol == ProtocolSASLSSL }

// IsSASL reports whether the listener authenticates with SASL.
func (l Listener) IsSASL() bool {
	return l.Protocol == ProtocolSASLPlaintext || l.Protocol == ProtocolSASLSSL
}

var listenerName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*$`)

// KafkaListeners returns the configured Kafka listeners: those of
// listeners, or one PLAINTEXT listener on kafka-addr (advertising
// advertised-addr) when listeners is empty. Errors are *KeyErrors.
func (c Config) KafkaListeners() ([]Listener, []error) {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	if strings.TrimSpace(c.Listeners) == "" {
		out := []Listener{{Name: ProtocolPlaintext, Addr: c.KafkaAddr, Protocol: ProtocolPlaintext, Advertised: c.AdvertisedAddr}}
		return out, c.applyAdvertised(out)
	}
	protoMap := map[string]string{}
	for _, e := range splitList(c.ListenerProtocolMap, ",") {
		name, proto, ok := strings.Cut(e, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || !listenerName.MatchString(name) || !validProtocol(proto) {
			bad("listener-security-protocol-map", "%q: want NAME:PROTOCOL with PROTOCOL one of PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL, e.g. CLIENT:SASL_SSL,INTERNAL:PLAINTEXT", e)
			continue
		}
		protoMap[name] = proto
	}
	mechs, mechErrs := c.parseMechanisms()
	errs = append(errs, mechErrs...)
	var out []Listener
	seen := map[string]bool{}
	for _, e := range splitList(c.Listeners, ",") {
		name, addr, ok := strings.Cut(e, "://")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok || !listenerName.MatchString(name) {
			bad("listeners", "%q: want NAME://host:port, e.g. SASL_SSL://0.0.0.0:9093", e)
			continue
		}
		if err := checkListenAddr(addr); err != nil {
			bad("listeners", "%q: %v; want NAME://host:port", e, err)
			continue
		}
		if seen[name] {
			bad("listeners", "listener name %s appears twice; each listener needs its own name", name)
			continue
		}
		seen[name] = true
		proto := protoMap[name]
		if proto == "" {
			if !validProtocol(name) {
				bad("listeners", "listener %s has no security protocol: name it after one (PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL) or map it with listener-security-protocol-map (%s:SASL_SSL)", name, name)
				continue
			}
			proto = name
		}
		l := Listener{Name: name, Addr: addr, Protocol: proto}
		if l.IsSASL() {
			l.Mechanisms = mechs[name]
			if l.Mechanisms == nil {
				l.Mechanisms = mechs[""]
			}
		}
		out = append(out, l)
	}
	for name := range protoMap {
		if !seen[name] {
			bad("listener-security-protocol-map", "maps %s, which is not in listeners", name)
		}
	}
	for name := range mechs {
		if name != "" && !seen[name] {
			bad("sasl-mechanisms", "names listener %s, which is not in listeners", name)
		}
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[i].Addr == out[j].Addr && !hasPortZero(out[i].Addr) {
				bad("listeners", "%s and %s both use %s; each listener needs its own port", out[i].Name, out[j].Name, out[i].Addr)
			}
		}
	}
	errs = append(errs, c.applyAdvertised(out)...)
	return out, errs
}

// applyAdvertised sets the listeners' advertised addresses from
// advertised-listeners.
func (c Config) applyAdvertised(out []Listener) []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, e := range splitList(c.AdvertisedListeners, ",") {
		name, addr, ok := strings.Cut(e, "://")
		name = strings.ToUpper(strings.TrimSpace(name))
		if !ok {
			bad("advertised-listeners", "%q: want NAME://host:port", e)
			continue
		}
		if err := checkAdvertisedAddr(addr); err != nil {
			bad("advertised-listeners", "%q: %v; want NAME://host:port with a host clients can reach", e, err)
			continue
		}
		found := false
		for i := range out {
			if out[i].Name == name {
				out[i].Advertised, found = addr, true
			}
		}
		if !found {
			bad("advertised-listeners", "advertises %s, which is not in listeners", name)
		}
	}
	return errs
}

// parseMechanisms reads sasl-mechanisms: "PLAIN,SCRAM-SHA-256" for every
// SASL listener, or per listener "CLIENT=SCRAM-SHA-512;INTERNAL=PLAIN".
// The "" key holds the list for listeners not named.
func (c Config) parseMechanisms() (map[string][]string, []error) {
	var errs []error
	out := map[string][]string{}
	parse := func(list string) []string {
		var ms []string
		for _, m := range splitList(list, ",") {
			m = strings.ToUpper(m)
			ok := false
			for _, v := range saslMechanisms {
				ok = ok || v == m
			}
			if !ok {
				errs = append(errs, &KeyError{Key: "sasl-mechanisms", Msg: fmt.Sprintf("%q is not a mechanism; use PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", m)})
				continue
			}
			ms = append(ms, m)
		}
		return ms
	}
	if !strings.Contains(c.SASLMechanisms, "=") {
		out[""] = parse(c.SASLMechanisms)
		return out, errs
	}
	for _, e := range splitList(c.SASLMechanisms, ";") {
		name, list, ok := strings.Cut(e, "=")
		if !ok {
			errs = append(errs, &KeyError{Key: "sasl-mechanisms", Msg: fmt.Sprintf("%q: want LISTENER=MECH,MECH entries separated by semicolons", e)})
			continue
		}
		out[strings.ToUpper(strings.TrimSpace(name))] = parse(list)
	}
	return out, errs
}

func validProtocol(p string) bool {
	switch p {
	case ProtocolPlaintext, ProtocolSSL, ProtocolSASLPlaintext, ProtocolSASLSSL:
		return true
	}
	return false
}

func splitList(s, sep string) []string {
	var out []string
	for _, e := range strings.Split(s, sep) {
		if e = strings.TrimSpace(e); e != "" {
			out = append(out, e)
		}
	}
	return out
}

// AuthenticationConfigured reports whether Eddy authenticates its users:
// a bootstrap user is configured or a Kafka listener uses SASL. It is the
// one condition under which the HTTP API and the schema registry require
// credentials (HTTP Basic) on every route but /healthz, /readyz and (with
// metrics-public) /metrics. The ACL authorizer alone does not turn it on:
// without users nobody could sign in, so HTTP requests then act as
// User:ANONYMOUS and the ACLs decide.
func (c Config) AuthenticationConfigured() bool {
	if c.BootstrapUser != "" {
		return true
	}
	ls, _ := c.KafkaListeners()
	for _, l := range ls {
		if l.IsSASL() {
			return true
		}
	}
	return false
}

// checkSecurity validates the listener, TLS, SASL and bootstrap-user
// settings.
func (c Config) checkSecurity() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	ls, lerrs := c.KafkaListeners()
	errs = append(errs, lerrs...)
	needTLS := false
	for _, l := range ls {
		if l.IsTLS() {
			needTLS = true
		}
		if l.IsSASL() && len(l.Mechanisms) == 0 && strings.TrimSpace(c.SASLMechanisms) != "" {
			bad("sasl-mechanisms", "listener %s is left with no mechanism", l.Name)
		}
		if l.Name != ls[0].Name && (l.Addr == c.HTTPAddr || l.Addr == c.SchemaRegistryAddr) && !hasPortZero(l.Addr) {
			bad("listeners", "%s uses %s, which is also the HTTP or schema registry address", l.Name, l.Addr)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		bad("tls-cert", "tls-cert and tls-key go together; set both (PEM files) or neither")
	}
	if needTLS && c.TLSCert == "" {
		bad("tls-cert", "an SSL or SASL_SSL listener needs a certificate: set tls-cert and tls-key (PEM files)")
	}
	for _, f := range []struct{ key, path string }{{"tls-cert", c.TLSCert}, {"tls-key", c.TLSKey}, {"tls-client-ca", c.TLSClientCA}, {"http-tls-cert", c.HTTPTLSCert}, {"http-tls-key", c.HTTPTLSKey}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			bad(f.key, "%v", err)
		}
	}
	switch c.SSLClientAuth {
	case ClientAuthNone:
	case ClientAuthRequested, ClientAuthRequired:
		if c.TLSClientCA == "" {
			bad("ssl-client-auth", "%s needs tls-client-ca, the PEM bundle of the CAs client certificates must chain to", c.SSLClientAuth)
		}
	default:
		bad("ssl-client-auth", "%q is not allowed; use none, requested or required", c.SSLClientAuth)
	}
	if _, err := auth.ParsePrincipalMapping(c.SSLPrincipalMappingRules); err != nil {
		bad("ssl-principal-mapping-rules", "%v", err)
	}
	if (c.HTTPTLSCert == "") != (c.HTTPTLSKey == "") {
		bad("http-tls-cert", "http-tls-cert and http-tls-key go together; set both (PEM files) or neither")
	}
	if c.BootstrapUser != "" && c.BootstrapPassword == "" {
		bad("bootstrap-user", "%q needs a password: set EDDY_BOOTSTRAP_PASSWORD or bootstrap-password-file", c.BootstrapUser)
	}
	if c.BootstrapUser == "" && c.BootstrapPasswordFile != "" {
		bad("bootstrap-password-file", "is set but bootstrap-user is not")
	}
	if strings.ContainsRune(c.BootstrapUser, 0) {
		bad("bootstrap-user", "must not contain NUL bytes")
	}
	return errs
}

// HTTPTLSFiles returns the certificate and key the HTTP and schema
// registry listeners serve: http-tls-cert/-key, else the Kafka
// tls-cert/-key, else none.
func (c Config) HTTPTLSFiles() (cert, key string) {
	if c.HTTPTLSCert != "" {
		return c.HTTPTLSCert, c.HTTPTLSKey
	}
	return c.TLSCert, c.TLSKey
}
