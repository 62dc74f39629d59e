package httpapi

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/eddy-streaming/eddy/internal/share"
)

// HeaderRedrivenFrom is added to a redriven dead letter: the dead-letter
// topic, partition and offset it was copied from ("dlq.jobs/0@17"), as
// `eddy dlq redrive` writes it.
const HeaderRedrivenFrom = "__dlq.redriven.from"

// maxRedrive bounds the dead letters one redrive request names.
const maxRedrive = 1000

// RedriveRequest is the body of POST /v1/topics/{topic}/redrive.
type RedriveRequest struct {
	Partition int32   `json:"partition"`
	Offsets   []int64 `json:"offsets"`
	// From and Count name a range instead of Offsets: the records at
	// offsets From to From+Count-1 (at most 1,000; offsets past the high
	// watermark, and control records, are skipped). Next in the answer
	// is where the following range starts.
	From  *int64 `json:"from,omitempty"`
	Count int64  `json:"count,omitempty"`
	// To, when set, names the topic to write to instead of each record's
	// original one: a record with a key goes to the partition its key
	// maps to there (murmur2, as Kafka's default partitioner and `eddy dlq
	// redrive --to`), one without a key to its original partition number
	// modulo To's partition count.
	To string `json:"to,omitempty"`
	// DryRun reports where each record would go without writing; it is
	// allowed without --console-write.
	DryRun bool `json:"dryRun"`
}

// Redriven is one dead letter of a redrive answer.
type Redriven struct {
	Offset    int64  `json:"offset"`
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	// NewOffset is where the copy landed (absent in a dry run).
	NewOffset *int64 `json:"newOffset,omitempty"`
}

// RedriveResult is the answer of POST /v1/topics/{topic}/redrive.
type RedriveResult struct {
	DryRun   bool       `json:"dryRun"`
	Redriven []Redriven `json:"redriven"`
	// Next is the offset after the range (range requests only).
	Next *int64 `json:"next,omitempty"`
	// HighWatermark is the dead-letter partition's high watermark (range
	// requests only), so a client can show its progress.
	HighWatermark *int64 `json:"highWatermark,omitempty"`
}

type redriveRecord struct {
	src       int64
	topic     string
	part      int32
	key, val  []byte
	headers   []record.Header
	timestamp int64
}

// redrive is POST /v1/topics/{topic}/redrive: it writes the named dead
// letters of a dead-letter topic back to the topic and partition their
// __dlq.errors.* headers name, with their key, value and other headers and
// a __dlq.redriven.from header. The dead letters stay where they are. It
// does not move the progress of `eddy dlq redrive` (its consumer group).
func (h *adminRoutes) redrive(w http.ResponseWriter, r *http.Request) error {
	dlq := r.PathValue("topic")
	var req RedriveRequest
	if err := decodeBody(r, w, &req, `{"partition": 0, "offsets": [17, 18], "dryRun": false}`); err != nil {
		return err
	}
	ranged := req.From != nil
	switch {
	case ranged && len(req.Offsets) > 0:
		return BadRequest("offsets", "name offsets or from/count, not both")
	case ranged && (req.Count < 1 || req.Count > maxRedrive):
		return BadRequest("count", "%d: redrive 1 to %d records a request", req.Count, maxRedrive)
	case !ranged && (len(req.Offsets) == 0 || len(req.Offsets) > maxRedrive):
		return BadRequest("offsets", "name 1 to %d dead-letter offsets (or a range with from and count)", maxRedrive)
	}
	if !req.DryRun && !h.o.AllowWrites {
		return ErrWritesDisabled
	}
	info, err := h.b.Topic(dlq)
	if err != nil {
		return err
	}
	if req.Partition < 0 || req.Partition >= info.Partitions {
		return BadRequest("partition", "%d: %s has partitions 0 to %d", req.Partition, dlq, info.Partitions-1)
	}
	var toParts int32
	if req.To != "" {
		if req.To == dlq {
			return BadRequest("to", "%s is the dead-letter topic itself; name another topic or leave to out to redrive to the original topics", dlq)
		}
		if !Allowed(r, opWrite, rtTopic, req.To) {
			return Forbidden(opWrite, rtTopic, req.To)
		}
		tinfo, err := h.b.Topic(req.To)
		if err != nil {
			return fmt.Errorf("redrive target: %w", err)
		}
		toParts = tinfo.Partitions
	}
	start, hw, _, err := h.b.Offsets(dlq, req.Partition)
	if err != nil {
		return err
	}
	br := &browse{b: h.b, topic: dlq, part: req.Partition}
	var recs []redriveRecord
	var bad error
	// take turns one dead letter into what is written back.
	take := func(rec *record.Record) bool {
		off := rec.Offset
		t, _ := rec.Header(share.HeaderTopic)
		ps, _ := rec.Header(share.HeaderPartition)
		p, perr := strconv.ParseInt(string(ps), 10, 32)
		if len(t) == 0 || perr != nil {
			bad = BadRequest("offsets", "%s/%d@%d has no %s/%s headers: not a dead letter", dlq, req.Partition, off, share.HeaderTopic, share.HeaderPartition)
			return false
		}
		rr := redriveRecord{src: off, topic: string(t), part: int32(p), key: clone(rec.Key), val: clone(rec.Value), timestamp: rec.Timestamp}
		for _, hd := range rec.Headers {
			if !strings.HasPrefix(string(hd.Key), "__dlq.") {
				rr.headers = append(rr.headers, record.Header{Key: clone(hd.Key), Value: clone(hd.Value)})
			}
		}
		rr.headers = append(rr.headers, record.Header{Key: []byte(HeaderRedrivenFrom), Value: fmt.Appendf(nil, "%s/%d@%d", dlq, req.Partition, off)})
		if req.To != "" {
			rr.topic = req.To
			if rec.Key != nil {
				rr.part = eventstore.Partition(rec.Key, toParts)
			} else {
				rr.part %= toParts
			}
			recs = append(recs, rr)
			return true
		}
		if !Allowed(r, opWrite, rtTopic, rr.topic) {
			// Redriving writes to the original topic.
			bad = Forbidden(opWrite, rtTopic, rr.topic)
			return false
		}
		tinfo, err := h.b.Topic(rr.topic)
		if err != nil {
			bad = fmt.Errorf("original topic of %s/%d@%d: %w", dlq, req.Partition, off, err)
			return false
		}
		if rr.part < 0 || rr.part >= tinfo.Partitions {
			bad = BadRequest("offsets", "%s/%d@%d came from partition %d of %s, which has %d now", dlq, req.Partition, off, rr.part, rr.topic, tinfo.Partitions)
			return false
		}
		recs = append(recs, rr)
		return true
	}
	var next int64
	if ranged {
		from := max(*req.From, start)
		to := min(from+req.Count, hw)
		if err := br.scan(from, to, take); err != nil {
			return err
		}
		next = max(to, from)
	} else {
		offsets := slices.Clone(req.Offsets)
		slices.Sort(offsets)
		offsets = slices.Compact(offsets)
		for _, off := range offsets {
			if off < start || off >= hw {
				return BadRequest("offsets", "%s/%d has no record at offset %d (it holds %d to %d)", dlq, req.Partition, off, start, hw-1)
			}
			n := len(recs)
			err := br.scan(off, off+1, take)
			if err != nil {
				return err
			}
			if bad != nil {
				break
			}
			if len(recs) == n {
				return BadRequest("offsets", "%s/%d has no record at offset %d", dlq, req.Partition, off)
			}
		}
	}
	if bad != nil {
		return bad
	}
	res := RedriveResult{DryRun: req.DryRun, Redriven: []Redriven{}}
	if ranged {
		res.Next, res.HighWatermark = &next, &hw
	}
	if req.DryRun {
		for _, rr := range recs {
			res.Redriven = append(res.Redriven, Redriven{Offset: rr.src, Topic: rr.topic, Partition: rr.part})
		}
		writeCompactJSON(w, http.StatusOK, res)
		return nil
	}
	// One batch per original partition, records in dead-letter order.
	type target struct {
		topic string
		part  int32
	}
	var order []target
	groups := map[target][]redriveRecord{}
	for _, rr := range recs {
		t := target{rr.topic, rr.part}
		if _, ok := groups[t]; !ok {
			order = append(order, t)
		}
		groups[t] = append(groups[t], rr)
	}
	now := time.Now().UnixMilli()
	for _, t := range order {
		b := record.NewBuilder(record.NewHeader(now))
		for i, rr := range groups[t] {
			b.BeginRecord(int32(i), 0, rr.key, rr.val, len(rr.headers))
			for _, hd := range rr.headers {
				b.AddHeader(string(hd.Key), hd.Value)
			}
			b.EndRecord()
		}
		batch, err := b.Finish(record.CodecNone)
		if err != nil {
			return fmt.Errorf("build redrive batch for %s/%d: %w", t.topic, t.part, err)
		}
		wr, err := h.b.Append(t.topic, t.part, slices.Clone(batch))
		if err != nil {
			return fmt.Errorf("redrive to %s/%d: %w", t.topic, t.part, err)
		}
		if err := wr.Wait(); err != nil {
			return fmt.Errorf("redrive to %s/%d: %w", t.topic, t.part, err)
		}
		for i, rr := range groups[t] {
			off := wr.Base + int64(i)
			res.Redriven = append(res.Redriven, Redriven{Offset: rr.src, Topic: t.topic, Partition: t.part, NewOffset: &off})
		}
	}
	writeCompactJSON(w, http.StatusOK, res)
	return nil
}

func clone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append([]byte{}, b...)
}
