package kafka_test

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka"
)

var update = flag.Bool("update", false, "rewrite golden files and docs tables")

// TestDocsVersionTable keeps docs/kafka.md's version table equal to what
// ApiVersions advertises.
func TestDocsVersionTable(t *testing.T) {
	const path = "../../docs/kafka.md"
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	const begin, end = "<!-- BEGIN VERSION TABLE -->\n", "<!-- END VERSION TABLE -->"
	i, j := strings.Index(string(doc), begin), strings.Index(string(doc), end)
	if i < 0 || j < i {
		t.Fatal("version table markers missing")
	}
	var b strings.Builder
	b.WriteString("| API | Key | Versions |\n|---|---:|---|\n")
	for _, v := range kafka.APIVersions() {
		fmt.Fprintf(&b, "| %s | %d | %d–%d |\n", kmsg.NameForKey(v.Key), v.Key, v.Min, v.Max)
	}
	got := string(doc[i+len(begin) : j])
	if got == b.String() {
		return
	}
	if *update {
		out := string(doc[:i+len(begin)]) + b.String() + string(doc[j:])
		if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatalf("docs/kafka.md version table is stale; run go test ./internal/kafka -run TestDocsVersionTable -update\nwant:\n%s", b.String())
}
