package auth

import (
	"context"
	"testing"
)

func TestPrincipalParts(t *testing.T) {
	p := User("alice")
	if p != "User:alice" || p.Type() != "User" || p.Name() != "alice" {
		t.Fatalf("User(alice) = %q type %q name %q", p, p.Type(), p.Name())
	}
	if dn := Principal("User:CN=c1,O=Ex:ample"); dn.Name() != "CN=c1,O=Ex:ample" {
		t.Fatalf("Name of %q = %q, want everything after the first colon", dn, dn.Name())
	}
	if got := FromContext(context.Background()); got != Anonymous {
		t.Fatalf("FromContext(empty) = %q, want %q", got, Anonymous)
	}
	if got := FromContext(WithPrincipal(context.Background(), p)); got != p {
		t.Fatalf("FromContext(WithPrincipal(%q)) = %q", p, got)
	}
}
