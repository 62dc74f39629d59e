package powerloss

import (
	"context"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// offsetsWorkload commits ever-growing offsets for a consumer group (simple
// commits, as a consumer that manages its own assignment) and checks after
// every restart that no partition's committed offset went back past an
// acknowledged commit, nor forward past anything ever sent.
type offsetsWorkload struct {
	group      string
	topic      string
	partitions int32

	mu    sync.Mutex
	next  int64           // next offset to commit, across lives
	acked map[int32]int64 // highest acknowledged commit per partition
	sent  int64           // highest offset ever sent in a commit
	count int64           // acknowledged commits
	lost  int64
}

func (w *offsetsWorkload) name() string { return "offsets " + w.group }

func (w *offsetsWorkload) setup(ctx context.Context, e *env) error {
	w.acked = map[int32]int64{}
	return nil // the topic belongs to a produce workload
}

func (w *offsetsWorkload) run(ctx context.Context, e *env) {
	for ctx.Err() == nil {
		w.mu.Lock()
		w.next++
		off := w.next
		w.sent = off
		w.mu.Unlock()
		os := kadm.Offsets{}
		for p := int32(0); p < w.partitions; p++ {
			os.Add(kadm.Offset{Topic: w.topic, Partition: p, At: off, LeaderEpoch: -1})
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := e.adm.CommitOffsets(cctx, w.group, os)
		cancel()
		if err != nil {
			continue
		}
		w.mu.Lock()
		resp.Each(func(o kadm.OffsetResponse) {
			if o.Err == nil && o.Topic == w.topic {
				w.count++
				w.acked[o.Partition] = max(w.acked[o.Partition], o.At)
			}
		})
		w.mu.Unlock()
		sleepCtx(ctx, time.Duration(e.intN(5))*time.Millisecond)
	}
}

func (w *offsetsWorkload) check(ctx context.Context, e *env, final bool, r *report) {
	resp, err := e.adm.FetchOffsets(ctx, w.group)
	if err != nil {
		r.problem("%s: fetch offsets: %v", w.group, err)
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for p := int32(0); p < w.partitions; p++ {
		got, ok := resp.Lookup(w.topic, p)
		have := int64(-1)
		if ok && got.Err == nil {
			have = got.At
		}
		if want, acked := w.acked[p]; acked && have < want {
			w.lost++
			r.problem("%s %s[%d] after cut %d: committed offset %d, but %d was acknowledged", w.group, w.topic, p, e.life, have, want)
		}
		if have > w.sent {
			r.problem("%s %s[%d]: committed offset %d was never sent (highest sent %d)", w.group, w.topic, p, have, w.sent)
		}
		// From here on what survived is the reference: a commit that survived
		// unacknowledged was read back, and a loss is counted once.
		w.acked[p] = have
	}
	if final {
		r.add(w.count, w.lost, 0, 0)
	}
}
