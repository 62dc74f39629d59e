package auth

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"
)

// CertReloader serves a certificate and key from PEM files and reloads
// them when either file changes (a new modification time or size), so a
// certificate can be rotated without a restart: each TLS handshake looks
// at the files (at most every ReloadCheck) and new connections get the
// new certificate. A pair that fails to load (half written, key not
// matching) keeps the previous one until a good pair appears.
//
// A CertReloader is safe for concurrent use.
type CertReloader struct {
	certFile, keyFile string
	mu                struct {
		sync.Mutex
		cert      *tls.Certificate
		stamp     string
		checked   time.Time
		lastError error
	}
}

// ReloadCheck is how often a CertReloader looks at its files.
const ReloadCheck = 100 * time.Millisecond

// NewCertReloader loads certFile and keyFile; an error names what is wrong
// with them.
func NewCertReloader(certFile, keyFile string) (*CertReloader, error) {
	r := &CertReloader{certFile: certFile, keyFile: keyFile}
	stamp, err := r.stamp()
	if err != nil {
		return nil, err
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load TLS certificate %s and key %s: %w", certFile, keyFile, err)
	}
	r.mu.cert, r.mu.stamp, r.mu.checked = &cert, stamp, time.Now()
	return r, nil
}

func (r *CertReloader) stamp() (string, error) {
	var sb strings.Builder
	for _, f := range []string{r.certFile, r.keyFile} {
		fi, err := os.Stat(f)
		if err != nil {
			return "", fmt.Errorf("TLS file: %w", err)
		}
		fmt.Fprintf(&sb, "%d/%d;", fi.ModTime().UnixNano(), fi.Size())
	}
	return sb.String(), nil
}

// Certificate returns the current certificate, reloading it first when
// the files changed.
func (r *CertReloader) Certificate() *tls.Certificate {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.mu.checked) < ReloadCheck {
		return r.mu.cert
	}
	r.mu.checked = time.Now()
	stamp, err := r.stamp()
	if err != nil || stamp == r.mu.stamp {
		return r.mu.cert
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		// Probably half of a rotation: try again at the next check.
		r.mu.lastError = err
		return r.mu.cert
	}
	r.mu.cert, r.mu.stamp, r.mu.lastError = &cert, stamp, nil
	return r.mu.cert
}

// GetCertificate is tls.Config.GetCertificate.
func (r *CertReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.Certificate(), nil
}

// ClientAuth is Kafka's ssl.client.auth.
type ClientAuth string

// The ssl.client.auth values.
const (
	ClientAuthNone      ClientAuth = "none"
	ClientAuthRequested ClientAuth = "requested"
	ClientAuthRequired  ClientAuth = "required"
)

// TLSOptions configures a server-side TLS config.
type TLSOptions struct {
	CertFile, KeyFile string
	// ClientCAFile is a PEM bundle of the CAs client certificates must
	// chain to; required when ClientAuth is not none.
	ClientCAFile string
	ClientAuth   ClientAuth
}

// ServerTLS builds a TLS 1.2+ server config whose certificate reloads when
// its files change.
func ServerTLS(o TLSOptions) (*tls.Config, error) {
	r, err := NewCertReloader(o.CertFile, o.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: r.GetCertificate}
	switch o.ClientAuth {
	case "", ClientAuthNone:
		cfg.ClientAuth = tls.NoClientCert
	case ClientAuthRequested:
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	case ClientAuthRequired:
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	default:
		return nil, fmt.Errorf("ssl client auth %q: want required, requested or none", o.ClientAuth)
	}
	if o.ClientAuth == ClientAuthRequested || o.ClientAuth == ClientAuthRequired {
		if o.ClientCAFile == "" {
			return nil, errors.New("ssl client auth needs a client CA bundle (tls-client-ca)")
		}
		pem, err := os.ReadFile(o.ClientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client CA bundle: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client CA bundle %s: no PEM certificate in it", o.ClientCAFile)
		}
		cfg.ClientCAs = pool
	}
	return cfg, nil
}

// PrincipalMapper turns a client certificate's subject into a principal,
// as Kafka's ssl.principal.mapping.rules: a comma list of rules tried in
// order, each either DEFAULT (the whole distinguished name) or
// RULE:pattern/replacement/ with an optional L or U after the last slash
// to lower- or upper-case the result. A rule applies when its pattern
// matches the whole name (RFC 2253 form, "CN=client1,OU=eng,O=Example");
// replacement may use $1, $2 … for the pattern's groups. No rule
// matching is DEFAULT.
type PrincipalMapper struct {
	rules []mappingRule
}

type mappingRule struct {
	def   bool
	re    *regexp.Regexp
	repl  string
	lower bool
	upper bool
}

var javaGroupRef = regexp.MustCompile(`\$(\d+)`)

// ParsePrincipalMapping parses ssl.principal.mapping.rules; "" is DEFAULT.
func ParsePrincipalMapping(rules string) (*PrincipalMapper, error) {
	m := &PrincipalMapper{}
	rest := strings.TrimSpace(rules)
	for rest != "" {
		var r mappingRule
		switch {
		case strings.HasPrefix(rest, "DEFAULT"):
			r.def = true
			rest = rest[len("DEFAULT"):]
		case strings.HasPrefix(rest, "RULE:"):
			parts, tail, err := splitRule(rest[len("RULE:"):])
			if err != nil {
				return nil, fmt.Errorf("mapping rule %q: %w", rest, err)
			}
			re, err := regexp.Compile("^(?:" + parts[0] + ")$")
			if err != nil {
				return nil, fmt.Errorf("mapping rule pattern %q: %w", parts[0], err)
			}
			r.re = re
			r.repl = javaGroupRef.ReplaceAllString(parts[1], "$${$1}")
			if strings.HasPrefix(tail, "L") {
				r.lower, tail = true, tail[1:]
			} else if strings.HasPrefix(tail, "U") {
				r.upper, tail = true, tail[1:]
			}
			rest = tail
		default:
			return nil, fmt.Errorf("mapping rule %q: want DEFAULT or RULE:pattern/replacement/[LU]", rest)
		}
		m.rules = append(m.rules, r)
		rest = strings.TrimSpace(rest)
		if rest == "" {
			break
		}
		if rest[0] != ',' {
			return nil, fmt.Errorf("mapping rules: want a comma before %q", rest)
		}
		rest = strings.TrimSpace(rest[1:])
	}
	return m, nil
}

// splitRule reads "pattern/replacement/" (slashes inside escaped as \/)
// and returns the two parts and what follows the last slash.
func splitRule(s string) ([2]string, string, error) {
	var parts [2]string
	for i := range parts {
		var b bytes.Buffer
		for {
			if s == "" {
				return parts, "", errors.New("missing '/'")
			}
			if strings.HasPrefix(s, `\/`) {
				b.WriteByte('/')
				s = s[2:]
				continue
			}
			if s[0] == '/' {
				s = s[1:]
				break
			}
			b.WriteByte(s[0])
			s = s[1:]
		}
		parts[i] = b.String()
	}
	return parts, s, nil
}

// Map returns the principal of a certificate subject name in RFC 2253
// form.
func (m *PrincipalMapper) Map(dn string) Principal {
	if m != nil {
		for _, r := range m.rules {
			if r.def {
				break
			}
			if !r.re.MatchString(dn) {
				continue
			}
			out := r.re.ReplaceAllString(dn, r.repl)
			if r.lower {
				out = strings.ToLower(out)
			} else if r.upper {
				out = strings.ToUpper(out)
			}
			return User(out)
		}
	}
	return User(dn)
}

// CertPrincipal is the principal of a verified client certificate: its
// subject (RFC 2253 form) mapped by m.
func (m *PrincipalMapper) CertPrincipal(cert *x509.Certificate) Principal {
	return m.Map(cert.Subject.String())
}
