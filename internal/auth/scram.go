package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
)

// ScramConversation is the server side of one SCRAM exchange (RFC 5802),
// as Kafka's ScramSaslServer runs it: client-first → server-first,
// client-final → server-final. Credentials come from Users (salted and
// hashed; keys derived with xdg-go/scram).
//
// It follows Kafka, not the RFC's letter, in one place: the client-final
// nonce must END with the nonce the server sent rather than equal it.
// librdkafka up to at least 2.0 sends its own nonce in front of the
// combined one, and Kafka has accepted that for years; the client proof
// still covers the nonce exactly as sent, so nothing is weakened.
//
// Channel binding is not supported (a "p=" gs2 flag is refused); an
// authorization id must be empty or the user. Extensions in the first
// message (Kafka's tokenauth=true) are refused: Eddy has no delegation
// tokens. A conversation is used by one goroutine.
type ScramConversation struct {
	users *Users
	mech  Mechanism
	step  int
	user  string
	cred  Credential
	// known is false for an unknown user: the exchange runs on a fake
	// credential and fails at the proof.
	known        bool
	gs2          string
	clientBare   string
	serverFirst  string
	nonce        string
	done, failed bool
}

// NewScramConversation starts a server conversation for mechanism m.
func (u *Users) NewScramConversation(m Mechanism) *ScramConversation {
	return &ScramConversation{users: u, mech: m}
}

// ScramError says why an exchange failed, for the server's log only.
type ScramError struct{ Detail string }

func (e *ScramError) Error() string { return "SCRAM exchange failed: " + e.Detail }

func scramFail(format string, args ...any) error {
	return &ScramError{Detail: fmt.Sprintf(format, args...)}
}

// Done reports whether the exchange completed successfully.
func (c *ScramConversation) Done() bool { return c.done }

// User is the authenticated user once Done.
func (c *ScramConversation) User() string { return c.user }

// Step consumes one client message and returns the server's reply. An
// error ends the exchange (authentication failed).
func (c *ScramConversation) Step(msg []byte) ([]byte, error) {
	if c.failed || c.done {
		return nil, scramFail("exchange already over")
	}
	var out []byte
	var err error
	switch c.step {
	case 0:
		out, err = c.first(string(msg))
	case 1:
		out, err = c.final(string(msg))
	default:
		err = scramFail("unexpected message")
	}
	c.step++
	if err != nil {
		c.failed = true
	}
	return out, err
}

func (c *ScramConversation) first(msg string) ([]byte, error) {
	// gs2-header: cbind-flag "," [authzid] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return nil, scramFail("no gs2 header")
	}
	if flag != "n" && flag != "y" {
		return nil, scramFail("channel binding %q not supported", flag)
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, scramFail("no gs2 header")
	}
	c.gs2 = msg[:len(msg)-len(bare)]
	c.clientBare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, scramFail("client-first-message wants n=user,r=nonce")
	}
	if len(attrs) > 2 {
		return nil, scramFail("extensions not supported (%.40q)", strings.Join(attrs[2:], ","))
	}
	user, ok := decodeSaslName(attrs[0][2:])
	if !ok || user == "" {
		return nil, scramFail("bad user name encoding")
	}
	if authz != "" {
		a, ok := decodeSaslName(strings.TrimPrefix(authz, "a="))
		if !strings.HasPrefix(authz, "a=") || !ok || a != user {
			return nil, scramFail("authorization id differs from the user")
		}
	}
	cnonce := attrs[1][2:]
	if cnonce == "" || !printableNonce(cnonce) {
		return nil, scramFail("bad client nonce")
	}
	c.user = user
	c.cred, c.known = c.users.Lookup(user, c.mech)
	if !c.known {
		c.cred = c.users.fakeCredential(user, c.mech)
	}
	var raw [24]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	c.nonce = cnonce + base64.RawURLEncoding.EncodeToString(raw[:])
	c.serverFirst = "r=" + c.nonce + ",s=" + base64.StdEncoding.EncodeToString(c.cred.Salt) + ",i=" + strconv.Itoa(c.cred.Iterations)
	return []byte(c.serverFirst), nil
}

func (c *ScramConversation) final(msg string) ([]byte, error) {
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return nil, scramFail("no proof")
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	attrs := strings.Split(withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return nil, scramFail("client-final-message wants c=...,r=...,p=...")
	}
	cb, err := base64.StdEncoding.DecodeString(attrs[0][2:])
	if err != nil || string(cb) != c.gs2 {
		return nil, scramFail("channel binding does not match the gs2 header")
	}
	if !strings.HasSuffix(attrs[1][2:], c.nonce) {
		return nil, scramFail("nonce does not end with the server's")
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	h := c.mech.Hash()
	if err != nil || len(proof) != h().Size() {
		return nil, scramFail("bad proof encoding")
	}
	authMessage := c.clientBare + "," + c.serverFirst + "," + withoutProof
	mac := hmac.New(h, c.cred.StoredKey)
	mac.Write([]byte(authMessage))
	clientSig := mac.Sum(nil)
	clientKey := make([]byte, len(proof))
	for j := range proof {
		clientKey[j] = proof[j] ^ clientSig[j]
	}
	hh := h()
	hh.Write(clientKey)
	if subtle.ConstantTimeCompare(hh.Sum(nil), c.cred.StoredKey) != 1 || !c.known {
		return nil, scramFail("wrong proof (wrong password or unknown user)")
	}
	mac = hmac.New(h, c.cred.ServerKey)
	mac.Write([]byte(authMessage))
	c.done = true
	return []byte("v=" + base64.StdEncoding.EncodeToString(mac.Sum(nil))), nil
}

// decodeSaslName undoes RFC 5802's =2C and =3D escapes; any other '='
// is an error.
func decodeSaslName(s string) (string, bool) {
	if !strings.Contains(s, "=") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '=' {
			b.WriteByte(s[i])
			continue
		}
		switch {
		case strings.HasPrefix(s[i:], "=2C"):
			b.WriteByte(',')
		case strings.HasPrefix(s[i:], "=3D"):
			b.WriteByte('=')
		default:
			return "", false
		}
		i += 2
	}
	return b.String(), true
}

// printableNonce checks RFC 5802's printable: %x21-2B / %x2D-7E.
func printableNonce(s string) bool {
	for i := 0; i < len(s); i++ {
		if b := s[i]; b < 0x21 || b > 0x7e || b == ',' {
			return false
		}
	}
	return true
}
