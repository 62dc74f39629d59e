package broker_test

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// TestWaiterFuncCallsBack: callback waiters are called on the writing
// goroutine, outside the broker's locks (the callback reads the partition
// and closes its waiter), every one of them, including those past the
// inline limit that get a goroutine each.
func TestWaiterFuncCallsBack(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("cb", 1, map[string]string{"eddy.fsync": "never"}, false); err != nil {
		t.Fatal(err)
	}
	const n = 10
	var called atomic.Int32
	var wg sync.WaitGroup
	wg.Add(n)
	for i := 0; i < n; i++ {
		var once sync.Once
		var w *broker.Waiter
		w = e.b.NewWaiterFunc(func() {
			once.Do(func() {
				// Reading and closing from the callback must not
				// deadlock on the partition's locks.
				if _, err := e.b.Fetch("cb", 0, 0, 1<<20); err != nil {
					t.Error(err)
				}
				w.Close()
				called.Add(1)
				wg.Done()
			})
		})
		if w.C() != nil {
			t.Fatal("a callback waiter has a channel")
		}
		w.Add("cb", 0)
	}
	if got := e.b.Waiting(); got != n {
		t.Fatalf("waiting %d, want %d", got, n)
	}
	if _, err := e.b.Append("cb", 0, batch(1, 1, "v")); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("%d of %d callbacks called", called.Load(), n)
	}
	if got := e.b.Waiting(); got != 0 {
		t.Fatalf("waiting %d after every callback closed its waiter", got)
	}
}

// TestWaiterFuncOnClose: closing the broker wakes callback waiters on
// goroutines of their own, so a callback that asks the broker about the
// partition (taking the topic table lock Close holds) does not deadlock.
func TestWaiterFuncOnClose(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	if _, err := e.b.CreateTopic("closing", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	b := e.b // env.close clears e.b
	called := make(chan error, 1)
	var w *broker.Waiter
	w = b.NewWaiterFunc(func() {
		_, _, _, err := b.Offsets("closing", 0)
		w.Close()
		select {
		case called <- err:
		default:
		}
	})
	w.Add("closing", 0)
	closed := make(chan struct{})
	go func() { e.close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("broker close deadlocked with a callback waiter")
	}
	select {
	case <-called:
	case <-time.After(5 * time.Second):
		t.Fatal("callback waiter not called on close")
	}
}
