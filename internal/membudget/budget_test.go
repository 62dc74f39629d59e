package membudget

import (
	"context"
	"sync"
	"testing"
	"time"
)

// Arrivals taking their frames chunk by chunk must all complete, however
// their chunks interleave: without the oldest-arrival rule, 3 frames of 4
// bytes in a budget of 10 can hold 3+3+3 and wait for each other forever.
func TestArrivalsNeverDeadlock(t *testing.T) {
	for round := 0; round < 200; round++ {
		b := New(10, 4)
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tk := b.Begin()
				var held int64
				for held < 4 {
					n, err := b.Acquire(ctx, tk, 1)
					if err != nil {
						t.Errorf("round %d: acquire: %v (deadlock)", round, err)
						b.End(tk)
						return
					}
					held += n
				}
				b.End(tk)
				b.Release(held) // answered
			}()
		}
		wg.Wait()
		cancel()
		if b.InUse() != 0 {
			t.Fatalf("round %d: %d bytes still held", round, b.InUse())
		}
		if b.Peak() > 10 {
			t.Fatalf("round %d: peak %d above the capacity", round, b.Peak())
		}
	}
}

// A frame that stalls half-way (a slow sender) holds only what it took,
// and other arrivals still get the budget minus the reserve.
func TestStalledArrivalDoesNotStarveOthers(t *testing.T) {
	b := New(100, 40)
	slow := b.Begin()
	if _, err := b.Acquire(context.Background(), slow, 1); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i := 0; i < 59; i++ { // 1 + 59 = 100 - 40
		tk := b.Begin()
		if _, err := b.Acquire(ctx, tk, 1); err != nil {
			t.Fatalf("arrival %d blocked behind a stalled one: %v", i, err)
		}
		b.End(tk)
	}
	// Frames already read in full take from the whole budget.
	if _, err := b.Acquire(ctx, 0, 40); err != nil {
		t.Fatalf("complete frame: %v", err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if _, err := b.Acquire(short, 0, 1); err == nil {
		t.Fatal("acquired past the capacity")
	}
}

func TestNilBudget(t *testing.T) {
	var b *Budget
	if n, err := b.Acquire(context.Background(), b.Begin(), 10); n != 0 || err != nil {
		t.Fatalf("nil budget Acquire = %d, %v", n, err)
	}
	b.End(0)
	b.Release(0)
	if b.InUse() != 0 || b.Peak() != 0 {
		t.Fatal("nil budget holds bytes")
	}
}
