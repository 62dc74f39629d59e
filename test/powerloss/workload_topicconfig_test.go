package powerloss

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
)

// topicConfigWorkload alters one topic's retention.ms to ever-growing
// values, creates a topic with its own config in every life and deletes the
// previous life's; it checks that the config never goes back past an
// acknowledged alter, that every acknowledged topic exists with its config
// until a deletion was sent, and that no acknowledged deletion is undone.
type topicConfigWorkload struct {
	topic string

	mu       sync.Mutex
	next     int64
	ackedMs  int64 // highest acknowledged retention.ms
	sentMs   int64
	alters   int64
	created  map[string]string // acknowledged topic → its retention.ms
	deleting map[string]bool   // deletion sent
	deleted  map[string]bool   // deletion acknowledged
	ops      int64
	lost     int64
}

func (w *topicConfigWorkload) name() string { return "topic configs " + w.topic }

const baseRetentionMs = 1_000_000_000

func (w *topicConfigWorkload) setup(ctx context.Context, e *env) error {
	w.created = map[string]string{}
	w.deleting, w.deleted = map[string]bool{}, map[string]bool{}
	w.next = baseRetentionMs
	ms := strconv.FormatInt(w.next, 10)
	resp, err := e.adm.CreateTopic(ctx, 1, 1, map[string]*string{"retention.ms": &ms}, w.topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("create topic %s: %w", w.topic, err)
	}
	w.ackedMs, w.sentMs = w.next, w.next
	return nil
}

func (w *topicConfigWorkload) run(ctx context.Context, e *env) {
	// The previous life's topic goes (a partition directory removed and
	// its parent fsynced), one new topic per life comes, with a config of
	// its own.
	prev := fmt.Sprintf("%s-life%d", w.topic, e.life-1)
	w.mu.Lock()
	_, ok := w.created[prev]
	if ok {
		w.deleting[prev] = true
	}
	w.mu.Unlock()
	if ok {
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := e.adm.DeleteTopic(cctx, prev)
		cancel()
		if err == nil && resp.Err == nil {
			w.mu.Lock()
			w.deleted[prev] = true
			w.ops++
			w.mu.Unlock()
		}
	}
	name := fmt.Sprintf("%s-life%d", w.topic, e.life)
	ms := strconv.Itoa(3_600_000 + e.life)
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	resp, err := e.adm.CreateTopic(cctx, 1, 1, map[string]*string{"retention.ms": &ms}, name)
	cancel()
	if err == nil && resp.Err == nil {
		w.mu.Lock()
		w.created[name] = ms
		w.ops++
		w.mu.Unlock()
	}
	for ctx.Err() == nil {
		w.mu.Lock()
		w.next++
		v := w.next
		w.sentMs = v
		w.mu.Unlock()
		s := strconv.FormatInt(v, 10)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := e.adm.AlterTopicConfigs(cctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: &s}}, w.topic)
		cancel()
		if err == nil && len(resp) == 1 && resp[0].Err == nil {
			w.mu.Lock()
			w.alters++
			w.ackedMs = max(w.ackedMs, v)
			w.mu.Unlock()
		}
		sleepCtx(ctx, time.Duration(5+e.intN(20))*time.Millisecond)
	}
}

func (w *topicConfigWorkload) check(ctx context.Context, e *env, final bool, r *report) {
	w.mu.Lock()
	defer w.mu.Unlock()
	topics := []string{w.topic}
	for t := range w.created {
		if !w.deleted[t] {
			topics = append(topics, t)
		}
	}
	for t := range w.deleted {
		topics = append(topics, t)
	}
	rcs, err := e.adm.DescribeTopicConfigs(ctx, topics...)
	if err != nil {
		r.problem("describe topic configs: %v", err)
		return
	}
	for _, rc := range rcs {
		var ms string
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" && c.Value != nil {
				ms = *c.Value
			}
		}
		if w.deleted[rc.Name] {
			if rc.Err == nil {
				w.lost++
				r.problem("topic %s after cut %d: acknowledged deletion undone", rc.Name, e.life)
				delete(w.deleted, rc.Name) // counted once
			}
			delete(w.created, rc.Name)
			continue
		}
		if rc.Err != nil {
			if !w.deleting[rc.Name] {
				w.lost++
				r.problem("topic %s after cut %d: acknowledged, now %v", rc.Name, e.life, rc.Err)
			}
			delete(w.created, rc.Name)
			continue
		}
		if rc.Name != w.topic {
			if ms != w.created[rc.Name] {
				w.lost++
				r.problem("topic %s after cut %d: retention.ms %q, created with %q", rc.Name, e.life, ms, w.created[rc.Name])
			}
			continue
		}
		got, _ := strconv.ParseInt(ms, 10, 64)
		if got < w.ackedMs {
			w.lost++
			r.problem("topic %s after cut %d: retention.ms %d, but %d was acknowledged", w.topic, e.life, got, w.ackedMs)
		}
		if got > w.sentMs {
			r.problem("topic %s: retention.ms %d was never sent (highest %d)", w.topic, got, w.sentMs)
		}
		w.ackedMs = got // from here on, what survived is the reference
	}
	if final {
		r.add(w.alters+w.ops, w.lost, 0, 0)
	}
}
