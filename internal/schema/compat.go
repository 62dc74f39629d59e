package schema

import (
	"fmt"
	"strings"
)

// Level is a compatibility level, spelled as the Confluent API spells it.
type Level string

// The compatibility levels. Backward is the default.
const (
	Backward           Level = "BACKWARD"
	BackwardTransitive Level = "BACKWARD_TRANSITIVE"
	Forward            Level = "FORWARD"
	ForwardTransitive  Level = "FORWARD_TRANSITIVE"
	Full               Level = "FULL"
	FullTransitive     Level = "FULL_TRANSITIVE"
	None               Level = "NONE"
)

// ParseLevel returns the Level named by s (case-insensitive).
func ParseLevel(s string) (Level, error) {
	switch l := Level(strings.ToUpper(s)); l {
	case Backward, BackwardTransitive, Forward, ForwardTransitive, Full, FullTransitive, None:
		return l, nil
	}
	return "", fmt.Errorf("invalid compatibility level %q (want BACKWARD, BACKWARD_TRANSITIVE, FORWARD, FORWARD_TRANSITIVE, FULL, FULL_TRANSITIVE or NONE)", s)
}

// Transitive reports whether the level checks against every earlier version
// rather than only the latest.
func (l Level) Transitive() bool {
	return l == BackwardTransitive || l == ForwardTransitive || l == FullTransitive
}

// Check lists why next may not follow the existing versions (oldest first)
// under level; empty when it may. Non-transitive levels check only against
// the latest version. A version of another format than next is incompatible.
func Check(level Level, next Compiled, existing []Compiled) []string {
	if level == None || len(existing) == 0 {
		return nil
	}
	against := existing
	if !level.Transitive() {
		against = existing[len(existing)-1:]
	}
	var out []string
	// Newest first, as Confluent reports.
	for i := len(against) - 1; i >= 0; i-- {
		old := against[i]
		if old.Type() != next.Type() {
			out = append(out, fmt.Sprintf("{errorType:'TYPE_MISMATCH', description:'The schema type changed from %s to %s'}", old.Type(), next.Type()))
			continue
		}
		switch level {
		case Backward, BackwardTransitive:
			out = append(out, next.readerOf(old)...)
		case Forward, ForwardTransitive:
			out = append(out, swapOldNew(old.readerOf(next))...)
		case Full, FullTransitive:
			out = append(out, next.readerOf(old)...)
			out = append(out, swapOldNew(old.readerOf(next))...)
		}
	}
	return out
}

// swapOldNew rewords reasons found with the old schema as the reader: the
// checkers call the reader "the new schema" and the writer "the old schema".
func swapOldNew(reasons []string) []string {
	r := strings.NewReplacer("new schema", "old schema", "old schema", "new schema")
	for i, s := range reasons {
		reasons[i] = r.Replace(s)
	}
	return reasons
}
