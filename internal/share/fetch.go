package share

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// FetchRequest asks for records of a share group.
type FetchRequest struct {
	Group, MemberID string
	Partitions      []TP
	// MaxRecords caps the records acquired over all partitions; default 500.
	MaxRecords int
	// MaxBytes caps the batch bytes read (at least one batch per
	// partition with acquired records is returned, as KIP-74).
	MaxBytes int
	// MaxWait is how long to wait for records when none is available.
	MaxWait time.Duration
}

// PartitionResult is what one partition returned.
type PartitionResult struct {
	TP
	// Batches are the stored record batches covering the acquired
	// offsets; they may hold records that are not acquired, which the
	// client skips (as Kafka's ShareFetch).
	Batches  []byte
	Acquired []Range
	Err      error
}

// Fetch acquires records for the member from the given partitions and
// returns them, waiting up to MaxWait when none is available. The
// acquisitions are durable (delivery counts included) before it returns.
func (c *Coordinator) Fetch(ctx context.Context, r FetchRequest) ([]PartitionResult, error) {
	g := c.group(r.Group)
	if g == nil {
		return nil, fmt.Errorf("%w: %s", ErrGroupNotFound, r.Group)
	}
	if r.MaxRecords <= 0 {
		r.MaxRecords = 500
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = 50 << 20
	}
	deadline := time.Now().Add(r.MaxWait)
	var waiter *broker.Waiter
	defer func() {
		if waiter != nil {
			waiter.Close()
		}
	}()
	for {
		wakeC := c.wakeC()
		res, got, next := c.fetchOnce(g, r)
		if got || r.MaxWait <= 0 || !time.Now().Before(deadline) {
			return res, nil
		}
		for _, pr := range res {
			if pr.Err != nil {
				return res, nil
			}
		}
		if waiter == nil {
			waiter = c.b.NewWaiter()
			for _, t := range r.Partitions {
				waiter.Add(t.Topic, t.Partition)
			}
		}
		wait := time.Until(deadline)
		if !next.IsZero() {
			wait = min(wait, max(time.Until(next), time.Millisecond))
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return res, nil
		case <-c.stop:
			timer.Stop()
			return res, nil
		case <-waiter.C():
		case <-wakeC:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// fetchOnce acquires from each partition once. It returns whether any
// record was acquired, and the earliest time a lock or backoff ends.
func (c *Coordinator) fetchOnce(g *group, r FetchRequest) ([]PartitionResult, bool, time.Time) {
	gc := g.config()
	lim := c.limits(gc)
	left := r.MaxRecords
	bytesLeft := r.MaxBytes
	var (
		out  []PartitionResult
		got  bool
		next time.Time
	)
	for _, t := range r.Partitions {
		pr := PartitionResult{TP: t}
		logStart, hw, _, err := c.b.Offsets(t.Topic, t.Partition)
		if err != nil {
			pr.Err = fmt.Errorf("%w: %s-%d: %v", ErrUnknownPartition, t.Topic, t.Partition, err)
			out = append(out, pr)
			continue
		}
		if left <= 0 {
			out = append(out, pr)
			continue
		}
		sp := g.part(t.Topic, t.Partition)
		reset := hw
		if gc.AutoOffsetReset == "earliest" {
			reset = logStart
		}
		sp.mu.Lock()
		was := sp.p.Start()
		ranges := sp.p.Acquire(c.now(), r.MemberID, left, logStart, hw, reset, lim)
		changed := len(ranges) > 0 || was != sp.p.Start()
		if changed {
			sp.seq++
		}
		seq := sp.seq
		if w := sp.p.NextWake(); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
		sp.mu.Unlock()
		if changed {
			if err := c.persist(sp, seq); err != nil {
				// The acquisition stays in memory and times out.
				pr.Err = fmt.Errorf("persist share state: %w", err)
				out = append(out, pr)
				continue
			}
		}
		if len(ranges) == 0 {
			out = append(out, pr)
			continue
		}
		for _, rg := range ranges {
			left -= int(rg.Last - rg.First + 1)
		}
		got = true
		pr.Acquired = ranges
		pr.Batches, err = c.readRanges(t, ranges, bytesLeft)
		if err != nil {
			pr.Err = err
		}
		bytesLeft -= len(pr.Batches)
		out = append(out, pr)
	}
	return out, got, next
}

// readRanges reads the stored batches holding the acquired offsets.
func (c *Coordinator) readRanges(t TP, ranges []Range, maxBytes int) ([]byte, error) {
	var out []byte
	covered := int64(-1) // last offset already in out
	for _, rg := range ranges {
		off := max(rg.First, covered+1)
		for off <= rg.Last {
			res, err := c.b.Fetch(t.Topic, t.Partition, off, max(maxBytes-len(out), 1))
			if err != nil {
				if errors.Is(err, broker.ErrOffsetOutOfRange) && off < res.LogStartOffset {
					off = res.LogStartOffset
					continue
				}
				return out, fmt.Errorf("read %s-%d at %d: %w", t.Topic, t.Partition, off, err)
			}
			if len(res.Batches) == 0 {
				return out, nil
			}
			b := res.Batches
			for len(b) > 0 {
				h, err := record.ParseBatchHeader(b)
				size := h.Size()
				if err != nil || size < record.BatchHeaderSize || size > len(b) {
					break
				}
				last := h.LastOffset()
				if last > covered {
					out = append(out, b[:size]...)
					covered = last
				}
				b = b[size:]
				if covered >= rg.Last {
					break
				}
			}
			if covered < off {
				return out, nil // nothing readable advanced us
			}
			off = covered + 1
		}
	}
	return out, nil
}

// AckBatch acknowledges offsets First..Last with one type each (or one
// for all).
type AckBatch struct {
	First, Last int64
	Types       []AckType
}

// Ack applies acknowledgement batches of a member to one partition and
// returns once the new state is durable. Batches apply in order; the first
// invalid one stops the rest and its error is returned.
func (c *Coordinator) Ack(_ context.Context, group, memberID string, t TP, batches []AckBatch) error {
	g := c.group(group)
	if g == nil {
		return fmt.Errorf("%w: %s", ErrGroupNotFound, group)
	}
	if _, err := c.b.Topic(t.Topic); err != nil {
		return fmt.Errorf("%w: %s", ErrUnknownPartition, t.Topic)
	}
	gc := g.config()
	lim := c.limits(gc)
	sp := g.part(t.Topic, t.Partition)
	now := c.now()
	sp.mu.Lock()
	var firstErr error
	changed, released, finished := false, false, false
	for _, b := range batches {
		if err := sp.p.Ack(now, memberID, b.First, b.Last, b.Types, lim); err != nil {
			firstErr = err
			break
		}
		changed = true
		for _, ty := range b.Types {
			switch ty {
			case AckRelease:
				released = true
			case AckReject:
				finished = true
			}
		}
	}
	if changed {
		sp.seq++
	}
	seq := sp.seq
	sp.mu.Unlock()
	if changed {
		if err := c.persist(sp, seq); err != nil {
			return fmt.Errorf("persist acknowledgement: %w", err)
		}
	}
	if released || finished {
		c.wake()
	}
	return firstErr
}
