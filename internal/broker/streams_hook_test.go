package broker_test

import (
	"errors"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// recHook is a recording AppendHook: it can report a duplicate or refuse,
// and counts what it is asked.
type recHook struct {
	dup                  *broker.Duplicate
	refuse               error
	checks, records      int
	sawBytes, recordBase int64
	sawStream            broker.StreamWrite
	forgot               []string
}

func (h *recHook) CheckAppend(a broker.Append) (*broker.Duplicate, error) {
	h.checks++
	h.sawBytes = int64(len(a.Batches))
	h.sawStream = a.Options.Stream
	return h.dup, h.refuse
}

func (h *recHook) RecordAppend(a broker.Append, base, _ int64) {
	h.records++
	h.recordBase = base
	if got, _ := record.ParseBatchHeader(a.Batches); got.BaseOffset != base {
		h.recordBase = -1 // the bytes must carry the assigned offset
	}
}

func (h *recHook) ForgetTopic(topic string) { h.forgot = append(h.forgot, topic) }

// TestHookChain: the hooks given at Open run in order on every write, see
// the bytes and the per-call options, and the first duplicate or refusal
// ends the check.
func TestHookChain(t *testing.T) {
	first, second := &recHook{}, &recHook{}
	e := open(t, t.TempDir(), func(c *broker.Config) { c.Hooks = []broker.AppendHook{first, nil, second} })
	if _, err := e.b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	b := batch(time.Now().UnixMilli(), 3, "v")
	if _, err := e.b.Append("t", 0, b); err != nil {
		t.Fatal(err)
	}
	if first.checks != 1 || second.checks != 1 || second.sawBytes != int64(len(b)) || first.records != 1 || second.records != 1 || second.recordBase != 0 {
		t.Fatalf("first %+v second %+v", first, second)
	}
	opts := broker.WriteOptions{Stream: broker.StreamWrite{Name: "order-1", Expected: 4, Records: 1}}
	w, err := e.b.Write("t", 0, batch(time.Now().UnixMilli(), 1, "v"), opts)
	if err == nil {
		err = w.Wait()
	}
	if err != nil || second.recordBase != 3 || second.sawStream != opts.Stream || first.sawStream != opts.Stream {
		t.Fatalf("second append: %v, base seen %d, options seen %+v", err, second.recordBase, second.sawStream)
	}
	// A duplicate from the first hook ends the check: the second is not
	// asked (it might refuse a retry of what it already accepted).
	first.dup = &broker.Duplicate{Base: 0, Next: 3}
	w, err = e.b.Append("t", 0, batch(time.Now().UnixMilli(), 3, "v"))
	if err != nil || !w.Duplicate || second.checks != 2 {
		t.Fatalf("duplicate: %+v, %v, second checked %d times", w, err, second.checks)
	}
	first.dup = nil
	second.refuse = errors.New("no")
	if _, err := e.b.Append("t", 0, batch(time.Now().UnixMilli(), 1, "v")); err == nil || err.Error() != "no" {
		t.Fatalf("refusal: %v", err)
	}
	if _, _, end, _ := e.b.Offsets("t", 0); end != 4 || first.records != 2 {
		t.Fatalf("log end %d, first recorded %d", end, first.records)
	}
	if err := e.b.DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if len(first.forgot) != 1 || len(second.forgot) != 1 || second.forgot[0] != "t" {
		t.Fatalf("forgotten: %v, %v", first.forgot, second.forgot)
	}
}

func TestCatchUp(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("t", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if _, err := e.b.Append("t", 0, batch(time.Now().UnixMilli(), 2, "v")); err != nil {
			t.Fatal(err)
		}
	}
	var bases []int64
	err := e.b.CatchUp("t", 0, 2, func(h record.BatchHeader, _ []byte) error {
		bases = append(bases, h.BaseOffset)
		return nil
	}, func(start, end int64) error {
		if start != 0 || end != 6 {
			t.Errorf("done(%d, %d), want (0, 6)", start, end)
		}
		return nil
	})
	if err != nil || len(bases) != 2 || bases[0] != 2 || bases[1] != 4 {
		t.Fatalf("catch up from 2: %v, batches %v", err, bases)
	}
	if err := e.b.CatchUp("nope", 0, 0, nil, nil); !errors.Is(err, broker.ErrUnknownTopic) {
		t.Fatalf("unknown topic: %v", err)
	}
	// eddy.streams is a known topic config.
	if _, err := e.b.CreateTopic("s", 1, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := e.b.CreateTopic("s2", 1, map[string]string{broker.ConfigStreams: "yes"}, false); !errors.Is(err, broker.ErrInvalidConfig) {
		t.Fatalf("eddy.streams=yes: %v", err)
	}
}
