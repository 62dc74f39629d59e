package share

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// Headers of a dead-letter record (KIP-1191's context headers, plus the
// timestamp and reason). Values are UTF-8 strings.
const (
	HeaderGroup         = "__dlq.errors.group.id"
	HeaderTopic         = "__dlq.errors.topic"
	HeaderPartition     = "__dlq.errors.partition"
	HeaderOffset        = "__dlq.errors.offset"
	HeaderTimestamp     = "__dlq.errors.timestamp"
	HeaderDeliveryCount = "__dlq.errors.delivery.count"
	HeaderReason        = "__dlq.errors.reason"
)

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
			c.log.Warn("dead-letter write failed; retrying", "group", g.name, "topic", sp.key.Topic, "partition", sp.key.Partition, "err", err)
			return
		}
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
	if noted {
		sp.seq++
	}
	seq := sp.seq
	sp.mu.Unlock()
	if len(pend) == 0 {
		return 0, nil
	}
	if noted {
		if err := c.persist(sp, seq); err != nil {
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
		wr, err := c.b.Write(gc.DLQTopic, dpart, batch)
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
	sp.seq++
	seq = sp.seq
	sp.mu.Unlock()
	if err := c.persist(sp, seq); err != nil {
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
		recs, next := decodeRecords(topic, part, res.Batches)
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

func hdr(r *kgo.Record, k string) string {
	for _, h := range r.Headers {
		if h.Key == k {
			return string(h.Value)
		}
	}
	return ""
}

// decodeRecords decodes stored batches; next is the offset after the last
// batch.
func decodeRecords(topic string, part int32, batches []byte) ([]*kgo.Record, int64) {
	fp := kmsg.NewFetchResponseTopicPartition()
	fp.Partition = part
	fp.RecordBatches = batches
	fp.HighWatermark, fp.LastStableOffset, fp.LogStartOffset = -1, -1, -1
	out, _ := kgo.ProcessFetchPartition(kgo.ProcessFetchPartitionOpts{Topic: topic, Partition: part, KeepControlRecords: true}, &fp, kgo.DefaultDecompressor(), nil)
	next := int64(-1)
	b := batches
	for len(b) >= 61 {
		size := int(binary.BigEndian.Uint32(b[8:])) + 12
		if size > len(b) {
			break
		}
		next = int64(binary.BigEndian.Uint64(b[0:])) + int64(binary.BigEndian.Uint32(b[23:])) + 1
		b = b[size:]
	}
	return out.Records, next
}

// readRecords reads the original records at the pending offsets; an
// offset missing from the result is gone (retention) or was a gap.
func (c *Coordinator) readRecords(topic string, part int32, pend []Pending) (map[int64]*kgo.Record, error) {
	out := map[int64]*kgo.Record{}
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
		recs, _ := decodeRecords(topic, part, res.Batches)
		for _, r := range recs {
			out[r.Offset] = r
		}
	}
	return out, nil
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Header is a record header for BuildBatch.
type Header struct {
	Key   string
	Value []byte
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
	maxTS := base
	b := make([]byte, 61, 61+64*len(recs))
	var body []byte
	for i, r := range recs {
		ts := r.Timestamp.UnixMilli()
		maxTS = max(maxTS, ts)
		body = body[:0]
		body = append(body, 0)
		body = binary.AppendVarint(body, ts-base)
		body = binary.AppendVarint(body, int64(i))
		body = appendBytes(body, r.Key)
		body = appendBytes(body, r.Value)
		body = binary.AppendVarint(body, int64(len(r.Headers)))
		for _, h := range r.Headers {
			body = appendBytes(body, []byte(h.Key))
			body = appendBytes(body, h.Value)
		}
		b = binary.AppendVarint(b, int64(len(body)))
		b = append(b, body...)
	}
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-12))
	be.PutUint32(b[12:], 0xFFFFFFFF)
	b[16] = 2
	be.PutUint32(b[23:], uint32(len(recs)-1))
	be.PutUint64(b[27:], uint64(base))
	be.PutUint64(b[35:], uint64(maxTS))
	be.PutUint64(b[43:], 0xFFFFFFFFFFFFFFFF)
	be.PutUint16(b[51:], 0xFFFF)
	be.PutUint32(b[53:], 0xFFFFFFFF)
	be.PutUint32(b[57:], uint32(len(recs)))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

func appendBytes(b, v []byte) []byte {
	if v == nil {
		return binary.AppendVarint(b, -1)
	}
	b = binary.AppendVarint(b, int64(len(v)))
	return append(b, v...)
}

func buildDLQBatch(now time.Time, group string, k Key, todo []Pending, orig map[int64]*kgo.Record, copyRecord bool) []byte {
	recs := make([]BatchRecord, 0, len(todo))
	for _, p := range todo {
		r := BatchRecord{Timestamp: now, Headers: []Header{
			{HeaderGroup, []byte(group)},
			{HeaderTopic, []byte(k.Topic)},
			{HeaderPartition, []byte(strconv.Itoa(int(k.Partition)))},
			{HeaderOffset, []byte(strconv.FormatInt(p.Offset, 10))},
			{HeaderDeliveryCount, []byte(strconv.Itoa(int(p.Deliveries)))},
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
