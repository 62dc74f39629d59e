package auth

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/meta"
)

func openTestUsers(t testing.TB) (*Users, *meta.Store) {
	t.Helper()
	m, err := meta.Open(filepath.Join(t.TempDir(), "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	u, err := OpenUsers(m)
	if err != nil {
		t.Fatal(err)
	}
	return u, m
}

// exchange runs xdg-go/scram's client against a ScramConversation.
func exchange(t *testing.T, u *Users, m Mechanism, user, pass string) error {
	t.Helper()
	cl, err := m.HashGenerator().NewClient(user, pass, "")
	if err != nil {
		t.Fatal(err)
	}
	conv := cl.NewConversation()
	srv := u.NewScramConversation(m)
	msg, err := conv.Step("")
	if err != nil {
		t.Fatal(err)
	}
	for !srv.Done() {
		out, err := srv.Step([]byte(msg))
		if err != nil {
			return err
		}
		if msg, err = conv.Step(string(out)); err != nil {
			t.Fatalf("client rejects the server: %v", err)
		}
	}
	if !conv.Valid() || srv.User() != user {
		t.Fatalf("client valid=%v, server user %q", conv.Valid(), srv.User())
	}
	return nil
}

func TestScramConversationWithXdgClient(t *testing.T) {
	u, _ := openTestUsers(t)
	if err := u.SetPassword("alice", "pässword", DefaultIterations); err != nil {
		t.Fatal(err)
	}
	for _, m := range Mechanisms {
		if err := exchange(t, u, m, "alice", "pässword"); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		var se *ScramError
		if err := exchange(t, u, m, "alice", "wrong"); !errors.As(err, &se) {
			t.Fatalf("%s wrong password: %v", m, err)
		}
		if err := exchange(t, u, m, "bob", "x"); !errors.As(err, &se) {
			t.Fatalf("%s unknown user: %v", m, err)
		}
	}
}

// An unknown user gets a server-first message shaped like a known one's,
// and the same one each time (a stable fake salt), so probing does not
// tell users apart.
func TestScramUnknownUserLooksKnown(t *testing.T) {
	u, _ := openTestUsers(t)
	_ = u.SetPassword("alice", "pw", DefaultIterations)
	first := func(user string) string {
		out, err := u.NewScramConversation(ScramSHA256).Step([]byte("n,,n=" + user + ",r=abc"))
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(string(out), ",")
		return parts[1] + "," + parts[2]
	}
	a, b := first("nobody"), first("nobody")
	if a != b || !strings.HasPrefix(a, "s=") || strings.Count(first("alice"), ",") != strings.Count(a, ",") {
		t.Fatalf("unknown user first messages %q %q", a, b)
	}
}

func TestVerifyPassword(t *testing.T) {
	u, m := openTestUsers(t)
	ctx := context.Background()
	_ = u.SetPassword("alice", "pw", DefaultIterations, ScramSHA256)
	for i := 0; i < 2; i++ { // the second hits the cache
		if p, err := u.VerifyPassword(ctx, "alice", "pw"); err != nil || p != "User:alice" {
			t.Fatalf("good password: %v %v", p, err)
		}
	}
	for _, up := range [][2]string{{"alice", "wrong"}, {"bob", "pw"}, {"alice", ""}} {
		if _, err := u.VerifyPassword(ctx, up[0], up[1]); !errors.Is(err, ErrBadCredentials) {
			t.Fatalf("%v: %v", up, err)
		}
	}
	// A changed password invalidates the cache; a reopened store has the
	// new one.
	_ = u.SetPassword("alice", "new", DefaultIterations)
	if _, err := u.VerifyPassword(ctx, "alice", "pw"); err == nil {
		t.Fatal("old password accepted after a change")
	}
	u2, err := OpenUsers(m)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u2.VerifyPassword(ctx, "alice", "new"); err != nil {
		t.Fatalf("reopened store: %v", err)
	}
	if err := u2.Delete("alice", 0); err != nil {
		t.Fatal(err)
	}
	if err := u2.Delete("alice", 0); !errors.Is(err, ErrUnknownUser) {
		t.Fatalf("second delete: %v", err)
	}
}

func TestBootstrapOnlyOnce(t *testing.T) {
	u, _ := openTestUsers(t)
	if ok, err := u.Bootstrap("admin", "one"); !ok || err != nil {
		t.Fatalf("first bootstrap: %v %v", ok, err)
	}
	_ = u.Delete("admin", 0)
	if ok, err := u.Bootstrap("admin", "two"); ok || err != nil {
		t.Fatalf("second bootstrap: %v %v", ok, err)
	}
	if u.Count() != 0 {
		t.Fatal("bootstrap recreated a deleted user")
	}
}

func TestPrincipalMapping(t *testing.T) {
	m, err := ParsePrincipalMapping(`RULE:^CN=([^,]+),OU=([^,]+),O=.*$/$1@$2/L, RULE:^CN=(.*?),O=Example$/$1/U, RULE:^CN=a\/b$/slash/, DEFAULT`)
	if err != nil {
		t.Fatal(err)
	}
	for dn, want := range map[string]Principal{
		"CN=Alice,OU=Eng,O=Example": "User:alice@eng",
		"CN=bob,O=Example":          "User:BOB",
		"CN=a/b":                    "User:slash",
		"CN=carol,O=Other":          "User:CN=carol,O=Other",
	} {
		if got := m.Map(dn); got != want {
			t.Errorf("Map(%q) = %q, want %q", dn, got, want)
		}
	}
	for _, bad := range []string{"RULE:x", "RULE:(/x/", "NOPE", "DEFAULT DEFAULT"} {
		if _, err := ParsePrincipalMapping(bad); err == nil {
			t.Errorf("ParsePrincipalMapping(%q) accepted", bad)
		}
	}
}

// FuzzScramConversation feeds arbitrary client messages to the server
// side: it must never panic and never complete without the right proof.
func FuzzScramConversation(f *testing.F) {
	f.Add([]byte("n,,n=alice,r=abcdef"), []byte("c=biws,r=abcdef,p=AAAA"))
	f.Add([]byte("y,a=alice,n=alice,r=x"), []byte("c=eSxhPWFsaWNlLA==,r=x,p="))
	f.Add([]byte("p=tls-unique,,n=a,r=b"), []byte(""))
	f.Add([]byte("n,,n=a=2Cb=3D,r=b,ext=1"), []byte("c=biws,r=b,p=AAAA,p=BBBB"))
	f.Add([]byte(""), []byte(","))
	f.Add([]byte("n,,n=bob,r=\x00"), []byte("c=biws"))
	u, _ := openTestUsers(f)
	_ = u.SetPassword("alice", "pw", MinIterations)
	f.Fuzz(func(t *testing.T, first, final []byte) {
		for _, m := range Mechanisms {
			c := u.NewScramConversation(m)
			if _, err := c.Step(first); err != nil {
				continue
			}
			if _, err := c.Step(final); err == nil || c.Done() {
				t.Fatalf("fuzzed exchange completed: %q %q", first, final)
			}
		}
	})
}
