package kafka

import "strings"

// fillerOnlyCrashes reports whether a client fails on a fetch partition
// whose batches hold no record at all: a view's filler batch, which moves
// a consumer past records its filter does not match (as a batch that
// compaction emptied does). kafka-python before 2.1 indexes the last
// record of every non-empty partition answer (IndexError); it is known by
// its default client id. Such a client gets an empty partition instead
// and fetches the same offset again; the broker's skip cache makes that
// fetch resume the scan where the last one ended.
func fillerOnlyCrashes(clientID string) bool {
	v, ok := strings.CutPrefix(clientID, "kafka-python-")
	return ok && (strings.HasPrefix(v, "1.") || strings.HasPrefix(v, "2.0."))
}
