package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestMetricsDocumented: every eddy_* metric a fresh server exports is in
// docs/operations.md's metrics table, either by its full name or, in a row
// such as "`eddy_kafka_connections_total` / `_rejected_total`", by its
// suffix after a documented sibling's prefix.
func TestMetricsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	p := eddytest.Start(t)
	names := map[string]bool{}
	for series := range scrape(t, p) {
		name, _, _ := strings.Cut(series, "{")
		for _, suf := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suf)
		}
		if strings.HasPrefix(name, "eddy_") {
			names[name] = true
		}
	}
	if len(names) < 10 {
		t.Fatalf("only %d eddy_ metrics scraped: %v", len(names), names)
	}
	documented := func(name string) bool {
		if strings.Contains(string(doc), "`"+name+"`") {
			return true
		}
		for i := len("eddy_"); i < len(name); i++ {
			if name[i] == '_' && strings.Contains(string(doc), "`"+name[:i]) && strings.Contains(string(doc), "`"+name[i:]+"`") {
				return true
			}
		}
		return false
	}
	for name := range names {
		if !documented(name) {
			t.Errorf("%s is not documented in docs/operations.md", name)
		}
	}
}
