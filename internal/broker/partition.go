package broker

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/commitlog"
	"github.com/eddy-streaming/eddy/internal/record"
)

// partition is one topic partition: a commitlog plus the lock that orders
// appends and the waiters parked on it.
type partition struct {
	topic string
	id    int32
	log   *commitlog.Log

	mu struct {
		sync.Mutex
		cfg     TopicConfig
		deleted bool
	}

	wmu     sync.Mutex
	waiters map[*Waiter]struct{}

	// tail is a copy of the last small write, for the fetch that follows.
	tail tailCache

	bytesIn, recordsIn, bytesOut, recordsOut prometheus.Counter
}

func newPartition(t *topic, id int32, l *commitlog.Log) *partition {
	p := &partition{topic: t.name, id: id, log: l, waiters: make(map[*Waiter]struct{})}
	p.mu.cfg = t.cfg
	p.tail.reset()
	return p
}

func (p *partition) setConfig(c TopicConfig) {
	p.mu.Lock()
	p.mu.cfg = c
	p.mu.Unlock()
}

func (p *partition) config() TopicConfig {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mu.cfg
}

func (p *partition) close() error {
	p.mu.Lock()
	p.mu.deleted = true
	p.mu.Unlock()
	p.notifyGone()
	if err := p.log.Close(); err != nil {
		return fmt.Errorf("close partition %s-%d: %w", p.topic, p.id, err)
	}
	return nil
}

func (p *partition) delete() error {
	p.mu.Lock()
	p.mu.deleted = true
	p.mu.Unlock()
	p.notifyGone()
	if err := p.log.Delete(); err != nil {
		return fmt.Errorf("delete partition %s-%d: %w", p.topic, p.id, err)
	}
	return nil
}

// notify wakes every waiter parked on the partition. It is called whenever
// the high watermark may have advanced: after a write (fsync=interval or
// never) and after a durability wait (fsync=always).
//
// Channel waiters are woken under wmu; callback waiters (NewWaiterFunc) are
// collected and called after it is released.
func (p *partition) notify() { p.notifyWaiters(inlineWakeups) }

// notifyGone wakes the waiters of a partition being closed or deleted.
// Its callers may hold the topic table lock, which a callback re-reading
// the partition would take again, so every callback gets a goroutine.
func (p *partition) notifyGone() { p.notifyWaiters(0) }

// notifyWaiters wakes every waiter, running at most maxInline callbacks on
// the calling goroutine.
func (p *partition) notifyWaiters(maxInline int) {
	var inline [inlineWakeups]*Waiter
	n := 0
	p.wmu.Lock()
	for w := range p.waiters {
		switch {
		case w.fn == nil:
			w.wake()
		case n < maxInline:
			inline[n] = w
			n++
		default:
			go w.fn()
		}
	}
	p.wmu.Unlock()
	for _, w := range inline[:n] {
		w.fn()
	}
}

// WriteResult is the outcome of Broker.Write.
type WriteResult struct {
	// Base is the offset assigned to the first record; Next is one past
	// the last.
	Base, Next int64
	// LogAppendTime is the timestamp stamped on LogAppendTime topics, or
	// -1 for CreateTime topics.
	LogAppendTime int64
	// LogStartOffset is the partition's log start offset after the write.
	LogStartOffset int64
	// Duplicate is true when an AppendHook recognised the batches as a
	// retry of an earlier write and nothing was written.
	Duplicate bool
	// Records and Bytes count what was written.
	Records, Bytes int

	p *partition
	// syncWait is set when Wait has to wait for an fsync (fsync=always).
	syncWait bool
}

// WaitBlocks reports whether Wait may block (the topic's policy is
// fsync=always); otherwise Wait returns at once and callers can answer
// without handing the wait to another goroutine.
func (w *WriteResult) WaitBlocks() bool { return w.p != nil && w.syncWait }

// Wait blocks until the write is durable under the topic's eddy.fsync policy
// (a group-commit fsync for always; immediately otherwise) and wakes the
// fetches parked on the partition.
func (w *WriteResult) Wait() error {
	if w.p == nil {
		return nil
	}
	err := w.p.log.WaitDurable(w.Next)
	w.p.notify()
	if err != nil {
		return fmt.Errorf("wait durable %s-%d: %w", w.p.topic, w.p.id, logErr(err))
	}
	return nil
}

// Write appends one or more RecordBatch v2 batches (back to back) to a
// partition. It validates them, enforces max.message.bytes and the codec
// ids, stamps LogAppendTime when the topic asks for it, assigns offsets
// (rewriting baseOffset in batches, which the caller gives up) and writes
// them, all under the partition lock so appends are ordered. It does not
// wait for durability: call WriteResult.Wait outside any lock, so that
// concurrent producers share one group-commit fsync.
//
// This is the single seam for idempotent producers: the append runs as
// check → Write → record under the partition lock, where check and record
// are the broker's append hook chain (Config.Hooks), which receives opts. A
// duplicate reported by a hook is acknowledged with the original offsets
// and not written again.
func (b *Broker) Write(topic string, part int32, batches []byte, opts WriteOptions) (*WriteResult, error) {
	if v := b.view(topic); v != nil {
		return nil, viewWriteError(v)
	}
	p, err := b.partition(topic, part)
	if err != nil {
		return nil, err
	}
	hs, err := record.ValidateBatches(batches)
	if err != nil {
		return nil, batchErr(err)
	}
	records := 0
	for i := range hs {
		if c := hs[i].Compression(); c > 4 {
			return nil, fmt.Errorf("%w: codec id %d", ErrUnsupportedCompression, c)
		}
		records += int(hs[i].RecordCount)
	}
	sections, err := b.validateRecords(p, batches, hs)
	if err != nil {
		return nil, batchErr(err)
	}
	if sections != nil {
		defer sections.Release()
	}

	p.mu.Lock()
	if p.mu.deleted {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: %s", ErrUnknownTopic, topic)
	}
	cfg := p.mu.cfg
	for i := range hs {
		if int64(hs[i].Size()) > cfg.MaxMessageBytes {
			p.mu.Unlock()
			return nil, fmt.Errorf("%w: batch of %d bytes, max.message.bytes is %d", ErrMessageTooLarge, hs[i].Size(), cfg.MaxMessageBytes)
		}
	}
	a := Append{Topic: topic, Partition: part, Headers: hs, Batches: batches, Options: opts, Config: cfg, Sections: sections}
	if len(b.hooks) > 0 {
		dup, err := b.checkAppend(a)
		if err != nil {
			p.mu.Unlock()
			return nil, err
		}
		if dup != nil {
			p.mu.Unlock()
			return &WriteResult{Base: dup.Base, Next: dup.Next, LogAppendTime: dup.LogAppendTime,
				LogStartOffset: p.log.LogStartOffset(), Duplicate: true, p: p, syncWait: cfg.Fsync == "always"}, nil
		}
	}
	appendTime := int64(-1)
	if cfg.TimestampType == TimestampLogAppendTime {
		appendTime = b.now().UnixMilli()
		for pos, i := 0, 0; i < len(hs); i++ {
			record.SetLogAppendTime(batches[pos:], appendTime)
			pos += hs[i].Size()
		}
	}
	base, next, err := p.log.WriteChecked(batches, hs)
	if err != nil {
		p.tail.reset()
		p.mu.Unlock()
		return nil, fmt.Errorf("write %s-%d: %w", topic, part, logErr(err))
	}
	// batches now hold what the log stored (base offsets rewritten).
	p.tail.set(base, next, batches, time.Now().UnixNano())
	if len(b.hooks) > 0 {
		b.recordAppend(a, base, appendTime)
	}
	p.mu.Unlock()

	if cfg.Fsync != "always" {
		p.notify()
	}
	p.bytesIn.Add(float64(len(batches)))
	p.recordsIn.Add(float64(records))
	return &WriteResult{Base: base, Next: next, LogAppendTime: appendTime, LogStartOffset: p.log.LogStartOffset(),
		Records: records, Bytes: len(batches), p: p, syncWait: cfg.Fsync == "always"}, nil
}

// Append is Write followed by Wait.
func (b *Broker) Append(topic string, part int32, batches []byte) (*WriteResult, error) {
	w, err := b.Write(topic, part, batches, WriteOptions{})
	if err != nil {
		return nil, err
	}
	return w, w.Wait()
}

// FetchResult is what Broker.Fetch read from a partition.
type FetchResult struct {
	// Batches are whole stored batches starting with the one that holds
	// the requested offset; empty when the offset is at the high
	// watermark.
	Batches []byte
	// HighWatermark is the offset up to which consumers may read (under
	// fsync=always, the fsynced end).
	HighWatermark  int64
	LogStartOffset int64
	LogEndOffset   int64
	// Filler is how many bytes of Batches are record-less batches that
	// move a view's consumer past records that do not match: not data, so
	// they do not count towards a fetch's MinBytes.
	Filler int
}

// Fetch reads up to maxBytes of batches from offset (at least one whole
// batch if any is readable, as KIP-74). It returns ErrOffsetOutOfRange, with
// the offsets filled in, for an offset below the log start or above the log
// end offset.
func (b *Broker) Fetch(topic string, part int32, offset int64, maxBytes int) (FetchResult, error) {
	return b.FetchInto(nil, topic, part, offset, maxBytes)
}

// FetchInto is Fetch reading into dst's storage (from dst[:0]), so callers
// can reuse buffers; with enough capacity it does not allocate.
func (b *Broker) FetchInto(dst []byte, topic string, part int32, offset int64, maxBytes int) (FetchResult, error) {
	if v := b.view(topic); v != nil {
		return b.fetchView(dst, v, part, offset, maxBytes)
	}
	p, err := b.partition(topic, part)
	if err != nil {
		return FetchResult{}, err
	}
	return p.fetch(dst[:0], offset, maxBytes)
}

func (p *partition) fetch(dst []byte, offset int64, maxBytes int) (FetchResult, error) {
	p.tail.fetched(time.Now().UnixNano())
	r := FetchResult{HighWatermark: p.log.HighWatermark(), LogStartOffset: p.log.LogStartOffset(), LogEndOffset: p.log.LogEndOffset()}
	if offset < r.LogStartOffset || offset > r.LogEndOffset {
		return r, fmt.Errorf("%w: offset %d, log %s-%d holds [%d, %d]", ErrOffsetOutOfRange, offset, p.topic, p.id, r.LogStartOffset, r.LogEndOffset)
	}
	if offset >= r.HighWatermark {
		return r, nil
	}
	if data, ok := p.tail.read(dst, offset, r.HighWatermark, maxBytes); ok {
		r.Batches = data
		p.countOut(data)
		return r, nil
	}
	data, err := p.log.ReadInto(dst, offset, maxBytes)
	if err != nil {
		if errors.Is(err, commitlog.ErrOffsetOutOfRange) {
			r.LogStartOffset = p.log.LogStartOffset()
			return r, fmt.Errorf("%w: offset %d: %v", ErrOffsetOutOfRange, offset, err)
		}
		return r, fmt.Errorf("read %s-%d at %d: %w", p.topic, p.id, offset, logErr(err))
	}
	r.Batches = data
	p.countOut(data)
	return r, nil
}

// countOut adds fetched batches to the partition's out counters.
func (p *partition) countOut(data []byte) {
	p.bytesOut.Add(float64(len(data)))
	records := 0
	for pos := 0; pos+record.BatchHeaderSize <= len(data); {
		h, err := record.ParseBatchHeader(data[pos:])
		if err != nil || h.Size() <= 0 {
			break
		}
		records += int(h.RecordCount)
		pos += h.Size()
	}
	p.recordsOut.Add(float64(records))
}

// Offsets returns a partition's log start offset, high watermark and log end
// offset.
func (b *Broker) Offsets(topic string, part int32) (start, hw, end int64, err error) {
	p, err := b.readPartition(topic, part)
	if err != nil {
		return 0, 0, 0, err
	}
	return p.log.LogStartOffset(), p.log.HighWatermark(), p.log.LogEndOffset(), nil
}

// Special timestamps of ListOffset, as Kafka's ListOffsets.
const (
	LatestTimestamp   int64 = -1 // the high watermark
	EarliestTimestamp int64 = -2 // the log start offset
	MaxTimestamp      int64 = -3 // the offset of the record with the largest timestamp
)

// ListOffset finds an offset by timestamp: LatestTimestamp,
// EarliestTimestamp, MaxTimestamp, or a time in milliseconds, for which it
// returns the first offset whose timestamp is at least ts, or -1 when no
// record is that new. The returned timestamp is -1 for Latest and Earliest.
func (b *Broker) ListOffset(topic string, part int32, ts int64) (offset, timestamp int64, err error) {
	p, err := b.readPartition(topic, part)
	if err != nil {
		return -1, -1, err
	}
	switch ts {
	case LatestTimestamp:
		return p.log.HighWatermark(), -1, nil
	case EarliestTimestamp:
		return p.log.LogStartOffset(), -1, nil
	case MaxTimestamp:
		mts, off := p.log.MaxTimestamp()
		if off < 0 {
			return -1, -1, nil
		}
		// off is the batch holding the max: the record's own offset
		// is inside it (KIP-734 answers the record).
		if o, t, err := p.log.RecordAtOrAfter(off, mts); err == nil {
			return o, t, nil
		}
		return off, mts, nil
	}
	if ts < 0 {
		return -1, -1, fmt.Errorf("%w: timestamp %d", ErrInvalidTimestamp, ts)
	}
	off, recTS, err := p.log.TimeLookup(ts)
	if errors.Is(err, commitlog.ErrNotFound) {
		return -1, -1, nil
	}
	if err != nil {
		return -1, -1, fmt.Errorf("offset for time %s-%d: %w", topic, part, logErr(err))
	}
	return off, recTS, nil
}
