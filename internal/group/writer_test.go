package group

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"github.com/eddy-streaming/eddy/internal/meta"
)

func TestWriterSharesAndIsolatesFailures(t *testing.T) {
	s, err := meta.Open(filepath.Join(t.TempDir(), "m.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	w := &writer{store: s}
	boom := errors.New("boom")
	var wg sync.WaitGroup
	errs := make([]error, 200)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = w.write(func(tx *meta.Tx) error {
				if i == 7 {
					return boom
				}
				return tx.Put("b", fmt.Sprint(i), []byte{1})
			})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if (i == 7) != errors.Is(err, boom) || (i != 7 && err != nil) {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	var n int
	_ = s.ForEach("b", "", func(string, []byte) error { n++; return nil })
	if n != 199 {
		t.Fatalf("%d keys stored, want 199", n)
	}
	if w.running || len(w.queue) != 0 {
		t.Fatalf("writer left running=%v queue=%d", w.running, len(w.queue))
	}
}
