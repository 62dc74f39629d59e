package broker

import (
	"fmt"
	"strings"
)

// InternalTopicPrefix starts the names Kafka reserves for internal topics
// (__consumer_offsets, __transaction_state, ...).
const InternalTopicPrefix = "__"

// ValidateClientTopicName is ValidateTopicName for topics a client asks
// to create (CreateTopics, auto-creation on Metadata or on an event-store
// append): it also refuses internal names, those starting with "__", so
// no client can create or shadow a topic Kafka tools treat as internal.
func ValidateClientTopicName(name string) error {
	if err := ValidateTopicName(name); err != nil {
		return err
	}
	if strings.HasPrefix(name, InternalTopicPrefix) {
		return fmt.Errorf("%w: %q starts with %q, which is reserved for internal topics; choose another name", ErrInvalidTopic, name, InternalTopicPrefix)
	}
	return nil
}
