package main

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// committedAndLag parses `eddy group describe` output into the committed
// offset per partition and the total lag.
func committedAndLag(t *testing.T, out string) (map[int32]string, int64) {
	t.Helper()
	committed := map[int32]string{}
	total := int64(-1)
	inOffsets := false
	for _, l := range lines(out) {
		f := strings.Fields(l)
		switch {
		case len(f) > 0 && f[0] == "TOPIC":
			inOffsets = true
		case strings.HasPrefix(l, "Total lag: "):
			n, err := strconv.ParseInt(strings.TrimPrefix(l, "Total lag: "), 10, 64)
			if err != nil {
				t.Fatalf("total lag line %q", l)
			}
			total = n
		case inOffsets && len(f) >= 5:
			p, err := strconv.Atoi(f[1])
			if err != nil {
				t.Fatalf("offset row %q", l)
			}
			committed[int32(p)] = f[2]
		}
	}
	if total < 0 {
		t.Fatalf("no total lag in:\n%s", out)
	}
	return committed, total
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("%q is not a number", s)
	}
	return n
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestGroupConsumeDescribeReset(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "gevents", "--partitions", "2")
	var in strings.Builder
	var all []string
	for i := range 10 {
		fmt.Fprintf(&in, "k%d:v%d\n", i, i)
		all = append(all, fmt.Sprintf("v%d", i))
	}
	mustRun(t, addr, in.String(), "produce", "gevents", "--key-separator", ":")

	// Two runs of a group consumer together read everything exactly once.
	r1 := mustRun(t, addr, "", "consume", "gevents", "--group", "g1", "--from-beginning", "--count", "4")
	r := mustRun(t, addr, "", "group", "describe", "g1")
	if !strings.Contains(r.stdout, "Group: g1") || !strings.Contains(r.stdout, "State: Empty") {
		t.Errorf("describe after the first consumer:\n%s", r.stdout)
	}
	if _, lag := committedAndLag(t, r.stdout); lag != 6 {
		t.Errorf("total lag %d after consuming 4 of 10, want 6:\n%s", lag, r.stdout)
	}
	r2 := mustRun(t, addr, "", "consume", "gevents", "--group", "g1", "--from-beginning", "--count", "6")
	got := append(lines(r1.stdout), lines(r2.stdout)...)
	slices.Sort(got)
	want := slices.Clone(all)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("two group runs read %q, want each of %q once", got, want)
	}
	r = mustRun(t, addr, "", "group", "describe", "g1")
	committed, lag := committedAndLag(t, r.stdout)
	if lag != 0 {
		t.Errorf("lag %d after consuming everything:\n%s", lag, r.stdout)
	}
	ends := committed

	r = mustRun(t, addr, "", "group", "list")
	if got := lines(r.stdout); !slices.Contains(got, "g1") {
		t.Errorf("group list = %q", got)
	}
	r = mustRun(t, addr, "", "group", "list", "--long")
	if !regexpLine(r.stdout, `^g1\s+Empty\s+consumer$`) {
		t.Errorf("group list --long:\n%s", r.stdout)
	}

	// Dry run prints but does not move.
	r = mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-earliest", "--dry-run")
	for p := range int32(2) {
		if !regexpLine(r.stdout, fmt.Sprintf(`^gevents\s+%d\s+%s\s+0$`, p, ends[p])) {
			t.Errorf("dry run lacks partition %d %s -> 0:\n%s", p, ends[p], r.stdout)
		}
	}
	if _, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 0 {
		t.Errorf("dry run changed offsets: lag %d", lag)
	}

	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-earliest")
	if c, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 10 || c[0] != "0" || c[1] != "0" {
		t.Errorf("after --to-earliest: committed %v lag %d, want 0,0 and 10", c, lag)
	}
	r = mustRun(t, addr, "", "consume", "gevents", "--group", "g1", "--count", "10")
	if got := sortedLines(r.stdout); !slices.Equal(got, want) {
		t.Errorf("re-read after reset: %q", got)
	}

	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--partition", "0", "--to-offset", "1")
	if c, _ := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); c[0] != "1" || c[1] != ends[1] {
		t.Errorf("after --to-offset 1 on partition 0: committed %v, want 0:1 1:%s", c, ends[1])
	}
	r = mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-offset", "1000")
	if !strings.Contains(r.stderr, "outside") {
		t.Errorf("--to-offset past the end: no clamp warning in %q", r.stderr)
	}
	if _, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 0 {
		t.Errorf("after clamped --to-offset 1000: lag %d, want 0", lag)
	}
	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-datetime", "2000-01-01T00:00:00Z")
	if _, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 10 {
		t.Errorf("after --to-datetime in the past: lag %d, want 10", lag)
	}
	future := strconv.FormatInt(time.Now().Add(time.Hour).UnixMilli(), 10)
	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-datetime", future)
	if _, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 0 {
		t.Errorf("after --to-datetime in the future: lag %d, want 0", lag)
	}
	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-latest")
	mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--shift-by", "-2")
	if c, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 4 || c[0] != fmt.Sprint(mustAtoi(t, ends[0])-2) {
		t.Errorf("after --shift-by -2: committed %v lag %d, want each end-2 and lag 4", c, lag)
	}
	r = mustRun(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--shift-by", "100")
	if !strings.Contains(r.stderr, "outside") {
		t.Errorf("--shift-by past the end: no clamp warning in %q", r.stderr)
	}
	if _, lag := committedAndLag(t, mustRun(t, addr, "", "group", "describe", "g1").stdout); lag != 0 {
		t.Errorf("after clamped --shift-by 100: lag %d, want 0", lag)
	}
	if r := runCLI(t, addr, "", "group", "reset-offsets", "fresh", "--topic", "gevents", "--shift-by", "1"); r.code() != 1 || !strings.Contains(r.err.Error(), "no committed offset") {
		t.Errorf("--shift-by without commits: code %d err %v", r.code(), r.err)
	}

	// A live member: describe shows it; reset and delete are refused.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan cliResult, 1)
	go func() { done <- runCLIContext(ctx, addr, "", "consume", "gevents", "--group", "g1") }()
	waitFor(t, "the consumer to join", func() bool {
		r := runCLI(t, addr, "", "group", "describe", "g1")
		return r.err == nil && strings.Contains(r.stdout, "State: Stable")
	})
	r = mustRun(t, addr, "", "group", "describe", "g1")
	if !strings.Contains(r.stdout, "Members: 1") || !regexpLine(r.stdout, `\seddy-cli\s+\S*127\.0\.0\.1\S*\s+gevents\[0,1\]$`) {
		t.Errorf("describe with a member:\n%s", r.stdout)
	}
	if !strings.Contains(r.stdout, "Protocol: consumer/") {
		t.Errorf("describe lacks the protocol:\n%s", r.stdout)
	}
	if r := runCLI(t, addr, "", "group", "reset-offsets", "g1", "--topic", "gevents", "--to-earliest"); r.code() != 1 || !strings.Contains(r.err.Error(), "stop its consumers") {
		t.Errorf("reset with a live member: code %d err %v", r.code(), r.err)
	}
	if r := runCLI(t, addr, "", "group", "delete", "g1"); r.code() != 1 || !strings.Contains(r.err.Error(), "active members") {
		t.Errorf("delete with a live member: code %d err %v", r.code(), r.err)
	}
	cancel() // what SIGINT does
	select {
	case r := <-done:
		if r.err != nil {
			t.Errorf("interrupted consumer: %v", r.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("consumer did not stop after cancel")
	}
	waitFor(t, "the group to empty", func() bool {
		r := runCLI(t, addr, "", "group", "describe", "g1")
		return r.err == nil && strings.Contains(r.stdout, "State: Empty")
	})

	mustRun(t, addr, "", "group", "delete", "g1")
	if r := runCLI(t, addr, "", "group", "describe", "g1"); r.code() != 1 || !strings.Contains(r.err.Error(), "does not exist") {
		t.Errorf("describe deleted group: code %d err %v", r.code(), r.err)
	}
	if r := runCLI(t, addr, "", "group", "delete", "g1"); r.code() != 1 || !strings.Contains(r.err.Error(), "does not exist") {
		t.Errorf("delete deleted group: code %d err %v", r.code(), r.err)
	}
}

func TestGroupUsageErrors(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"group"},
		{"group", "describe"},
		{"group", "reset-offsets", "g"},
		{"group", "reset-offsets", "g", "--topic", "t"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--to-latest"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-earliest", "--shift-by", "1"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-offset", "-3"},
		{"group", "reset-offsets", "g", "--topic", "t", "--to-datetime", "yesterday"},
		{"group", "delete"},
		{"group", "list", "x"},
	} {
		if r := runCLI(t, "", "", args...); r.code() != 2 {
			t.Errorf("eddy %s: exit %d (err %v), want 2", strings.Join(args, " "), r.code(), r.err)
		}
	}
}
