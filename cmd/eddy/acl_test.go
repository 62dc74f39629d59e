package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestACLCommands: eddy acl create, list and delete against a real
// `eddy serve --authorizer acl`, ACLs in force without a restart, kept
// across a crash (SIGKILL) and a restart.
func TestACLCommands(t *testing.T) {
	p := eddytest.Start(t, eddytest.Args("--authorizer", "acl", "--super-users", "User:admin"))
	addr := p.KafkaAddr()
	// The CLI is User:ANONYMOUS (no credentials): it may do nothing yet.
	r := runCLI(t, addr, "", "acl", "list")
	if r.err == nil || !strings.Contains(r.err.Error(), "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("acl list without ACLs: %v, want CLUSTER_AUTHORIZATION_FAILED", r.err)
	}
	r = runCLI(t, addr, "v\n", "produce", "orders")
	if r.err == nil || !strings.Contains(r.err.Error()+r.stderr, "AUTHORIZATION_FAILED") {
		t.Fatalf("produce without ACLs: %v %s, want an authorization failure", r.err, r.stderr)
	}
	p.Stop()

	// Let the CLI administer ACLs: anonymous as a super user for a while.
	p = eddytest.Start(t, eddytest.DataDir(p.DataDir()), eddytest.Args("--authorizer", "acl", "--super-users", "User:admin;User:ANONYMOUS"))
	addr = p.KafkaAddr()
	mustRun(t, addr, "", "topic", "create", "orders")
	mustRun(t, addr, "", "acl", "create", "--allow-principal", "User:ANONYMOUS", "--operation", "Write", "--operation", "Describe", "--topic", "orders")
	mustRun(t, addr, "", "acl", "create", "--allow-principal", "User:ANONYMOUS", "--operation", "IdempotentWrite", "--cluster")
	mustRun(t, addr, "", "acl", "create", "--deny-principal", "User:*", "--operation", "Read", "--topic", "ord", "--resource-pattern-type", "prefixed")
	mustRun(t, addr, "", "acl", "create", "--allow-principal", "User:ANONYMOUS", "--operation", "Describe", "--cluster")
	r = runCLI(t, addr, "", "acl", "create", "--allow-principal", "alice", "--topic", "x")
	if r.err == nil || !strings.Contains(r.err.Error(), "principal") {
		t.Fatalf("bad principal: %v, want a message about the principal", r.err)
	}
	out := mustRun(t, addr, "", "acl", "list", "--topic", "orders", "--resource-pattern-type", "match").stdout
	for _, want := range []string{"TOPIC  LITERAL  orders  User:ANONYMOUS  *     WRITE", "TOPIC  PREFIXED  ord"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), strings.Join(strings.Fields(want), " ")) {
			t.Fatalf("acl list --topic orders --resource-pattern-type match:\n%s\nwant a line like %q", out, want)
		}
	}
	// Crash, then come back without the anonymous super user: the ACLs
	// are what lets the CLI produce now.
	p.Signal(syscall.SIGKILL)
	p.Wait(10 * time.Second)
	p = eddytest.Start(t, eddytest.DataDir(p.DataDir()), eddytest.Args("--authorizer", "acl", "--super-users", "User:admin"))
	addr = p.KafkaAddr()
	mustRun(t, addr, "v\n", "produce", "orders")
	r = runCLI(t, addr, "", "consume", "orders", "--from-beginning", "-n", "1")
	if r.err == nil || !strings.Contains(r.err.Error()+r.stderr, "AUTHORIZATION_FAILED") {
		t.Fatalf("consume with READ denied: %v %s, want an authorization failure", r.err, r.stderr)
	}
	if got := len(lines(mustRun(t, addr, "", "acl", "list").stdout)); got != 6 {
		t.Fatalf("after the crash: %d lines, want a header and 5 ACLs", got)
	}
	r = runCLI(t, addr, "", "acl", "delete", "--topic", "ord", "--resource-pattern-type", "prefixed")
	if r.err == nil || !strings.Contains(r.err.Error(), "CLUSTER_AUTHORIZATION_FAILED") {
		t.Fatalf("delete without ALTER on the cluster: %v", r.err)
	}
}
