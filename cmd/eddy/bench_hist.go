package main

import (
	"math/bits"
	"sync/atomic"
	"time"
)

// histSubBits is log2 of the sub-buckets per power of two: 128 gives a
// relative error under 0.8%, enough for latency percentiles.
const (
	histSubBits    = 7
	histSub        = 1 << histSubBits
	histBucketsLen = 64 * histSub
)

// latencyHist is a lock-free log-linear histogram of durations in
// nanoseconds, safe for concurrent Record calls from promise callbacks and
// consumer goroutines. Memory is fixed (64 KiB) whatever the run length,
// so a bench of millions of records does not keep a sample per record.
type latencyHist struct {
	counts [histBucketsLen]atomic.Uint64
	n      atomic.Uint64
	max    atomic.Int64
}

func histBucket(v int64) int {
	if v < 2*histSub {
		return int(max(v, 0))
	}
	e := bits.Len64(uint64(v)) - histSubBits - 1
	return (e+1)*histSub + int(v>>e) - histSub
}

// histValue is the midpoint of bucket i's range.
func histValue(i int) int64 {
	if i < 2*histSub {
		return int64(i)
	}
	e := i/histSub - 1
	m := int64(i%histSub + histSub)
	return m<<e + (int64(1)<<e)/2
}

// Record adds one observation.
func (h *latencyHist) Record(d time.Duration) {
	v := int64(d)
	h.counts[histBucket(v)].Add(1)
	h.n.Add(1)
	for {
		m := h.max.Load()
		if v <= m || h.max.CompareAndSwap(m, v) {
			return
		}
	}
}

// Count returns the number of observations.
func (h *latencyHist) Count() uint64 { return h.n.Load() }

// Quantile returns the value at quantile q in [0, 1].
func (h *latencyHist) Quantile(q float64) time.Duration {
	n := h.n.Load()
	if n == 0 {
		return 0
	}
	rank := uint64(q*float64(n) + 0.5)
	rank = min(max(rank, 1), n)
	var seen uint64
	for i := range h.counts {
		seen += h.counts[i].Load()
		if seen >= rank {
			return min(time.Duration(histValue(i)), time.Duration(h.max.Load()))
		}
	}
	return time.Duration(h.max.Load())
}

// latencySummary is the latency part of a bench result, in milliseconds.
type latencySummary struct {
	Count  uint64  `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P90ms  float64 `json:"p90_ms"`
	P99ms  float64 `json:"p99_ms"`
	P999ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// Summary returns the percentiles, or nil with no observations.
func (h *latencyHist) Summary() *latencySummary {
	if h.Count() == 0 {
		return nil
	}
	return &latencySummary{
		Count:  h.Count(),
		P50ms:  ms(h.Quantile(0.50)),
		P90ms:  ms(h.Quantile(0.90)),
		P99ms:  ms(h.Quantile(0.99)),
		P999ms: ms(h.Quantile(0.999)),
		MaxMs:  ms(time.Duration(h.max.Load())),
	}
}
