package pubsub

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunLanes: every event is handled once, each key's events in offset
// order, no more than n at once, several at once when n > 1 and keys
// differ; a false return stops only its own key's sequence.
func TestRunLanes(t *testing.T) {
	evs := make([]Event, 40)
	for i := range evs {
		evs[i].Offset = int64(i)
		if i%10 != 9 { // every tenth record has no key
			evs[i].Key = []byte(fmt.Sprint("k", i%4))
		}
	}
	for _, n := range []int{1, 3, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			var (
				mu       sync.Mutex
				seen     = map[string][]int64{}
				cur, top atomic.Int32
			)
			runLanes(evs, n, func(i int) bool {
				c := cur.Add(1)
				for {
					m := top.Load()
					if c <= m || top.CompareAndSwap(m, c) {
						break
					}
				}
				time.Sleep(time.Millisecond)
				mu.Lock()
				seen[string(evs[i].Key)] = append(seen[string(evs[i].Key)], evs[i].Offset)
				mu.Unlock()
				cur.Add(-1)
				return true
			})
			total := 0
			for k, offs := range seen {
				if !slices.IsSorted(offs) {
					t.Errorf("key %q handled out of order: %v", k, offs)
				}
				total += len(offs)
			}
			if total != len(evs) || len(seen) != 5 {
				t.Errorf("handled %d events of %d keys, want %d of 5", total, len(seen), len(evs))
			}
			want := int32(min(n, 5))
			if top.Load() > want || (n > 1 && top.Load() < 2) {
				t.Errorf("at most %d at once, want ≤ %d (and > 1 with n > 1)", top.Load(), want)
			}
		})
	}
	t.Run("stop", func(t *testing.T) {
		var mu sync.Mutex
		var handled []int
		runLanes(evs, 8, func(i int) bool {
			mu.Lock()
			handled = append(handled, i)
			mu.Unlock()
			return i != 5 // key k1 stops at offset 5
		})
		for _, i := range handled {
			if string(evs[i].Key) == "k1" && i > 5 {
				t.Errorf("event %d of k1 handled after the failure at 5", i)
			}
		}
		if len(handled) != len(evs)-6 { // k1 has offsets 1, 5, 13, 17, 21, 25, 33, 37: 13 on are not handled
			t.Errorf("handled %d events, want %d", len(handled), len(evs)-6)
		}
	})
}
