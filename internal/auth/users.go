package auth

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"sort"
	"strings"
	"sync"

	"github.com/xdg-go/scram"
)

// Mechanism is a SCRAM mechanism, numbered as Kafka's ScramMechanism enum
// (DescribeUserScramCredentials and AlterUserScramCredentials carry it).
type Mechanism int8

// The SCRAM mechanisms Eddy stores credentials for.
const (
	ScramSHA256 Mechanism = 1
	ScramSHA512 Mechanism = 2
)

// Iteration bounds of a stored credential, Kafka's (ScramMechanism's
// minIterations and the broker's 16384 cap).
const (
	MinIterations     = 4096
	MaxIterations     = 16384
	DefaultIterations = 4096
)

// Mechanisms lists the SCRAM mechanisms in Kafka's order.
var Mechanisms = []Mechanism{ScramSHA256, ScramSHA512}

// String returns the SASL name, "SCRAM-SHA-256" or "SCRAM-SHA-512".
func (m Mechanism) String() string {
	switch m {
	case ScramSHA256:
		return "SCRAM-SHA-256"
	case ScramSHA512:
		return "SCRAM-SHA-512"
	}
	return fmt.Sprintf("SCRAM-UNKNOWN(%d)", int8(m))
}

// ParseMechanism maps a SASL name (case-insensitive) to its Mechanism.
func ParseMechanism(name string) (Mechanism, bool) {
	switch strings.ToUpper(name) {
	case "SCRAM-SHA-256":
		return ScramSHA256, true
	case "SCRAM-SHA-512":
		return ScramSHA512, true
	}
	return 0, false
}

func (m Mechanism) valid() bool { return m == ScramSHA256 || m == ScramSHA512 }

// Hash is the mechanism's hash function.
func (m Mechanism) Hash() func() hash.Hash {
	if m == ScramSHA512 {
		return sha512.New
	}
	return sha256.New
}

// HashGenerator is the xdg-go/scram hash generator of the mechanism.
func (m Mechanism) HashGenerator() scram.HashGeneratorFcn {
	if m == ScramSHA512 {
		return scram.SHA512
	}
	return scram.SHA256
}

// Credential is one stored SCRAM credential (RFC 5802): the salt and
// iteration count a client needs to derive its keys, and the StoredKey
// and ServerKey the server checks proofs with. The password is never
// stored, nor anything a client could log in with.
type Credential struct {
	Mechanism  Mechanism
	Iterations int
	Salt       []byte
	StoredKey  []byte
	ServerKey  []byte
}

// CredentialFromSaltedPassword derives the stored keys from a salted
// password (what AlterUserScramCredentials carries):
// StoredKey = H(HMAC(salted, "Client Key")), ServerKey = HMAC(salted, "Server Key").
func CredentialFromSaltedPassword(m Mechanism, iterations int, salt, salted []byte) Credential {
	mac := func(key []byte, msg string) []byte {
		h := hmac.New(m.Hash(), key)
		h.Write([]byte(msg))
		return h.Sum(nil)
	}
	h := m.Hash()()
	h.Write(mac(salted, "Client Key"))
	return Credential{Mechanism: m, Iterations: iterations, Salt: append([]byte(nil), salt...), StoredKey: h.Sum(nil), ServerKey: mac(salted, "Server Key")}
}

// CredentialFromPassword salts and hashes password for m with a fresh
// random salt. The password is SASLprep-normalized as RFC 5802 requires.
func CredentialFromPassword(m Mechanism, iterations int, password string) (Credential, error) {
	salt := make([]byte, 32)
	if _, err := rand.Read(salt); err != nil {
		return Credential{}, fmt.Errorf("salt: %w", err)
	}
	return credentialWithSalt(m, iterations, salt, password)
}

func credentialWithSalt(m Mechanism, iterations int, salt []byte, password string) (Credential, error) {
	c, err := m.HashGenerator().NewClient("", password, "")
	if err != nil {
		return Credential{}, fmt.Errorf("password: %w", err)
	}
	sc := c.GetStoredCredentials(scram.KeyFactors{Salt: string(salt), Iters: iterations})
	return Credential{Mechanism: m, Iterations: iterations, Salt: append([]byte(nil), salt...), StoredKey: sc.StoredKey, ServerKey: sc.ServerKey}, nil
}

// ErrUnknownUser is returned by Users.Delete for a user (or mechanism)
// with no stored credential.
var ErrUnknownUser = errors.New("no such user or credential")

// ErrBadCredential is returned for a credential that cannot be stored: an
// empty user name, an unknown mechanism, iterations out of range.
var ErrBadCredential = errors.New("unacceptable credential")

// KV is what Users keeps its credentials in: meta.Store, or any store with
// the same small interface (so the credentials can move into a replicated
// store later).
type KV interface {
	Get(bucket, key string) ([]byte, error)
	Put(bucket, key string, value []byte) error
	Delete(bucket, key string) error
	ForEach(bucket, prefix string, fn func(key string, value []byte) error) error
}

// usersBucket is the meta bucket of SCRAM credentials; the key is
// "<user>\x00<mechanism number>", the value storedCredential as JSON.
const usersBucket = "scram_credentials"

type storedCredential struct {
	V          int    `json:"v"`
	Mechanism  int8   `json:"mechanism"`
	Iterations int    `json:"iterations"`
	Salt       []byte `json:"salt"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

// Users is the SCRAM credential store: users and their salted, hashed
// credentials, durable in a KV (meta) and cached in memory for the SASL
// handshakes. It implements PasswordVerifier (SASL/PLAIN and HTTP Basic
// check a password against a stored SCRAM credential).
//
// Users is safe for concurrent use.
type Users struct {
	kv KV
	// secret keys the verification cache and the fake credentials of
	// unknown users; random per process.
	secret [32]byte
	mu     struct {
		sync.RWMutex
		creds map[string]map[Mechanism]Credential
		// gen counts changes; verified entries of an older generation
		// are stale.
		gen      uint64
		verified map[[32]byte]uint64
	}
}

// maxVerified bounds the password-verification cache.
const maxVerified = 4096

// OpenUsers loads every stored credential from kv.
func OpenUsers(kv KV) (*Users, error) {
	u := &Users{kv: kv}
	if _, err := rand.Read(u.secret[:]); err != nil {
		return nil, fmt.Errorf("users secret: %w", err)
	}
	u.mu.creds = map[string]map[Mechanism]Credential{}
	u.mu.verified = map[[32]byte]uint64{}
	err := kv.ForEach(usersBucket, "", func(key string, value []byte) error {
		name, _, ok := strings.Cut(key, "\x00")
		if !ok {
			return fmt.Errorf("credential key %q: no mechanism", key)
		}
		var sc storedCredential
		if err := json.Unmarshal(value, &sc); err != nil {
			return fmt.Errorf("credential of %q: %w", name, err)
		}
		if sc.V != 1 {
			return fmt.Errorf("credential of %q: unknown version %d", name, sc.V)
		}
		c := Credential{Mechanism: Mechanism(sc.Mechanism), Iterations: sc.Iterations, Salt: sc.Salt, StoredKey: sc.StoredKey, ServerKey: sc.ServerKey}
		if u.mu.creds[name] == nil {
			u.mu.creds[name] = map[Mechanism]Credential{}
		}
		u.mu.creds[name][c.Mechanism] = c
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load users: %w", err)
	}
	return u, nil
}

func credKey(user string, m Mechanism) string { return fmt.Sprintf("%s\x00%d", user, m) }

// CheckCredential reports why c cannot be stored for user, or nil.
func CheckCredential(user string, c Credential) error {
	switch {
	case user == "":
		return fmt.Errorf("%w: empty user name", ErrBadCredential)
	case strings.ContainsRune(user, 0):
		return fmt.Errorf("%w: user name contains a NUL byte", ErrBadCredential)
	case !c.Mechanism.valid():
		return fmt.Errorf("%w: unknown SCRAM mechanism %d", ErrBadCredential, c.Mechanism)
	case c.Iterations < MinIterations:
		return fmt.Errorf("%w: too few iterations (%d, at least %d)", ErrBadCredential, c.Iterations, MinIterations)
	case c.Iterations > MaxIterations:
		return fmt.Errorf("%w: too many iterations (%d, at most %d)", ErrBadCredential, c.Iterations, MaxIterations)
	case len(c.Salt) == 0:
		return fmt.Errorf("%w: empty salt", ErrBadCredential)
	}
	return nil
}

// Upsert stores c as user's credential for c.Mechanism, durably, replacing
// any earlier one.
func (u *Users) Upsert(user string, c Credential) error {
	if err := CheckCredential(user, c); err != nil {
		return err
	}
	b, err := json.Marshal(storedCredential{V: 1, Mechanism: int8(c.Mechanism), Iterations: c.Iterations, Salt: c.Salt, StoredKey: c.StoredKey, ServerKey: c.ServerKey})
	if err != nil {
		return fmt.Errorf("encode credential: %w", err)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if err := u.kv.Put(usersBucket, credKey(user, c.Mechanism), b); err != nil {
		return fmt.Errorf("store credential of %q: %w", user, err)
	}
	if u.mu.creds[user] == nil {
		u.mu.creds[user] = map[Mechanism]Credential{}
	}
	u.mu.creds[user][c.Mechanism] = c
	u.changedLocked()
	return nil
}

// SetPassword stores salted, hashed credentials of password for user
// under every mechanism in ms (all of them when ms is empty).
func (u *Users) SetPassword(user, password string, iterations int, ms ...Mechanism) error {
	if len(ms) == 0 {
		ms = Mechanisms
	}
	for _, m := range ms {
		c, err := CredentialFromPassword(m, iterations, password)
		if err != nil {
			return err
		}
		if err := u.Upsert(user, c); err != nil {
			return err
		}
	}
	return nil
}

// Delete removes user's credential for m, or every credential of user
// when m is 0. It returns ErrUnknownUser when there was none.
func (u *Users) Delete(user string, m Mechanism) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	cs := u.mu.creds[user]
	var ms []Mechanism
	if m == 0 {
		for mm := range cs {
			ms = append(ms, mm)
		}
	} else if _, ok := cs[m]; ok {
		ms = []Mechanism{m}
	}
	if len(ms) == 0 {
		return ErrUnknownUser
	}
	for _, mm := range ms {
		if err := u.kv.Delete(usersBucket, credKey(user, mm)); err != nil {
			return fmt.Errorf("delete credential of %q: %w", user, err)
		}
		delete(cs, mm)
	}
	if len(cs) == 0 {
		delete(u.mu.creds, user)
	}
	u.changedLocked()
	return nil
}

func (u *Users) changedLocked() {
	u.mu.gen++
	clear(u.mu.verified)
}

// UserInfo describes one user's credentials (never their keys).
type UserInfo struct {
	Name        string
	Credentials []CredentialInfo
}

// CredentialInfo is a credential's mechanism and iteration count.
type CredentialInfo struct {
	Mechanism  Mechanism
	Iterations int
}

// List returns every user, sorted by name, with their mechanisms.
func (u *Users) List() []UserInfo {
	u.mu.RLock()
	defer u.mu.RUnlock()
	out := make([]UserInfo, 0, len(u.mu.creds))
	for name, cs := range u.mu.creds {
		ui := UserInfo{Name: name}
		for _, m := range Mechanisms {
			if c, ok := cs[m]; ok {
				ui.Credentials = append(ui.Credentials, CredentialInfo{Mechanism: m, Iterations: c.Iterations})
			}
		}
		out = append(out, ui)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns user's credential for m.
func (u *Users) Lookup(user string, m Mechanism) (Credential, bool) {
	u.mu.RLock()
	defer u.mu.RUnlock()
	c, ok := u.mu.creds[user][m]
	return c, ok
}

// Count is the number of users.
func (u *Users) Count() int {
	u.mu.RLock()
	defer u.mu.RUnlock()
	return len(u.mu.creds)
}

// fakeCredential stands in for an unknown user's credential (a salt
// derived from the name and the process secret, keys nobody knows), so
// the exchange fails only at the client's proof and the server's first
// message does not tell whether the user exists.
func (u *Users) fakeCredential(user string, m Mechanism) Credential {
	mac := func(label string) []byte {
		h := hmac.New(sha256.New, u.secret[:])
		h.Write([]byte(label + "\x00" + user))
		return h.Sum(nil)
	}
	return Credential{Mechanism: m, Iterations: DefaultIterations, Salt: mac("salt"), StoredKey: mac("stored"), ServerKey: mac("server")}
}

// VerifyPassword checks password against user's stored SCRAM credential
// (SHA-512 when the user has it, else SHA-256). Successful checks are
// cached (keyed by a keyed hash of name and password) until the user's
// credentials change, so HTTP Basic on every request does not cost a
// PBKDF2 run each. It returns ErrBadCredentials for an unknown user or a
// wrong password alike.
func (u *Users) VerifyPassword(_ context.Context, user, password string) (Principal, error) {
	key := u.verifyKey(user, password)
	u.mu.RLock()
	gen := u.mu.gen
	cached, hit := u.mu.verified[key]
	var c Credential
	var ok bool
	for _, m := range []Mechanism{ScramSHA512, ScramSHA256} {
		if c, ok = u.mu.creds[user][m]; ok {
			break
		}
	}
	u.mu.RUnlock()
	if hit && cached == gen {
		return User(user), nil
	}
	if !ok {
		// Spend the same work as for a known user.
		c = u.fakeCredential(user, ScramSHA256)
	}
	got, err := credentialWithSalt(c.Mechanism, c.Iterations, c.Salt, password)
	if err != nil || !ok || subtle.ConstantTimeCompare(got.StoredKey, c.StoredKey) != 1 {
		return "", ErrBadCredentials
	}
	u.mu.Lock()
	if u.mu.gen == gen {
		if len(u.mu.verified) >= maxVerified {
			clear(u.mu.verified)
		}
		u.mu.verified[key] = gen
	}
	u.mu.Unlock()
	return User(user), nil
}

func (u *Users) verifyKey(user, password string) [32]byte {
	h := hmac.New(sha256.New, u.secret[:])
	h.Write([]byte(user))
	h.Write([]byte{0})
	h.Write([]byte(password))
	var k [32]byte
	h.Sum(k[:0])
	return k
}

// bootstrapKey marks in usersBucket's sibling bucket that the bootstrap
// administrator was created once.
const (
	bootstrapBucket = "auth_state"
	bootstrapKey    = "bootstrap_user_created"
)

// Bootstrap creates user with password (every SCRAM mechanism) the first
// time it is called on a store, and never again: a later start does not
// reset a password the administrator changed, nor bring back a user they
// deleted. It reports whether it created the user.
func (u *Users) Bootstrap(user, password string) (bool, error) {
	done, err := u.kv.Get(bootstrapBucket, bootstrapKey)
	if err != nil {
		return false, fmt.Errorf("bootstrap user: %w", err)
	}
	if done != nil {
		return false, nil
	}
	if password == "" {
		return false, fmt.Errorf("bootstrap user %q: empty password", user)
	}
	if err := u.SetPassword(user, password, DefaultIterations); err != nil {
		return false, fmt.Errorf("bootstrap user %q: %w", user, err)
	}
	if err := u.kv.Put(bootstrapBucket, bootstrapKey, []byte(user)); err != nil {
		return false, fmt.Errorf("bootstrap user: %w", err)
	}
	return true, nil
}
