package share

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
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
	// BatchOptimized makes MaxRecords a soft limit, as Kafka's
	// batch-optimized acquire mode (ShareFetch ShareAcquireMode 0): the
	// acquisition of new records ends at the end of a stored batch, so
	// that no batch is split between fetches. Otherwise at most
	// MaxRecords are acquired (record-limit mode).
	BatchOptimized bool
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
	// buf holds Batches when they are in a pooled buffer.
	buf *readBuf
}

// Release returns the buffers holding the results' batches to their pool;
// the batches must not be used afterwards. Callers that do not call it
// leave the buffers to the garbage collector.
func (r FetchResult) Release() {
	for i := range r.Partitions {
		r.Partitions[i].buf.release()
		r.Partitions[i].buf = nil
	}
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
//
// A partition with nothing to redeliver is read before it is acquired:
// the batches from the window's end are read into a pooled buffer, the
// acquisition ends at a batch boundary when the request is batch
// optimized (Kafka's soft MaxRecords), and the response serves the
// buffer's batches without copying them. Other partitions (records to
// redeliver in the window) are acquired first and read afterwards, while
// the acquisitions are written.
func (c *Coordinator) fetchOnce(g *group, r FetchRequest, changed []*sharePart) ([]PartitionResult, bool, time.Time, error) {
	gc := g.config()
	lim := c.limits(gc)
	left := r.MaxRecords
	bytesLeft := r.MaxBytes
	var (
		out  = make([]PartitionResult, len(r.Partitions))
		got  bool
		next time.Time
		now  = c.now()
		late []int // partitions to read after acquiring
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
		want := left
		sp.mu.Lock()
		end, room := sp.p.NewRoom(now, logStart, hw, reset, lim)
		sp.mu.Unlock()
		var pre *readBuf
		if room > 0 {
			want = int(min(int64(want), room))
			pre = c.readNew(t, sp, end, want, max(bytesLeft, 1))
			if pre != nil {
				want = pre.acquirable(end, want, r.BatchOptimized)
			}
		}
		sp.mu.Lock()
		was := sp.p.Start()
		ranges := sp.p.Acquire(now, r.MemberID, want, logStart, hw, reset, lim)
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
		if len(ranges) == 0 {
			pre.release()
			continue
		}
		got = true
		if pre != nil && len(ranges) == 1 && ranges[0].First == end {
			// Acquired what was read (another member may have
			// moved the window meanwhile; then it is read again).
			if b := pre.upTo(ranges[0].Last); b != nil {
				out[i].Batches, out[i].buf = b, pre
				bytesLeft -= len(b)
				continue
			}
		}
		pre.release()
		late = append(late, i)
	}
	// The acquisitions (and piggybacked acknowledgements) are written
	// while the remaining records are read; nothing is answered before
	// the write is durable.
	wait := c.persistAsync(changed...)
	for _, i := range late {
		var err error
		out[i].Batches, out[i].buf, err = c.readRanges(out[i].TP, out[i].Acquired, max(bytesLeft, 1))
		if err != nil {
			out[i].Err = err
		}
		bytesLeft -= len(out[i].Batches)
	}
	if err := wait(); err != nil {
		// The acquisitions stay in memory and time out.
		for i := range out {
			if len(out[i].Acquired) > 0 {
				out[i].buf.release()
				out[i].Acquired, out[i].Batches, out[i].buf, out[i].Err = nil, nil, nil, fmt.Errorf("persist share state: %w", err)
			}
		}
		return out, false, next, err
	}
	return out, got, next, nil
}

// readBuf is a pooled buffer holding stored batches read for a fetch, the
// batches parsed out of it.
type readBuf struct {
	b       []byte
	batches []batchSpan
}

// batchSpan is one stored batch in a readBuf: its last offset and where it
// ends in the buffer.
type batchSpan struct {
	last int64
	end  int
}

var readBufs = sync.Pool{New: func() any { return &readBuf{b: make([]byte, 0, 64<<10)} }}

// maxPooledRead keeps one unusually large read from pinning memory.
const maxPooledRead = 8 << 20

func getReadBuf() *readBuf { return readBufs.Get().(*readBuf) }

func (rb *readBuf) release() {
	if rb == nil || cap(rb.b) > maxPooledRead {
		return
	}
	rb.b, rb.batches = rb.b[:0], rb.batches[:0]
	readBufs.Put(rb)
}

// parse records the whole batches at the start of rb.b.
func (rb *readBuf) parse() {
	rb.batches = rb.batches[:0]
	for pos := 0; pos+record.BatchHeaderSize <= len(rb.b); {
		h, err := record.ParseBatchHeader(rb.b[pos:])
		size := h.Size()
		if err != nil || size < record.BatchHeaderSize || pos+size > len(rb.b) {
			break
		}
		pos += size
		rb.batches = append(rb.batches, batchSpan{last: h.LastOffset(), end: pos})
	}
	rb.b = rb.b[:rb.endAt(len(rb.batches))]
}

func (rb *readBuf) endAt(n int) int {
	if n == 0 {
		return 0
	}
	return rb.batches[n-1].end
}

// acquirable returns how many offsets from end a fetch wanting want
// records acquires given the batches read: with batchOptimized up to the
// end of the batch holding the want-th offset (Kafka's soft limit, so
// no batch is split between two fetches), else want; never past the
// batches read, so that the records served are the ones read.
func (rb *readBuf) acquirable(end int64, want int, batchOptimized bool) int {
	if len(rb.batches) == 0 {
		return want
	}
	target := end + int64(want) - 1
	for _, s := range rb.batches {
		if s.last >= target {
			if batchOptimized {
				return int(s.last - end + 1)
			}
			return want
		}
	}
	return int(rb.batches[len(rb.batches)-1].last - end + 1)
}

// upTo returns the batches up to the one holding last, nil when the
// buffer does not reach it.
func (rb *readBuf) upTo(last int64) []byte {
	for i, s := range rb.batches {
		if s.last >= last {
			return rb.b[:rb.endAt(i+1)]
		}
	}
	return nil
}

// Reads of a partition's batches are sized from the bytes per offset and
// per batch the partition's last read saw; the first read of a partition
// reads readChunk bytes, and reads of acquired ranges double from there up
// to readChunkMax while more is needed.
const (
	readChunk    = 128 << 10
	readChunkMax = 8 << 20
)

// readNew reads the batches from offset end holding about want records,
// into a pooled buffer; nil when nothing could be read.
func (c *Coordinator) readNew(t TP, sp *sharePart, end int64, want, maxBytes int) *readBuf {
	size := readChunk
	if bpo, bpb := sp.bytesPerOffset.Load(), sp.bytesPerBatch.Load(); bpo > 0 {
		size = int(min(int64(want)*bpo*5/4+bpb, readChunkMax))
	}
	size = max(min(size, maxBytes), 1)
	rb := getReadBuf()
	rb.b = slices.Grow(rb.b[:0], size)
	res, err := c.b.FetchInto(rb.b, t.Topic, t.Partition, end, size)
	if err != nil || len(res.Batches) == 0 {
		rb.release()
		return nil
	}
	rb.b = res.Batches
	rb.parse()
	if len(rb.batches) == 0 {
		rb.release()
		return nil
	}
	if h, err := record.ParseBatchHeader(rb.b); err == nil {
		n := rb.batches[len(rb.batches)-1].last - h.BaseOffset + 1
		if n > 0 {
			sp.bytesPerOffset.Store(max(int64(len(rb.b))/n, 1))
			sp.bytesPerBatch.Store(int64(len(rb.b) / len(rb.batches)))
		}
	}
	return rb
}

// readRanges reads the stored batches holding the acquired offsets into a
// pooled buffer.
func (c *Coordinator) readRanges(t TP, ranges []Range, maxBytes int) ([]byte, *readBuf, error) {
	rb := getReadBuf()
	out := rb.b[:0]
	var scratch []byte
	covered := int64(-1) // last offset already in out
	chunk := readChunk
	done := func(err error) ([]byte, *readBuf, error) {
		rb.b = out
		return out, rb, err
	}
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
				return done(fmt.Errorf("read %s-%d at %d: %w", t.Topic, t.Partition, off, err))
			}
			if len(res.Batches) == 0 {
				return done(nil)
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
				return done(nil) // nothing readable advanced us
			}
			off = covered + 1
		}
	}
	return done(nil)
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
