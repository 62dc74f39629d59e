package commitlog

import (
	"bytes"
	"errors"
	"testing"

	"github.com/eddy-streaming/eddy/internal/record"
)

// WriteChecked stores what Write stores, without checking CRCs again, and
// refuses headers that do not cover the bytes.
func TestWriteChecked(t *testing.T) {
	l := openT(t, t.TempDir(), DefaultOptions())
	defer l.Close()
	b := append(makeBatch(3, 40, 1000, 1), makeBatch(2, 10, 2000, 2)...)
	hs, err := record.ValidateBatches(b)
	if err != nil {
		t.Fatal(err)
	}
	base, next, err := l.WriteChecked(b, hs)
	if err != nil || base != 0 || next != 5 {
		t.Fatalf("WriteChecked: base %d next %d err %v, want 0 5 nil", base, next, err)
	}
	if err := l.WaitDurable(next); err != nil {
		t.Fatal(err)
	}
	got, err := l.Read(0, 1<<20)
	if err != nil || !bytes.Equal(got, b) {
		t.Fatalf("read back %d bytes (err %v), want the %d written", len(got), err, len(b))
	}
	if _, _, err := l.WriteChecked(b, hs[:1]); !errors.Is(err, record.ErrInvalidBatch) {
		t.Fatalf("headers covering part of the bytes: err %v, want record.ErrInvalidBatch", err)
	}
	if _, _, err := l.WriteChecked(nil, nil); !errors.Is(err, record.ErrInvalidBatch) {
		t.Fatalf("empty: err %v, want record.ErrInvalidBatch", err)
	}
	if l.LogEndOffset() != 5 {
		t.Fatalf("log end %d after refused writes, want 5", l.LogEndOffset())
	}
}
