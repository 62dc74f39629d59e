package meta

import (
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

func TestStorePersistsAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := s.Get("topics", "orders"); err != nil || v != nil {
		t.Fatalf("absent key: got %q, %v", v, err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Put("offsets", fmt.Sprintf("g/%02d", i), []byte{byte(i)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := s.Put("topics", "orders", []byte("cfg")); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if v, _ := s.Get("topics", "orders"); string(v) != "cfg" {
		t.Fatalf("after reopen: got %q", v)
	}
	n := 0
	if err := s.ForEach("offsets", "g/", func(k string, v []byte) error {
		if k != fmt.Sprintf("g/%02d", v[0]) {
			t.Errorf("key %s has value %d", k, v[0])
		}
		n++
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Fatalf("got %d offsets, want 20", n)
	}
	if err := s.Update(func(tx *Tx) error { return tx.DeletePrefix("offsets", "g/1") }); err != nil {
		t.Fatal(err)
	}
	n = 0
	_ = s.ForEach("offsets", "", func(string, []byte) error { n++; return nil })
	if n != 10 {
		t.Fatalf("after DeletePrefix got %d keys, want 10", n)
	}
}
