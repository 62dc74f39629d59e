package eventstore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// Aggregate is state rebuilt from its stream's events.
type Aggregate interface {
	// Apply changes the state by one event.
	Apply(ev RecordedEvent) error
}

// Repository loads and saves aggregates of one kind kept in one topic, one
// stream per aggregate id: the seed tutorial's RebuildAggregate<T>, with
// optimistic concurrency.
type Repository[A Aggregate] struct {
	c     *Client
	topic string
	newA  func() A
	// MaxRetries bounds Update's reload-and-retry on conflicts; default 10.
	MaxRetries int
}

// NewRepository returns a repository for aggregates made by newA.
func NewRepository[A Aggregate](c *Client, topic string, newA func() A) *Repository[A] {
	return &Repository[A]{c: c, topic: topic, newA: newA, MaxRetries: 10}
}

// Load replays the stream id into a new aggregate. version is the
// version of the last event applied, -1 for a stream without events (the
// aggregate is then newA()'s zero state).
func (r *Repository[A]) Load(ctx context.Context, id string) (agg A, version int64, err error) {
	agg = r.newA()
	evs, version, err := r.c.ReadAll(ctx, r.topic, id, 0)
	var apiErr *APIError
	if errors.Is(err, ErrStreamNotFound) || (errors.As(err, &apiErr) && apiErr.Code == "topic_not_found") {
		// The first Save creates the stream (and the topic, when the
		// server auto-creates topics).
		return agg, -1, nil
	}
	if err != nil {
		return agg, -1, err
	}
	for _, ev := range evs {
		if err := agg.Apply(ev); err != nil {
			return agg, -1, fmt.Errorf("apply %s event %d of %s: %w", ev.Type, ev.Version, id, err)
		}
	}
	// The version is that of the last event applied, so Save's expected
	// version always matches the state decide saw.
	version = -1
	if len(evs) > 0 {
		version = evs[len(evs)-1].Version
	}
	return agg, version, nil
}

// Save appends the aggregate's new events with version (from Load) as the
// expected version: NoStream for -1. A concurrent change since Load gives
// a *WrongExpectedVersionError.
func (r *Repository[A]) Save(ctx context.Context, id string, version int64, events ...EventData) (AppendResult, error) {
	var exp ExpectedVersion = Version(version)
	if version < 0 {
		exp = NoStream{}
	}
	return r.c.Append(ctx, r.topic, id, exp, events...)
}

// Update loads the aggregate, asks decide for the events a command
// produces and saves them; when another writer changed the stream in
// between, it reloads and decides again after a random pause (up to 1 ms,
// doubling per conflict up to 64 ms), up to MaxRetries times. decide
// must not have side effects beyond returning events. Returning no events
// saves nothing.
func (r *Repository[A]) Update(ctx context.Context, id string, decide func(A) ([]EventData, error)) (AppendResult, error) {
	for attempt := 0; ; attempt++ {
		agg, version, err := r.Load(ctx, id)
		if err != nil {
			return AppendResult{}, err
		}
		events, err := decide(agg)
		if err != nil || len(events) == 0 {
			return AppendResult{}, err
		}
		res, err := r.Save(ctx, id, version, events...)
		var wev *WrongExpectedVersionError
		if errors.As(err, &wev) && attempt < r.MaxRetries {
			// A random pause (up to 1, 2, 4 … 64 ms) keeps writers that
			// keep colliding from colliding again in lockstep.
			t := time.NewTimer(time.Duration(rand.Int64N(int64(time.Millisecond) << min(attempt, 6))))
			select {
			case <-ctx.Done():
				t.Stop()
				return res, errors.Join(err, ctx.Err())
			case <-t.C:
			}
			continue
		}
		return res, err
	}
}
