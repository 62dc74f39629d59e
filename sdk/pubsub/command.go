package pubsub

import (
	"context"
	"fmt"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// Command returns a handler that applies the command an event carries to
// an aggregate: it decodes the event's data into a T, loads the aggregate
// id(cmd) from repo, asks decide for the new events and appends them with
// the loaded version as the expected version; when another writer changed
// the stream in between it reloads and decides again
// (eventstore.Repository.Update, up to its MaxRetries). decide returning
// no events appends nothing (an already-applied command, for instance).
func Command[A eventstore.Aggregate, T any](repo *eventstore.Repository[A], id func(T) string,
	decide func(agg A, cmd T) ([]eventstore.EventData, error)) HandlerFunc {
	return func(ctx context.Context, ev *Event) error {
		var cmd T
		if err := ev.Decode(&cmd); err != nil {
			return err
		}
		aid := id(cmd)
		if aid == "" {
			return Permanent(fmt.Errorf("command %s (%s): no aggregate id", ev.Type, ev.ID))
		}
		if _, err := repo.Update(ctx, aid, func(a A) ([]eventstore.EventData, error) { return decide(a, cmd) }); err != nil {
			return fmt.Errorf("command %s on %s: %w", ev.Type, aid, err)
		}
		return nil
	}
}
