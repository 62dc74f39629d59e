package kafka

import (
	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// A produce refused by the event store's expected-version check (a record
// with an eddy-expected-version header that does not match its stream, or
// such a header on a topic without eddy.streams=true) rejects the whole
// batch with INVALID_RECORD; the error message names stream, expected and
// actual version.
func init() {
	RegisterError(eventstore.ErrWrongExpectedVersion, kerr.InvalidRecord.Code)
	RegisterError(eventstore.ErrInvalidExpectedVersion, kerr.InvalidRecord.Code)
	RegisterError(eventstore.ErrNotStreamTopic, kerr.InvalidRecord.Code)
	// Retriable (not written; the client retries), by when the
	// store has loaded a topic created a moment ago by another path.
	RegisterError(eventstore.ErrIndexNotReady, kerr.NotEnoughReplicas.Code)
}
