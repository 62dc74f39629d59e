package share

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/record"
)

// Headers of a dead-letter record. Values are UTF-8 strings. Group,
// Topic, Partition, Offset, DeliveryCount and Message are KIP-1191's
// context headers with Apache Kafka's names; Timestamp (the original
// record's, Unix ms) and Reason (machine-readable: rejected,
// delivery_limit, lock_timeout) are Eddy's additions.
const (
	HeaderGroup         = "__dlq.errors.group"
	HeaderTopic         = "__dlq.errors.topic"
	HeaderPartition     = "__dlq.errors.partition"
	HeaderOffset        = "__dlq.errors.offset"
	HeaderDeliveryCount = "__dlq.errors.delivery.count"
	HeaderMessage       = "__dlq.errors.message"
	HeaderTimestamp     = "__dlq.errors.timestamp"
	HeaderReason        = "__dlq.errors.reason"
)

// message is the human-readable cause written to HeaderMessage.
func (p Pending) message() string {
	switch p.Reason {
	case ReasonRejected:
		return "rejected by a consumer"
	case ReasonDeliveryLimit:
		return fmt.Sprintf("released after delivery %d, the last share.delivery.count.limit permits", p.Deliveries)
	case ReasonLockTimeout:
		return fmt.Sprintf("acquisition lock timed out on delivery %d, the last share.delivery.count.limit permits", p.Deliveries)
	}
	return "undeliverable"
}

// dlqBatch is how many pending records one dead-letter write carries.
const dlqBatch = 200

// deadLetter writes the partition's Archiving records to the group's
// dead-letter topic, exactly once: before the first attempt it notes
// durably where in the dead-letter partition the write will land; every
// attempt first scans from there for records it already wrote (a crash or
// a failed wait after the append), and only writes the rest. Records stay
// Archiving (in flight, never redelivered) until their write is durable.
func (c *Coordinator) deadLetter(g *group, sp *sharePart) {
	for {
		n, err := c.deadLetterOnce(g, sp)
		if err != nil {
			sp.dlqFails++
			wait := min(100*time.Millisecond<<min(sp.dlqFails-1, 7), 10*time.Second)
			sp.dlqRetryAt.Store(c.now().Add(wait).UnixNano())
			c.log.Warn("dead-letter write failed; the records stay in flight and the write is retried", "group", g.name, "topic", sp.key.Topic, "partition", sp.key.Partition, "retry_in", wait, "err", err)
			return
		}
		sp.dlqFails = 0
		if n < dlqBatch {
			return
		}
	}
}

func (c *Coordinator) deadLetterOnce(g *group, sp *sharePart) (int, error) {
	gc := g.config()
	if gc.DLQTopic == "" {
		return 0, nil
	}
	info, err := c.b.Topic(gc.DLQTopic)
	if err != nil {
		return 0, fmt.Errorf("dead-letter topic %s: %w", gc.DLQTopic, err)
	}
	if info.Overrides[TopicConfigDLQEnable] != "true" {
		return 0, fmt.Errorf("dead-letter topic %s does not have %s=true", gc.DLQTopic, TopicConfigDLQEnable)
	}
	dpart := sp.key.Partition % info.Partitions
	_, _, end, err := c.b.Offsets(gc.DLQTopic, dpart)
	if err != nil {
		return 0, err
	}

	sp.mu.Lock()
	pend := sp.p.PendingDLQ(dlqBatch)
	noted := false
	for i := range pend {
		if pend[i].DLQFrom < 0 {
			sp.p.NoteDLQFrom(pend[i].Offset, end)
			pend[i].DLQFrom = end
			noted = true
		}
	}
	sp.mu.Unlock()
	if len(pend) == 0 {
		return 0, nil
	}
	if noted {
		if err := c.persist(sp); err != nil {
			return 0, err
		}
	}

	from := pend[0].DLQFrom
	for _, p := range pend {
		from = min(from, p.DLQFrom)
	}
	landed, err := c.scanLanded(gc.DLQTopic, dpart, from, g.name, sp.key)
	if err != nil {
		return 0, err
	}
	var todo []Pending
	for _, p := range pend {
		if !landed[p.Offset] {
			todo = append(todo, p)
		}
	}
	if len(todo) > 0 {
		orig, err := c.readRecords(sp.key.Topic, sp.key.Partition, todo)
		if err != nil {
			return 0, err
		}
		batch := buildDLQBatch(c.now(), g.name, sp.key, todo, orig, gc.DLQCopyRecord)
		wr, err := c.b.Write(gc.DLQTopic, dpart, batch, broker.WriteOptions{})
		if err != nil {
			return 0, fmt.Errorf("write dead-letter batch: %w", err)
		}
		if err := wr.Wait(); err != nil {
			return 0, fmt.Errorf("wait dead-letter batch: %w", err)
		}
	}
	sp.mu.Lock()
	for _, p := range pend {
		sp.p.DLQDone(p.Offset)
	}
	sp.mu.Unlock()
	if err := c.persist(sp); err != nil {
		return 0, err
	}
	c.wake()
	return len(pend), nil
}

// scanLanded returns the source offsets of k that dead-letter records
// from offset from onwards already carry.
func (c *Coordinator) scanLanded(topic string, part int32, from int64, group string, k Key) (map[int64]bool, error) {
	landed := map[int64]bool{}
	off := from
	for {
		res, err := c.b.Fetch(topic, part, off, 1<<20)
		if err != nil {
			if errors.Is(err, broker.ErrOffsetOutOfRange) && off < res.LogStartOffset {
				off = res.LogStartOffset
				continue
			}
			return nil, fmt.Errorf("scan dead-letter topic %s-%d: %w", topic, part, err)
		}
		if len(res.Batches) == 0 {
			return landed, nil
		}
		recs, next := decodeRecords(res.Batches)
		for _, r := range recs {
			if hdr(r, HeaderGroup) == group && hdr(r, HeaderTopic) == k.Topic && hdr(r, HeaderPartition) == strconv.Itoa(int(k.Partition)) {
				if o, err := strconv.ParseInt(hdr(r, HeaderOffset), 10, 64); err == nil {
					landed[o] = true
				}
			}
		}
		if next <= off {
			return landed, nil
		}
		off = next
	}
}

func hdr(r *Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// Record is a decoded record of a partition.
type Record struct {
	Offset    int64
	Timestamp time.Time
	Key       []byte // nil is null
	Value     []byte // nil is null
	Headers   []Header
}

// Header is a record header.
type Header struct {
	Key   string
	Value []byte
}

// DecodeRecords decodes stored batches (control records skipped); next is
// the offset after the last batch, -1 when there is none.
func DecodeRecords(batches []byte) (recs []*Record, next int64, err error) {
	next = -1
	err = record.ForEachInBatches(batches, func(h *record.BatchHeader, r *record.Record) error {
		next = h.LastOffset() + 1
		if h.IsControl() {
			return nil
		}
		out := &Record{Offset: r.Offset, Timestamp: time.UnixMilli(r.Timestamp), Key: clone(r.Key), Value: clone(r.Value)}
		for _, rh := range r.Headers {
			out.Headers = append(out.Headers, Header{Key: string(rh.Key), Value: clone(rh.Value)})
		}
		recs = append(recs, out)
		return nil
	})
	return recs, next, err
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}

func decodeRecords(batches []byte) ([]*Record, int64) {
	recs, next, _ := DecodeRecords(batches)
	return recs, next
}

// readRecords reads the original records at the pending offsets; an
// offset missing from the result is gone (retention) or was a gap.
func (c *Coordinator) readRecords(topic string, part int32, pend []Pending) (map[int64]*Record, error) {
	out := map[int64]*Record{}
	for _, p := range pend {
		if _, ok := out[p.Offset]; ok {
			continue
		}
		res, err := c.b.Fetch(topic, part, p.Offset, 1)
		if err != nil {
			if errors.Is(err, broker.ErrOffsetOutOfRange) {
				continue
			}
			return nil, fmt.Errorf("read %s-%d at %d: %w", topic, part, p.Offset, err)
		}
		recs, _ := decodeRecords(res.Batches)
		for _, r := range recs {
			out[r.Offset] = r
		}
	}
	return out, nil
}

// BatchRecord is one record for BuildBatch.
type BatchRecord struct {
	Key, Value []byte // nil is null
	Headers    []Header
	Timestamp  time.Time
}

// BuildBatch encodes records as one uncompressed RecordBatch v2 (base
// offset 0; the broker assigns offsets).
func BuildBatch(recs []BatchRecord) []byte {
	if len(recs) == 0 {
		return nil
	}
	base := recs[0].Timestamp.UnixMilli()
	b := record.NewBuilder(record.NewHeader(base))
	for i, r := range recs {
		b.BeginRecord(int32(i), r.Timestamp.UnixMilli()-base, r.Key, r.Value, len(r.Headers))
		for _, h := range r.Headers {
			b.AddHeader(h.Key, h.Value)
		}
		b.EndRecord()
	}
	out, _ := b.Finish(record.CodecNone) // uncompressed cannot fail
	return append([]byte(nil), out...)
}

func buildDLQBatch(now time.Time, group string, k Key, todo []Pending, orig map[int64]*Record, copyRecord bool) []byte {
	recs := make([]BatchRecord, 0, len(todo))
	for _, p := range todo {
		r := BatchRecord{Timestamp: now, Headers: []Header{
			{HeaderGroup, []byte(group)},
			{HeaderTopic, []byte(k.Topic)},
			{HeaderPartition, []byte(strconv.Itoa(int(k.Partition)))},
			{HeaderOffset, []byte(strconv.FormatInt(p.Offset, 10))},
			{HeaderDeliveryCount, []byte(strconv.Itoa(int(p.Deliveries)))},
			{HeaderMessage, []byte(p.message())},
			{HeaderReason, []byte(p.Reason.String())},
		}}
		if o := orig[p.Offset]; o != nil {
			r.Headers = append(r.Headers, Header{HeaderTimestamp, []byte(strconv.FormatInt(o.Timestamp.UnixMilli(), 10))})
			if copyRecord {
				r.Key, r.Value = o.Key, o.Value
				for _, h := range o.Headers {
					r.Headers = append(r.Headers, Header{h.Key, h.Value})
				}
			}
		}
		recs = append(recs, r)
	}
	return BuildBatch(recs)
}
