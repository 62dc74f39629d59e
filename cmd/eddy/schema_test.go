package main

import (
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestSchemaCLI runs the worked evolution example of docs/schema-registry.md
// with `eddy schema` against a real server.
func TestSchemaCLI(t *testing.T) {
	p := eddytest.Start(t)
	env := []string{"EDDY_SCHEMA_REGISTRY=" + p.SchemaRegistryURL()}
	run := func(wantCode int, args ...string) string {
		t.Helper()
		out, errOut, code := runEddy(t, env, append([]string{"schema"}, args...)...)
		if code != wantCode {
			t.Fatalf("eddy schema %v: exit %d, want %d\nstdout: %s\nstderr: %s", args, code, wantCode, out, errOut)
		}
		return out + errOut
	}
	const dir = "testdata/schemas/"
	if out := run(0, "register", "orders-value", dir+"order-v1.avsc"); !strings.Contains(out, "subject orders-value version 1 id 1") {
		t.Fatalf("register v1: %s", out)
	}
	// v2 adds an optional field: allowed under BACKWARD.
	if out := run(0, "check", "orders-value", dir+"order-v2.avsc"); !strings.Contains(out, "compatible") {
		t.Fatalf("check v2: %s", out)
	}
	if out := run(0, "register", "orders-value", dir+"order-v2.avsc"); !strings.Contains(out, "version 2 id 2") {
		t.Fatalf("register v2: %s", out)
	}
	// A new required field is refused under BACKWARD: v2 events lack it.
	out := run(1, "register", "orders-value", dir+"order-v3-currency.avsc")
	if !strings.Contains(out, "READER_FIELD_MISSING_DEFAULT_VALUE") || !strings.Contains(out, "currency") {
		t.Fatalf("register v3 with a new required field: %s", out)
	}
	// Removing the required customerId: new readers can ignore it
	// (BACKWARD), but under FULL existing consumers still need it.
	run(0, "check", "orders-value", dir+"order-v3-no-customer.avsc")
	if out := run(0, "config", "orders-value", "FULL"); strings.TrimSpace(out) != "FULL" {
		t.Fatalf("config: %s", out)
	}
	out = run(1, "check", "orders-value", dir+"order-v3-no-customer.avsc")
	if !strings.Contains(out, "incompatible") || !strings.Contains(out, "customerId") {
		t.Fatalf("check removal under FULL: %s", out)
	}
	run(1, "register", "orders-value", dir+"order-v3-no-customer.avsc")

	if out := run(0, "list"); !strings.Contains(out, "orders-value\tversions 1,2") {
		t.Fatalf("list: %s", out)
	}
	if out := run(0, "get", "orders-value"); !strings.Contains(out, `"version": 2`) || !strings.Contains(out, "couponCode") {
		t.Fatalf("get latest: %s", out)
	}
	if out := run(0, "get", "--id", "1"); strings.Contains(out, "couponCode") || !strings.Contains(out, "OrderCreated") {
		t.Fatalf("get --id 1: %s", out)
	}
	if out := run(0, "config", "--global"); strings.TrimSpace(out) != "BACKWARD" {
		t.Fatalf("global config: %s", out)
	}
	if out := run(1, "delete", "orders-value", "2", "--permanent"); !strings.Contains(out, "40407") {
		t.Fatalf("permanent delete first: %s", out)
	}
	run(0, "delete", "orders-value", "2")
	run(0, "delete", "orders-value", "2", "--permanent")
	if out := run(0, "list", "--deleted"); !strings.Contains(out, "versions 1\n") {
		t.Fatalf("list after deletes: %s", out)
	}
	if out := run(1, "config", "nope", "FULL", "extra"); !strings.Contains(out, "accepts") {
		t.Fatalf("usage error: %s", out)
	}
}
