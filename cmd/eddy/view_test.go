package main

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestViewCLI(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "orders", "--partitions", "1")
	var in strings.Builder
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&in, "k%d:{\"total\": %d}\n", i, i*300)
	}
	mustRun(t, addr, in.String(), "produce", "orders", "--key-separator", ":")

	// test: which of the last records match, before creating anything.
	r := mustRun(t, addr, "", "view", "test", "--source", "orders", "--filter", "value.total > 1000", "--limit", "4")
	if !strings.Contains(r.stdout, "4 of 4 records match") || !strings.Contains(r.stdout, "k9") || strings.Contains(r.stdout, "k5") {
		t.Errorf("view test: %q", r.stdout)
	}
	r = mustRun(t, addr, "", "view", "test", "--source", "orders", "--filter", "value.total > 1000 && value.nope == 1", "--limit", "10")
	if !strings.Contains(r.stdout, "0 of 10 records match") || !strings.Contains(r.stdout, "error: no such key") {
		t.Errorf("view test with errors: %q", r.stdout)
	}
	if r := runCLI(t, addr, "", "view", "test", "--source", "orders", "--filter", "value.total >"); r.code() != 1 || !strings.Contains(r.err.Error(), "column 14") {
		t.Errorf("bad filter: code %d err %v", r.code(), r.err)
	}

	r = mustRun(t, addr, "", "view", "create", "big", "--source", "orders", "--filter", "value.total > 1000")
	if !strings.Contains(r.stderr, `created view "big"`) {
		t.Errorf("create: %q", r.stderr)
	}
	if r := runCLI(t, addr, "", "view", "create", "bad", "--source", "orders", "--filter", "value.total"); r.code() != 1 || !strings.Contains(r.err.Error(), "want bool") {
		t.Errorf("non-bool filter: code %d err %v", r.code(), r.err)
	}
	r = mustRun(t, addr, "", "view", "list")
	if !strings.Contains(r.stdout, "big") || !strings.Contains(r.stdout, "value.total > 1000") || strings.Contains(r.stdout, "orders  ") && !strings.Contains(r.stdout, "big") {
		t.Errorf("list: %q", r.stdout)
	}
	r = mustRun(t, addr, "", "view", "describe", "big")
	if !strings.Contains(r.stdout, "Source: orders") || !strings.Contains(r.stdout, "0          10") && !strings.Contains(r.stdout, "10") {
		t.Errorf("describe: %q", r.stdout)
	}
	if r := runCLI(t, addr, "", "view", "describe", "orders"); r.code() != 1 || !strings.Contains(r.err.Error(), "not a view") {
		t.Errorf("describe a topic: code %d err %v", r.code(), r.err)
	}
	// A view consumes like a topic, at source offsets.
	r = mustRun(t, addr, "", "consume", "big", "--from-beginning", "--count", "6", "--format", "{{.Offset}} {{.Key}}")
	if got := lines(r.stdout); !slices.Equal(got, []string{"4 k4", "5 k5", "6 k6", "7 k7", "8 k8", "9 k9"}) {
		t.Errorf("consume view: %q", got)
	}
	// create on an existing view changes its filter.
	r = mustRun(t, addr, "", "view", "create", "big", "--source", "orders", "--filter", "value.total > 2000")
	if !strings.Contains(r.stderr, "changed the filter") {
		t.Errorf("re-create: %q", r.stderr)
	}
	r = mustRun(t, addr, "", "consume", "big", "--from-beginning", "--count", "3", "--format", "{{.Key}}")
	if got := lines(r.stdout); !slices.Equal(got, []string{"k7", "k8", "k9"}) {
		t.Errorf("after filter change: %q", got)
	}

	// consume --filter: filtered by the server through a view.
	r = mustRun(t, addr, "", "consume", "orders", "--from-beginning", "--count", "2", "--filter", `key == "k1" || key == "k3"`, "--format", "{{.Offset}} {{.Key}}")
	if got := lines(r.stdout); !slices.Equal(got, []string{"1 k1", "3 k3"}) {
		t.Errorf("consume --filter: %q", got)
	}
	r = mustRun(t, addr, "", "consume", "orders", "--group", "g", "--from-beginning", "--count", "1", "--filter", `key == "k2"`, "--format", "{{.Key}}")
	if got := lines(r.stdout); !slices.Equal(got, []string{"k2"}) {
		t.Errorf("consume --filter --group: %q", got)
	}
	// eddy group describe shows the group's offset and lag on the view.
	r = mustRun(t, addr, "", "group", "describe", "g")
	// Committed after k2 (offset 2); lag counts the source's records after it.
	if !regexpLine(r.stdout, `^orders\.filter-[0-9a-f]+\s+0\s+3\s+10\s+7\s`) {
		t.Errorf("group describe: %q", r.stdout)
	}
	r = mustRun(t, addr, "", "view", "list")
	if strings.Contains(r.stdout, ".consume-") || !strings.Contains(r.stdout, "orders.filter-") {
		t.Errorf("views after consume --filter (the temporary one deleted, the group's kept): %q", r.stdout)
	}
	if r := runCLI(t, addr, "", "consume", "orders", "--filter", "key ==", "--count", "1"); r.code() != 2 || !strings.Contains(r.err.Error(), "column") {
		t.Errorf("consume bad filter: code %d err %v", r.code(), r.err)
	}

	if r := runCLI(t, addr, "", "view", "delete", "orders"); r.code() != 1 || !strings.Contains(r.err.Error(), "not a view") {
		t.Errorf("view delete of a topic: code %d err %v", r.code(), r.err)
	}
	mustRun(t, addr, "", "view", "delete", "big")
	r = mustRun(t, addr, "", "topic", "list")
	if got := lines(r.stdout); !slices.Contains(got, "orders") || slices.Contains(got, "big") {
		t.Errorf("topics after delete: %q", got)
	}
}
