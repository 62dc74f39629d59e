package broker

// Waiter parks a long-poll fetch on any number of partitions. Its channel
// receives a token whenever the high watermark of one of them may have
// advanced (or the partition went away), so a fetch wakes the moment data
// arrives without polling.
//
// Register the partitions before reading them: a write that lands between
// the read and the wait still leaves a token in the channel.
//
//	w := b.NewWaiter()
//	defer w.Close()
//	w.Add("orders", 0)
//	... read; if not enough: select { case <-w.C(): re-read; case <-timer.C: }
//
// A Waiter is used by one goroutine; its wake-ups come from any.
type Waiter struct {
	b     *Broker
	ch    chan struct{}
	fn    func()
	parts []*partition
}

// NewWaiter returns a Waiter watching nothing yet.
func (b *Broker) NewWaiter() *Waiter {
	return &Waiter{b: b, ch: make(chan struct{}, 1)}
}

// NewWaiterFunc returns a Waiter that calls fn, instead of sending on a
// channel, whenever one of its partitions' high watermark may have
// advanced. It lets a parked fetch wait without a goroutine of its own:
// fn runs on the goroutine that advanced the watermark (a producer's, after
// its write or its fsync), outside every broker lock, so it may read
// partitions and Close the Waiter, but it delays that producer while it
// runs: keep it short. When a partition is closed or deleted, fn runs on a
// goroutine of its own. fn may run concurrently with itself (two
// partitions advancing at once) and after Close returns (a wake-up already
// under way). C returns nil for such a Waiter.
func (b *Broker) NewWaiterFunc(fn func()) *Waiter {
	return &Waiter{b: b, fn: fn}
}

// Add watches a partition. Unknown partitions are ignored (nothing would
// wake the fetch; its own timeout ends it).
func (w *Waiter) Add(topic string, part int32) {
	p, err := w.b.readPartition(topic, part) // a view waits on its source
	if err != nil {
		return
	}
	p.wmu.Lock()
	p.waiters[w] = struct{}{}
	p.wmu.Unlock()
	w.parts = append(w.parts, p)
}

// C is the wake-up channel.
func (w *Waiter) C() <-chan struct{} { return w.ch }

// Close stops watching.
func (w *Waiter) Close() {
	for _, p := range w.parts {
		p.wmu.Lock()
		delete(p.waiters, w)
		p.wmu.Unlock()
	}
	w.parts = nil
}

func (w *Waiter) wake() {
	select {
	case w.ch <- struct{}{}:
	default:
	}
}

// inlineWakeups is how many callback waiters one notify runs on the
// notifying goroutine; more (a partition with many parked consumers) get
// a goroutine each, so one producer is not held up by all of them.
const inlineWakeups = 4

// Waiting returns the number of waiters parked across all partitions (a
// fetch on three partitions counts three). For tests and metrics.
func (b *Broker) Waiting() int {
	parts := b.allPartitions()
	n := 0
	for _, p := range parts {
		p.wmu.Lock()
		n += len(p.waiters)
		p.wmu.Unlock()
	}
	return n
}
