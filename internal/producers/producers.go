// Package producers implements Kafka idempotent producers for Eddy:
// producer id allocation (InitProducerId) that stays unique across
// restarts, and per-partition sequence checks that plug into the broker's
// append path (broker.AppendHook) so a retried batch is acknowledged with
// its original offsets instead of being written twice.
//
// Behaviour follows Kafka's ProducerStateManager for client appends:
//   - a batch whose producer id and epoch match and whose first and last
//     sequence equal one of the producer's last 5 batches on the partition is
//     a duplicate: acknowledged with that batch's offsets, not written;
//   - an older epoch is fenced (ErrInvalidProducerEpoch);
//   - a newer epoch must start at sequence 0, the same epoch must continue at
//     last sequence + 1 (wrapping at MaxInt32), otherwise
//     ErrOutOfOrderSequence;
//   - a producer the partition does not know (new, or its state aged out or
//     was not in the scanned log tail) is accepted at any sequence, as Kafka
//     2.5+ does (KIP-360), so UNKNOWN_PRODUCER_ID is never returned.
//
// Transactions are not supported: InitProducerId with a transactional id
// fails with ErrTransactionsUnsupported, transactional or control batches
// with ErrTransactionalBatch.
//
// State is rebuilt at startup from each partition's log tail (Rebuild).
//
// Concurrency: a Manager is safe for concurrent use. The broker calls
// CheckAppend and RecordAppend under the partition lock, which orders them
// per partition; each partition's state also has its own mutex, and no lock
// is shared across partitions on the append path.
//
// Usage:
//
//	m, err := producers.New(producers.Config{Meta: store})
//	b, err := broker.Open(broker.Config{..., Hooks: []broker.AppendHook{m}})
//	err = m.Rebuild(b, 0) // after the broker opens, before serving
//	id, epoch, err := m.InitProducerID("")
package producers

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/record"
)

// Sentinel errors; internal/kafka maps them to Kafka codes.
var (
	// ErrOutOfOrderSequence: a batch's first sequence does not follow the
	// producer's last one on the partition (OUT_OF_ORDER_SEQUENCE_NUMBER).
	ErrOutOfOrderSequence = errors.New("out of order sequence number")
	// ErrInvalidProducerEpoch: a batch from an older epoch of the producer
	// (INVALID_PRODUCER_EPOCH).
	ErrInvalidProducerEpoch = errors.New("invalid producer epoch")
	// ErrDuplicateSequence: a multi-batch append repeating an earlier batch,
	// which cannot be acknowledged with one offset range
	// (DUPLICATE_SEQUENCE_NUMBER).
	ErrDuplicateSequence = errors.New("duplicate sequence number")
	// ErrTransactionsUnsupported: transactional ids, transactional batches
	// and the transaction APIs; Eddy has no transactions yet.
	ErrTransactionsUnsupported = errors.New("transactions are not supported by Eddy")
	// ErrTransactionalBatch: a produced batch marked transactional or
	// control; without transactions there is none it could belong to
	// (INVALID_TXN_STATE, as Kafka answers a transactional write outside a
	// transaction).
	ErrTransactionalBatch = errors.New("transactional batch without a transaction (Eddy has no transactions)")
)

const (
	bucketProducers = "producers"
	keyNextID       = "next_id"
	// maxBatches is how many batches per producer and partition are
	// remembered for duplicate detection, as Kafka (and the clients'
	// max.in.flight.requests.per.connection <= 5 rule).
	maxBatches = 5
)

// Config configures a Manager.
type Config struct {
	// Meta persists the producer id high-water mark. Required.
	Meta *meta.Store
	// Logger; default discard.
	Logger *slog.Logger
	// Registerer for metrics; default none.
	Registerer prometheus.Registerer
	// IDBlock is how many producer ids one meta write reserves. Default 1000.
	IDBlock int64
	// Expiration drops a producer's state on a partition after this long
	// without appends (producer.id.expiration.ms). Default 24 h.
	Expiration time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Manager allocates producer ids and checks sequences.
type Manager struct {
	cfg Config
	log *slog.Logger

	idMu        sync.Mutex
	next, limit int64

	mu    sync.Mutex
	parts map[partKey]*partState

	allocated, duplicates, rejected prometheus.Counter
	reg                             prometheus.Registerer
}

type partKey struct {
	topic string
	part  int32
}

type partState struct {
	mu        sync.Mutex
	producers map[int64]*producer
	appends   int
}

type producer struct {
	epoch     int16
	batches   []batchMeta // oldest first, at most maxBatches
	lastWrite time.Time
}

type batchMeta struct {
	firstSeq, lastSeq int32
	base, last        int64
	appendTime        int64
}

// New returns a Manager; producer ids continue after every id handed out
// before (a block reserved but not used is skipped).
func New(cfg Config) (*Manager, error) {
	if cfg.Meta == nil {
		return nil, errors.New("producers config: Meta is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.IDBlock <= 0 {
		cfg.IDBlock = 1000
	}
	if cfg.Expiration <= 0 {
		cfg.Expiration = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	m := &Manager{cfg: cfg, log: cfg.Logger, parts: map[partKey]*partState{}}
	v, err := cfg.Meta.Get(bucketProducers, keyNextID)
	if err != nil {
		return nil, fmt.Errorf("load producer id mark: %w", err)
	}
	if len(v) == 9 && v[0] == 1 {
		m.next = int64(binary.BigEndian.Uint64(v[1:]))
	} else if v != nil {
		return nil, fmt.Errorf("producer id mark of %d bytes: corrupt", len(v))
	}
	m.limit = m.next
	m.allocated = prometheus.NewCounter(prometheus.CounterOpts{Name: "eddy_producer_ids_allocated_total", Help: "Producer ids handed out by InitProducerId."})
	m.duplicates = prometheus.NewCounter(prometheus.CounterOpts{Name: "eddy_producer_duplicate_batches_total", Help: "Retried batches acknowledged without being written again."})
	m.rejected = prometheus.NewCounter(prometheus.CounterOpts{Name: "eddy_producer_rejected_batches_total", Help: "Batches refused for out-of-order sequences or fenced epochs."})
	if cfg.Registerer != nil {
		m.reg = cfg.Registerer
		for _, c := range []prometheus.Collector{m.allocated, m.duplicates, m.rejected} {
			if err := cfg.Registerer.Register(c); err != nil {
				m.log.Warn("register producer metric", "err", err)
			}
		}
	}
	return m, nil
}

// Close unregisters the metrics.
func (m *Manager) Close() error {
	if m.reg != nil {
		m.reg.Unregister(m.allocated)
		m.reg.Unregister(m.duplicates)
		m.reg.Unregister(m.rejected)
	}
	return nil
}

// InitProducerID answers InitProducerId for an idempotent producer: a new
// producer id with epoch 0, unique across restarts (the reserved block is
// fsynced before any id from it is returned). As Kafka, a request without a
// transactional id always gets a fresh id, even when it names its previous
// id and epoch (KIP-360). A non-empty transactional id fails with
// ErrTransactionsUnsupported.
func (m *Manager) InitProducerID(transactionalID string) (int64, int16, error) {
	if transactionalID != "" {
		return -1, -1, ErrTransactionsUnsupported
	}
	m.idMu.Lock()
	defer m.idMu.Unlock()
	if m.next >= m.limit {
		limit := m.next + m.cfg.IDBlock
		v := binary.BigEndian.AppendUint64([]byte{1}, uint64(limit))
		if err := m.cfg.Meta.Put(bucketProducers, keyNextID, v); err != nil {
			return -1, -1, fmt.Errorf("reserve producer ids: %w", err)
		}
		m.limit = limit
	}
	id := m.next
	m.next++
	m.allocated.Inc()
	return id, 0, nil
}

func (m *Manager) state(topic string, part int32) *partState {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := partKey{topic, part}
	s := m.parts[k]
	if s == nil {
		s = &partState{producers: map[int64]*producer{}}
		m.parts[k] = s
	}
	return s
}

// ForgetTopic implements broker.AppendHook: it drops the state of a deleted topic,
// so that a retry into a topic re-created under the same name is not
// acknowledged with the old topic's offsets.
func (m *Manager) ForgetTopic(topic string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.parts {
		if k.topic == topic {
			delete(m.parts, k)
		}
	}
}

func lastSeq(h *record.BatchHeader) int32 {
	return int32((int64(h.BaseSequence) + int64(h.LastOffsetDelta)) % (math.MaxInt32 + 1))
}

func inSequence(last, next int32) bool {
	return next == last+1 || (next == 0 && last == math.MaxInt32)
}

var _ broker.AppendHook = (*Manager)(nil)

// CheckAppend implements broker.AppendHook: it rejects out-of-order and
// fenced batches and reports a retried batch as a Duplicate.
func (m *Manager) CheckAppend(a broker.Append) (*broker.Duplicate, error) {
	topic, partition, hs := a.Topic, a.Partition, a.Headers
	idempotent := false
	for i := range hs {
		if hs[i].ProducerID >= 0 {
			idempotent = true
		}
		if hs[i].Attributes&(record.AttrTransactional|record.AttrControl) != 0 {
			return nil, ErrTransactionalBatch
		}
	}
	if !idempotent {
		return nil, nil
	}
	s := m.state(topic, partition)
	s.mu.Lock()
	defer s.mu.Unlock()
	pendingLast := map[int64]int32{}
	pendingEpoch := map[int64]int16{}
	for i := range hs {
		h := &hs[i]
		if h.ProducerID < 0 {
			continue
		}
		p := s.producers[h.ProducerID]
		if p != nil && h.ProducerEpoch == p.epoch {
			ls := lastSeq(h)
			for _, b := range p.batches {
				if b.firstSeq == h.BaseSequence && b.lastSeq == ls {
					m.duplicates.Inc()
					if len(hs) > 1 {
						return nil, fmt.Errorf("%w: producer %d sequence %d", ErrDuplicateSequence, h.ProducerID, h.BaseSequence)
					}
					return &broker.Duplicate{Base: b.base, Next: b.last + 1, LogAppendTime: b.appendTime}, nil
				}
			}
		}
		epoch, last, known := int16(0), int32(0), false
		if e, ok := pendingEpoch[h.ProducerID]; ok {
			epoch, last, known = e, pendingLast[h.ProducerID], true
		} else if p != nil {
			epoch, known = p.epoch, true
			last = -1
			if n := len(p.batches); n > 0 {
				last = p.batches[n-1].lastSeq
			}
		}
		if known {
			switch {
			case h.ProducerEpoch < epoch:
				m.rejected.Inc()
				return nil, fmt.Errorf("%w: producer %d epoch %d is older than %d", ErrInvalidProducerEpoch, h.ProducerID, h.ProducerEpoch, epoch)
			case h.ProducerEpoch > epoch:
				if h.BaseSequence != 0 {
					m.rejected.Inc()
					return nil, fmt.Errorf("%w: producer %d new epoch %d starts at sequence %d, not 0", ErrOutOfOrderSequence, h.ProducerID, h.ProducerEpoch, h.BaseSequence)
				}
			case last >= 0 && !inSequence(last, h.BaseSequence):
				m.rejected.Inc()
				return nil, fmt.Errorf("%w: producer %d sequence %d after %d", ErrOutOfOrderSequence, h.ProducerID, h.BaseSequence, last)
			}
		}
		pendingEpoch[h.ProducerID] = h.ProducerEpoch
		pendingLast[h.ProducerID] = lastSeq(h)
	}
	return nil, nil
}

// RecordAppend implements broker.AppendHook: it remembers the written
// batches' sequences and offsets.
func (m *Manager) RecordAppend(a broker.Append, base, appendTime int64) {
	topic, partition, hs := a.Topic, a.Partition, a.Headers
	var s *partState
	off := base
	now := m.cfg.Now()
	for i := range hs {
		h := &hs[i]
		first := off
		off += int64(h.LastOffsetDelta) + 1
		if h.ProducerID < 0 {
			continue
		}
		if s == nil {
			s = m.state(topic, partition)
			s.mu.Lock()
			defer s.mu.Unlock()
		}
		s.record(h, first, appendTime, now)
	}
	if s != nil {
		s.appends++
		if s.appends%1024 == 0 {
			s.expire(now, m.cfg.Expiration)
		}
	}
}

// record notes one written batch; caller holds s.mu.
func (s *partState) record(h *record.BatchHeader, base, appendTime int64, now time.Time) {
	p := s.producers[h.ProducerID]
	if p == nil || h.ProducerEpoch != p.epoch {
		p = &producer{epoch: h.ProducerEpoch}
		s.producers[h.ProducerID] = p
	}
	if len(p.batches) == maxBatches {
		copy(p.batches, p.batches[1:])
		p.batches = p.batches[:maxBatches-1]
	}
	p.batches = append(p.batches, batchMeta{
		firstSeq: h.BaseSequence, lastSeq: lastSeq(h),
		base: base, last: base + int64(h.LastOffsetDelta), appendTime: appendTime,
	})
	p.lastWrite = now
}

func (s *partState) expire(now time.Time, d time.Duration) {
	for id, p := range s.producers {
		if now.Sub(p.lastWrite) > d {
			delete(s.producers, id)
		}
	}
}

// DefaultRebuildTail is how many offsets below each high watermark Rebuild
// scans by default. A retry that a restart interrupts repeats one of the
// producer's last few batches, which sit at the very end of the log; the
// bound keeps startup cheap on large logs.
const DefaultRebuildTail = 10_000

// Rebuild restores producer state from the tail of every partition of b:
// the batches of the last tail offsets before each high watermark
// (DefaultRebuildTail when tail <= 0), four partitions at a time. Call it
// before serving appends. Producers whose batches all lie before the tail
// are treated as unknown (accepted at any sequence), as Kafka treats
// producers whose state expired.
func (m *Manager) Rebuild(b *broker.Broker, tail int64) error {
	if tail <= 0 {
		tail = DefaultRebuildTail
	}
	start := time.Now()
	now := m.cfg.Now()
	var batches atomic.Int64
	parts := b.Partitions()
	work := make(chan broker.PartitionStats)
	errs := make(chan error, len(parts))
	var wg sync.WaitGroup
	for range min(4, len(parts)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ps := range work {
				errs <- m.rebuildPartition(b, ps, tail, now, &batches)
			}
		}()
	}
	for _, ps := range parts {
		work <- ps
	}
	close(work)
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		if err != nil {
			all = append(all, err)
		}
	}
	if err := errors.Join(all...); err != nil {
		return err
	}
	m.log.Info("producer state rebuilt", "partitions", len(parts), "batches", batches.Load(), "took", time.Since(start).Round(time.Microsecond).String())
	return nil
}

func (m *Manager) rebuildPartition(b *broker.Broker, ps broker.PartitionStats, tail int64, now time.Time, batches *atomic.Int64) error {
	from := ps.HighWatermark - tail
	if from < ps.LogStartOffset {
		from = ps.LogStartOffset
	}
	if from >= ps.HighWatermark {
		return nil
	}
	s := m.state(ps.Topic, ps.Partition)
	s.mu.Lock()
	defer s.mu.Unlock()
	err := b.ScanBatches(ps.Topic, ps.Partition, from, func(h record.BatchHeader, _ []byte) error {
		if h.ProducerID < 0 || h.Attributes&record.AttrControl != 0 {
			return nil
		}
		at := int64(-1)
		if h.Attributes&record.AttrTimestampLogAppend != 0 {
			at = h.MaxTimestamp
		}
		s.record(&h, h.BaseOffset, at, now)
		batches.Add(1)
		return nil
	})
	if err != nil {
		return fmt.Errorf("rebuild producer state of %s-%d: %w", ps.Topic, ps.Partition, err)
	}
	return nil
}
