package powerloss

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceWorkload runs one idempotent producer (acks=all) per life, one
// sequence of records per partition, and checks that every acknowledged
// record is at the offset it was acknowledged at, exactly once, in
// sequence order, unless retention has deleted that offset.
type produceWorkload struct {
	topic      string
	partitions int32
	configs    map[string]string

	mu sync.Mutex
	// acked[p] are the acknowledged records of partition p.
	acked map[int32][]prodAck
	// sent[life][p] is the highest sequence number sent on p in that life.
	sent map[int]map[int32]int64
}

type prodAck struct {
	offset    int64
	life, seq int64
}

func (w *produceWorkload) name() string { return "produce " + w.topic }

func (w *produceWorkload) setup(ctx context.Context, e *env) error {
	w.acked = map[int32][]prodAck{}
	w.sent = map[int]map[int32]int64{}
	cfg := map[string]*string{}
	for k, v := range w.configs {
		cfg[k] = &v
	}
	resp, err := e.adm.CreateTopic(ctx, w.partitions, 1, cfg, w.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", w.topic, err)
	}
	return nil
}

// value encodes a record's identity: topic|life|partition|seq.
func (w *produceWorkload) value(life int, p int32, seq int64) []byte {
	return fmt.Appendf(nil, "%s|%d|%d|%d", w.topic, life, p, seq)
}

func parseValue(v []byte) (topic string, life int64, p int32, seq int64, ok bool) {
	f := strings.Split(string(v), "|")
	if len(f) != 4 {
		return "", 0, 0, 0, false
	}
	l, err1 := strconv.ParseInt(f[1], 10, 64)
	pp, err2 := strconv.ParseInt(f[2], 10, 32)
	s, err3 := strconv.ParseInt(f[3], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return "", 0, 0, 0, false
	}
	return f[0], l, int32(pp), s, true
}

func (w *produceWorkload) run(ctx context.Context, e *env) {
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(e.kafkaAddr),
		kgo.DefaultProduceTopic(w.topic),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2*time.Millisecond),
		kgo.MaxBufferedRecords(64),
		kgo.DialTimeout(time.Second),
		kgo.RecordDeliveryTimeout(20*time.Second),
	)
	if err != nil {
		return
	}
	w.mu.Lock()
	w.sent[e.life] = map[int32]int64{}
	w.mu.Unlock()
	var wg sync.WaitGroup
	for p := int32(0); p < w.partitions; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.produce(ctx, e, cl, p)
		}()
	}
	<-ctx.Done()
	cl.Close() // fails what is still buffered or in flight
	wg.Wait()
}

func (w *produceWorkload) produce(ctx context.Context, e *env, cl *kgo.Client, p int32) {
	inflight := make(chan struct{}, 8)
	var wg sync.WaitGroup
	defer wg.Wait()
	for seq := int64(0); ctx.Err() == nil; seq++ {
		select {
		case inflight <- struct{}{}:
		case <-ctx.Done():
			return
		}
		w.mu.Lock()
		w.sent[e.life][p] = seq
		w.mu.Unlock()
		r := &kgo.Record{Partition: p, Value: w.value(e.life, p, seq)}
		wg.Add(1)
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			<-inflight
			if err != nil {
				return
			}
			w.mu.Lock()
			w.acked[p] = append(w.acked[p], prodAck{offset: r.Offset, life: int64(e.life), seq: seq})
			w.mu.Unlock()
		})
	}
}

func (w *produceWorkload) check(ctx context.Context, e *env, final bool, r *report) {
	ends, err := e.adm.ListEndOffsets(ctx, w.topic)
	if err == nil {
		err = ends.Error()
	}
	if err != nil {
		r.problem("%s: list end offsets: %v", w.topic, err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if !final {
		// Cheap: the end must be past every acknowledged offset.
		for p, acks := range w.acked {
			end, _ := ends.Lookup(w.topic, p)
			for i := len(acks) - 1; i >= 0 && i >= len(acks)-1000; i-- { // the latest acks
				if a := acks[i]; a.offset >= end.Offset {
					r.problem("%s[%d] after cut %d: end offset %d, but offset %d was acknowledged (life %d seq %d)",
						w.topic, p, e.life, end.Offset, a.offset, a.life, a.seq)
					break
				}
			}
		}
		return
	}
	starts, err := e.adm.ListStartOffsets(ctx, w.topic)
	if err == nil {
		err = starts.Error()
	}
	if err != nil {
		r.problem("%s: list start offsets: %v", w.topic, err)
		return
	}
	var acked, lost, dup, reord, retained int64
	defer func() {
		if retained > 0 {
			r.note("%s: %d acknowledged records deleted by retention", w.topic, retained)
		}
	}()
	for p := int32(0); p < w.partitions; p++ {
		start, _ := starts.Lookup(w.topic, p)
		end, _ := ends.Lookup(w.topic, p)
		recs, err := readPartition(ctx, e.kafkaAddr, w.topic, p, start.Offset, end.Offset)
		if err != nil {
			r.problem("%s[%d]: read %d..%d: %v", w.topic, p, start.Offset, end.Offset, err)
			continue
		}
		byOffset := map[int64][]byte{}
		count := map[string]int{}
		last := map[int64]int64{} // life → last seq seen, along offsets
		for _, rec := range recs {
			byOffset[rec.Offset] = rec.Value
			count[string(rec.Value)]++
			topic, life, pp, seq, ok := parseValue(rec.Value)
			switch {
			case !ok || topic != w.topic || pp != p:
				r.problem("%s[%d]@%d: a record nobody sent here: %q", w.topic, p, rec.Offset, rec.Value)
				continue
			case seq > w.sent[int(life)][p] || w.sent[int(life)] == nil:
				r.problem("%s[%d]@%d: phantom record %q (never sent)", w.topic, p, rec.Offset, rec.Value)
			}
			if prev, seen := last[life]; seen && seq <= prev {
				reord++
				r.problem("%s[%d]@%d: life %d seq %d after seq %d", w.topic, p, rec.Offset, life, seq, prev)
			}
			last[life] = seq
		}
		for v, n := range count {
			if n > 1 {
				dup += int64(n - 1)
				r.problem("%s[%d]: %q stored %d times", w.topic, p, v, n)
			}
		}
		acks := w.acked[p]
		sort.Slice(acks, func(i, j int) bool { return acks[i].offset < acks[j].offset })
		for _, a := range acks {
			acked++
			if a.offset < start.Offset {
				retained++
				continue // deleted by retention
			}
			want := w.value(int(a.life), p, a.seq)
			got, ok := byOffset[a.offset]
			if !ok || string(got) != string(want) {
				lost++
				r.problem("%s[%d]@%d: acknowledged %q lost (found %q)", w.topic, p, a.offset, want, got)
			}
		}
	}
	r.add(acked, lost, dup, reord)
}

// readPartition reads offsets [from, to) of one partition.
func readPartition(ctx context.Context, addr, topic string, p int32, from, to int64) ([]*kgo.Record, error) {
	if from >= to {
		return nil, nil
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().At(from)}}),
		kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var out []*kgo.Record
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("read stopped at %d records: %w", len(out), err)
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) {
			if !errors.Is(err, kerr.OffsetOutOfRange) {
				ferr = err
			}
		})
		if ferr != nil {
			return out, ferr
		}
		for _, rec := range fs.Records() {
			if rec.Offset >= to {
				return out, nil
			}
			out = append(out, rec)
			if rec.Offset == to-1 {
				return out, nil
			}
		}
	}
}
