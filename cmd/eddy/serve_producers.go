package main

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/producers"
)

// startProducers rebuilds idempotent-producer state from the partition logs'
// tails, installs it as the broker's append hook (sequence checks and
// duplicate acknowledgement) and plugs it into the Kafka listener for
// InitProducerId. It runs after the broker opens and before the listener
// accepts produce requests.
func (s *server) startProducers(kcfg *kafka.Config) error {
	pm, err := producers.New(producers.Config{
		Meta:       s.meta,
		Logger:     s.log.With("component", "producers"),
		Registerer: s.reg,
	})
	if err != nil {
		return fmt.Errorf("start producer manager: %w", err)
	}
	if err := pm.Rebuild(s.broker, 0); err != nil {
		return fmt.Errorf("rebuild producer state: %w", err)
	}
	s.broker.SetAppendHook(pm)
	kafka.WithProducers(kcfg, pm)
	return nil
}
