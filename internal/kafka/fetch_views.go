package kafka

import (
	"runtime"
	"strings"
	"sync"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// fillerOnlyCrashes reports whether a client fails on a fetch partition
// whose batches hold no record at all: a view's filler batch, which moves
// a consumer past records its filter does not match (as a batch that
// compaction emptied does). kafka-python before 2.1 indexes the last
// record of every non-empty partition answer (IndexError); it is known by
// its default client id. Such a client gets an empty partition instead
// and fetches the same offset again; the broker's skip cache makes that
// fetch resume the scan where the last one ended.
func fillerOnlyCrashes(clientID string) bool {
	v, ok := strings.CutPrefix(clientID, "kafka-python-")
	return ok && (strings.HasPrefix(v, "1.") || strings.HasPrefix(v, "2.0."))
}

// viewPrefetch is one view partition scanned ahead of a fetch's serial
// assembly.
type viewPrefetch struct {
	buf *[]byte
	res broker.FetchResult
	err error
}

// prefetchViews scans the view partitions of a fetch in parallel, one per
// CPU at a time, when it names more than one: a view's fetch is CPU-bound
// (each source record is decoded and filtered), unlike a plain read, and a
// consumer of a view usually fetches all its partitions in one request.
// Each is scanned with the limit the serial loop would give it if it came
// first; the loop then takes the results in order, under the response's
// budget as for any partition, and a result the budget leaves out is
// dropped (the consumer fetches it again). It returns nil when there is
// nothing to do in parallel.
func (s *Server) prefetchViews(parts []fetchPart, maxBytes int64) []viewPrefetch {
	n := 0
	for i := range parts {
		if parts[i].view {
			n++
		}
	}
	workers := min(n, runtime.GOMAXPROCS(0))
	if workers < 2 {
		return nil
	}
	pre := make([]viewPrefetch, len(parts))
	next := make(chan int, n)
	for i := range parts {
		if parts[i].view {
			next <- i
		}
	}
	close(next)
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range next {
				fp := &parts[i]
				limit := min(int64(fp.maxBytes), maxBytes)
				if limit <= 0 {
					limit = 1
				}
				buf := getFetchBuf()
				res, err := s.b.FetchInto(*buf, fp.topic, fp.out.Partition, fp.offset, int(limit))
				if cap(res.Batches) > 0 {
					*buf = res.Batches[:0]
				}
				pre[i] = viewPrefetch{buf: buf, res: res, err: err}
			}
		})
	}
	wg.Wait()
	return pre
}
