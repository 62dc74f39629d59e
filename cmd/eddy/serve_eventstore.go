package main

import (
	"fmt"
	"path/filepath"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/httpapi"
)

// startEventStore opens the event-store index (<data>/streams.idx),
// catching every eddy.streams topic up from its log, chains the store
// after the idempotent-producer hook (a retried duplicate is acknowledged
// before any version check could refuse it) and registers the
// /v1/topics/{topic}/streams routes. It runs after startProducers and
// before the listeners serve appends.
func (s *server) startEventStore() error {
	es, err := eventstore.Open(eventstore.Config{
		Broker:     s.broker,
		Path:       filepath.Join(s.cfg.DataDir, "streams.idx"),
		Logger:     s.log.With("component", "eventstore"),
		Registerer: s.reg,
	})
	if err != nil {
		return fmt.Errorf("open event store: %w", err)
	}
	s.events = es
	s.broker.SetAppendHook(broker.ChainHooks(s.broker.InstalledAppendHook(), es))
	s.http.RegisterStreams(es, httpapi.StreamsOptions{})
	return nil
}
