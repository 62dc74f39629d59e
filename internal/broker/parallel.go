package broker

import (
	"errors"
	"sync"
)

// logOpenParallelism is how many partition logs open (or close) at once
// (each may hold an OS thread in an fsync).
// Opening a log fsyncs its directory (and a new one creates files);
// closing one fsyncs it and writes its clean marker. One at a time, a data
// directory of 10,000 partitions took tens of seconds to start and stop;
// in parallel the filesystem merges those fsyncs' journal commits.
const logOpenParallelism = 256

// forEachParallel runs fn(0) … fn(n-1) on at most workers goroutines and
// returns every error, joined.
func forEachParallel(n, workers int, fn func(i int) error) error {
	if n == 0 {
		return nil
	}
	workers = max(1, min(workers, n))
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		next = make(chan int)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errors.Join(errs...)
}
