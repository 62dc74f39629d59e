package commitlog

import (
	"errors"
	"fmt"
)

// Sentinel errors returned by Log methods.
var (
	// ErrOffsetOutOfRange is returned by Read, ReadInto and ScanBatches when
	// the offset is below LogStartOffset or above HighWatermark. Kafka maps
	// it to OFFSET_OUT_OF_RANGE.
	ErrOffsetOutOfRange = errors.New("offset out of range")
	// ErrClosed is returned by every method called after Close or Delete.
	ErrClosed = errors.New("log closed")
	// ErrNotFound is returned by OffsetForTime when no stored batch below the
	// high watermark has a timestamp at or after the requested one; the
	// offset returned with it is -1, as Kafka's ListOffsets answers.
	ErrNotFound = errors.New("no offset for timestamp")
	// ErrInvalidOptions wraps every problem reported by Options.Validate.
	ErrInvalidOptions = errors.New("invalid log options")
)

// CorruptionError reports damaged bytes found in a segment or index file.
// Recovery on Open does not return it for a damaged tail of the last
// segment (that tail is truncated and logged); it is returned when damage
// is found where truncation would drop data that was already durable, and it
// is the reason attached to truncation log lines.
type CorruptionError struct {
	// Segment is the file's path.
	Segment string
	// Offset is the byte position in the file where the damage starts.
	Offset int64
	// Reason says what is wrong.
	Reason string
	// Err is the underlying error, often a *record.BatchError; may be nil.
	Err error
}

// Error describes the damage.
func (e *CorruptionError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("corrupt %s at byte %d: %s: %v", e.Segment, e.Offset, e.Reason, e.Err)
	}
	return fmt.Sprintf("corrupt %s at byte %d: %s", e.Segment, e.Offset, e.Reason)
}

// Unwrap returns the underlying error.
func (e *CorruptionError) Unwrap() error { return e.Err }
