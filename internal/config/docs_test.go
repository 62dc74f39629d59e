package config

import (
	"os"
	"strings"
	"testing"
)

// TestOperationsDocListsEveryKey checks that docs/operations.md's
// configuration table has one row per key, and no row for a key that
// does not exist.
func TestOperationsDocListsEveryKey(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	start := strings.Index(text, "| key | default | allowed |")
	if start < 0 {
		t.Fatal("docs/operations.md has no configuration table")
	}
	rows := map[string]bool{}
	for _, line := range strings.Split(text[start:], "\n")[2:] {
		if !strings.HasPrefix(line, "| `") {
			break
		}
		key, _, _ := strings.Cut(strings.TrimPrefix(line, "| `"), "`")
		rows[key] = true
	}
	for _, k := range Keys() {
		if !rows[k] {
			t.Errorf("key %s has no row in docs/operations.md's configuration table", k)
		}
		delete(rows, k)
	}
	for k := range rows {
		t.Errorf("docs/operations.md's configuration table lists %s, which is not a key", k)
	}
}
