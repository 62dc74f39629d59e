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
	// Acks are applied before acquiring and written in the same durable
	// write as the acquisitions (ShareFetch's piggybacked acks);
	// FetchResult.AckErrs answers them.
	Acks []PartitionAcks
}

// FetchResult is Fetch's answer.
type FetchResult struct {
	Partitions []PartitionResult
	// AckErrs has one entry per FetchRequest.Acks.
	AckErrs []error
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
	res, err := c.FetchAck(ctx, r)
	return res.Partitions, err
}

// FetchAck is Fetch applying r.Acks first, durable together with the
// acquisitions.
func (c *Coordinator) FetchAck(ctx context.Context, r FetchRequest) (FetchResult, error) {
	g := c.group(r.Group)
	if g == nil {
		return FetchResult{}, fmt.Errorf("%w: %s", ErrGroupNotFound, r.Group)
	}
	var (
		fr      FetchResult
		pending []*sharePart
		wakeAck bool
	)
	if len(r.Acks) > 0 {
		fr.AckErrs, pending, wakeAck = c.applyAcks(g, r.MemberID, r.Acks)
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
		res, got, next, perr := c.fetchOnce(g, r, pending)
		if pending != nil {
			if perr != nil {
				for i, err := range fr.AckErrs {
					if err == nil {
						fr.AckErrs[i] = perr
					}
				}
			}
			if wakeAck {
				c.wake()
			}
			pending = nil
		}
		fr.Partitions = res
		if got || r.MaxWait <= 0 || !time.Now().Before(deadline) {
			return fr, nil
		}
		for _, pr := range res {
			if pr.Err != nil {
				return fr, nil
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
			return fr, nil
		case <-c.stop:
			timer.Stop()
			return fr, nil
		case <-waiter.C():
		case <-wakeC:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// fetchOnce acquires from each partition once, makes the acquisitions
// durable in one write, then reads their batches. It returns whether any
// record was acquired, and the earliest time a lock or backoff ends.
func (c *Coordinator) fetchOnce(g *group, r FetchRequest, changed []*sharePart) ([]PartitionResult, bool, time.Time, error) {
	gc := g.config()
	lim := c.limits(gc)
	left := r.MaxRecords
	var (
		out  = make([]PartitionResult, len(r.Partitions))
		got  bool
		next time.Time
		now  = c.now()
	)
	for i, t := range r.Partitions {
		out[i].TP = t
		logStart, hw, _, err := c.b.Offsets(t.Topic, t.Partition)
		if err != nil {
			out[i].Err = fmt.Errorf("%w: %s-%d: %v", ErrUnknownPartition, t.Topic, t.Partition, err)
			continue
		}
		if left <= 0 {
			continue
		}
		sp := g.part(t.Topic, t.Partition)
		reset := hw
		if gc.AutoOffsetReset == "earliest" {
			reset = logStart
		}
		sp.mu.Lock()
		was := sp.p.Start()
		ranges := sp.p.Acquire(now, r.MemberID, left, logStart, hw, reset, lim)
		if len(ranges) > 0 || was != sp.p.Start() {
			changed = append(changed, sp)
		}
		if w := sp.p.NextWake(); !w.IsZero() && (next.IsZero() || w.Before(next)) {
			next = w
		}
		sp.mu.Unlock()
		out[i].Acquired = ranges
		for _, rg := range ranges {
			left -= int(rg.Last - rg.First + 1)
		}
	}
	// The acquisitions (and piggybacked acknowledgements) are written
	// while their records are read; nothing is answered before the write
	// is durable.
	wait := c.persistAsync(changed...)
	bytesLeft := r.MaxBytes
	for i := range out {
		if len(out[i].Acquired) == 0 {
			continue
		}
		got = true
		var err error
		out[i].Batches, err = c.readRanges(out[i].TP, out[i].Acquired, bytesLeft)
		if err != nil {
			out[i].Err = err
		}
		bytesLeft -= len(out[i].Batches)
	}
	if err := wait(); err != nil {
		// The acquisitions stay in memory and time out.
		for i := range out {
			if len(out[i].Acquired) > 0 {
				out[i].Acquired, out[i].Batches, out[i].Err = nil, nil, fmt.Errorf("persist share state: %w", err)
			}
		}
		return out, false, next, err
	}
	return out, got, next, nil
}

// Reads of the acquired offsets' batches start at readChunk bytes and
// double up to readChunkMax while more is needed: a read as large as the
// request's MaxBytes (50 MiB by default) would copy the rest of the
// partition to return a few hundred records.
const (
	readChunk    = 128 << 10
	readChunkMax = 8 << 20
)

// readRanges reads the stored batches holding the acquired offsets.
func (c *Coordinator) readRanges(t TP, ranges []Range, maxBytes int) ([]byte, error) {
	var out, scratch []byte
	covered := int64(-1) // last offset already in out
	chunk := readChunk
	for _, rg := range ranges {
		off := max(rg.First, covered+1)
		for off <= rg.Last {
			res, err := c.b.FetchInto(scratch, t.Topic, t.Partition, off, min(max(maxBytes-len(out), 1), chunk))
			chunk = min(2*chunk, readChunkMax)
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
			scratch = res.Batches[:0]
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
func (c *Coordinator) Ack(ctx context.Context, group, memberID string, t TP, batches []AckBatch) error {
	errs := c.AckMany(ctx, group, memberID, []PartitionAcks{{TP: t, Batches: batches}})
	return errs[0]
}

// PartitionAcks are one partition's acknowledgement batches.
type PartitionAcks struct {
	TP
	Batches []AckBatch
}

// AckMany applies the acknowledgements of several partitions and makes
// them durable in one write; it returns one error per partition.
func (c *Coordinator) AckMany(_ context.Context, group, memberID string, acks []PartitionAcks) []error {
	g := c.group(group)
	if g == nil {
		errs := make([]error, len(acks))
		for i := range errs {
			errs[i] = fmt.Errorf("%w: %s", ErrGroupNotFound, group)
		}
		return errs
	}
	errs, changed, wake := c.applyAcks(g, memberID, acks)
	if err := c.persist(changed...); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("persist acknowledgement: %w", err)
			}
		}
	}
	if wake {
		c.wake()
	}
	return errs
}

// applyAcks applies acknowledgements in memory and returns the errors,
// the partitions to persist, and whether records became available or
// finished (parked fetches should look again).
func (c *Coordinator) applyAcks(g *group, memberID string, acks []PartitionAcks) ([]error, []*sharePart, bool) {
	errs := make([]error, len(acks))
	lim := c.limits(g.config())
	now := c.now()
	var changed []*sharePart
	wake := false
	for i, a := range acks {
		if _, err := c.b.Topic(a.Topic); err != nil {
			errs[i] = fmt.Errorf("%w: %s", ErrUnknownPartition, a.Topic)
			continue
		}
		sp := g.part(a.Topic, a.Partition)
		sp.mu.Lock()
		did := false
		for _, b := range a.Batches {
			if err := sp.p.Ack(now, memberID, b.First, b.Last, b.Types, lim); err != nil {
				errs[i] = err
				break
			}
			did = true
			for _, ty := range b.Types {
				if ty == AckRelease || ty == AckReject {
					wake = true
				}
			}
		}
		sp.mu.Unlock()
		if did {
			changed = append(changed, sp)
		}
	}
	return errs, changed, wake
}
