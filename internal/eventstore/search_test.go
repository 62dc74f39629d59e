package eventstore

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStreamsSearch lists streams by prefix, paged, from the pending
// entries and from the index file, with names of many lengths (the index
// orders them by length first; the search answers in byte order).
func TestStreamsSearch(t *testing.T) {
	dir := t.TempDir()
	_, es := openDiskStore(t, dir, Config{Path: filepath.Join(dir, "streams.idx"), FlushInterval: time.Hour})
	defer es.Close()
	ctx := context.Background()
	names := []string{"a", "ab", "abc", "order-1", "order-10", "order-100", "order-2", "order-" + strings.Repeat("z", 200), "other", "zz"}
	for i, n := range names {
		evs := []EventData{{ID: fmt.Sprintf("e%d-0", i), Type: "T"}, {ID: fmt.Sprintf("e%d-1", i), Type: "T"}}
		if i%2 == 0 {
			evs = evs[:1]
		}
		if _, err := es.Append(ctx, "shop", n, Any, evs); err != nil {
			t.Fatal(err)
		}
	}
	page := func(prefix string, limit int) []string {
		t.Helper()
		var out []string
		after := ""
		for range 20 {
			got, more, err := es.Streams("shop", prefix, after, limit)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range got {
				out = append(out, fmt.Sprintf("%s@%d", s.Stream, s.Version))
			}
			if !more {
				return out
			}
			after = got[len(got)-1].Stream
		}
		t.Fatal("no last page")
		return nil
	}
	check := func(when string) {
		t.Helper()
		want := fmt.Sprintf("[order-1@1 order-10@0 order-100@1 order-2@0 order-%s@1]", strings.Repeat("z", 200))
		for _, limit := range []int{1, 2, 3, 100} {
			if got := fmt.Sprint(page("order-", limit)); got != want {
				t.Errorf("%s, prefix order-, limit %d: %s, want %s", when, limit, got, want)
			}
		}
		if got := fmt.Sprint(page("a", 2)); got != "[a@0 ab@1 abc@0]" {
			t.Errorf("%s, prefix a: %s", when, got)
		}
		if got := len(page("", 4)); got != len(names) {
			t.Errorf("%s, all: %d streams, want %d", when, got, len(names))
		}
		if got := page("nothing", 5); len(got) != 0 {
			t.Errorf("%s, prefix nothing: %v", when, got)
		}
	}
	check("pending")
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	info, err := es.streamTopic("shop")
	if err != nil {
		t.Fatal(err)
	}
	for p := int32(0); p < info.Partitions; p++ {
		if pi := es.partIndex("shop", p); pi != nil {
			pi.mu.Lock()
			n := len(pi.pend)
			pi.mu.Unlock()
			if n != 0 {
				t.Fatalf("partition %d still has %d pending streams after Flush: the file is not what is searched", p, n)
			}
		}
	}
	check("flushed")
	// Half in the file, half pending.
	if _, err := es.Append(ctx, "shop", "order-3", Any, []EventData{{ID: "late", Type: "T"}}); err != nil {
		t.Fatal(err)
	}
	if got := page("order-3", 10); fmt.Sprint(got) != "[order-3@0]" {
		t.Errorf("pending after flush: %v", got)
	}
	if _, _, err := es.Streams("shop", "", "", 0); err == nil {
		t.Error("limit 0 accepted")
	}
}
