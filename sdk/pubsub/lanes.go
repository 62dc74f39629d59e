package pubsub

import (
	"sync"
	"sync/atomic"
)

// KeyConcurrency lets the router handle up to n events of one partition's
// poll at the same time, keeping the events of each key in offset order
// (records without a key form one sequence per partition). Handlers that
// wait — for a durable write, an HTTP call, a produce — then overlap, and
// the broker's group commit shares one fsync among their writes.
//
// On a classic group, when a handler fails, the records before the
// lowest failed offset of its partition are committed and Run returns the
// *HandlerError as with n = 1; events of other keys after that offset may
// have been handled already and are delivered again to the next member
// (at-least-once: make them idempotent, with Idempotent for instance).
// Default 1: one event of a partition at a time, in offset order.
func KeyConcurrency(n int) RouterOpt {
	return routerOpt(func(c *routerCfg) { c.keyConc = max(n, 1) })
}

// laneFailure is the lowest failed event of a partition's poll.
type laneFailure struct {
	mu  sync.Mutex
	idx int // -1: none
	err error
}

func (f *laneFailure) set(i int, err error) {
	f.mu.Lock()
	if f.idx < 0 || i < f.idx {
		f.idx, f.err = i, err
	}
	f.mu.Unlock()
}

// runLanes calls handle for every event of evs (one partition's poll):
// with n = 1 in order on the calling goroutine; else the events grouped by
// key, each key's in order, with up to n keys at once. handle returns
// false to stop its key's sequence (its later events are not handled).
func runLanes(evs []Event, n int, handle func(i int) bool) {
	if n <= 1 || len(evs) < 2 {
		for i := range evs {
			if !handle(i) {
				return
			}
		}
		return
	}
	lanes := splitByKey(evs)
	if len(lanes) == 1 {
		for _, i := range lanes[0] {
			if !handle(i) {
				return
			}
		}
		return
	}
	workers := min(n, len(lanes))
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(workers)
	for range workers {
		go func() {
			defer wg.Done()
			for {
				l := int(next.Add(1)) - 1
				if l >= len(lanes) {
					return
				}
				for _, i := range lanes[l] {
					if !handle(i) {
						break
					}
				}
			}
		}()
	}
	wg.Wait()
}

// splitByKey returns the indexes of evs grouped by key, each group in
// offset order, the groups in the order of their first event.
func splitByKey(evs []Event) [][]int {
	byKey := make(map[string]int, len(evs))
	var lanes [][]int
	for i := range evs {
		l, ok := byKey[string(evs[i].Key)]
		if !ok {
			l = len(lanes)
			byKey[string(evs[i].Key)] = l
			lanes = append(lanes, nil)
		}
		lanes[l] = append(lanes[l], i)
	}
	return lanes
}
