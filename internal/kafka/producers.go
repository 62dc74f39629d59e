package kafka

import (
	"github.com/eddy-streaming/eddy/internal/producers"
)

// producers returns the idempotent-producer manager, or nil.
func (s *Server) producers() *producers.Manager { return s.cfg.Producers }
