package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/producers"
)

// producersKey is the Config.Ext key of the idempotent-producer manager.
type producersKey struct{}

// WithProducers plugs the idempotent-producer manager into cfg for
// InitProducerId; the same manager must be the broker's AppendHook
// (broker.SetAppendHook) for sequence checks. Without it InitProducerId
// hands out in-memory ids and nothing is deduplicated (bare test servers).
func WithProducers(cfg *Config, m *producers.Manager) {
	if cfg.Ext == nil {
		cfg.Ext = map[any]any{}
	}
	cfg.Ext[producersKey{}] = m
}

func (s *Server) producers() *producers.Manager {
	m, _ := s.Ext(producersKey{}).(*producers.Manager)
	return m
}

func init() {
	RegisterError(producers.ErrOutOfOrderSequence, kerr.OutOfOrderSequenceNumber.Code)
	RegisterError(producers.ErrInvalidProducerEpoch, kerr.InvalidProducerEpoch.Code)
	RegisterError(producers.ErrDuplicateSequence, kerr.DuplicateSequenceNumber.Code)
	RegisterError(producers.ErrTransactionalBatch, kerr.InvalidTxnState.Code)
	RegisterError(producers.ErrTransactionsUnsupported, kerr.UnsupportedVersion.Code)
}
