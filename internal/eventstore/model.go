package eventstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Sentinel errors. The HTTP front end maps them to statuses (httpapi), the
// Kafka front end WrongExpectedVersionError to INVALID_RECORD.
var (
	// ErrWrongExpectedVersion is wrapped by every *WrongExpectedVersionError.
	ErrWrongExpectedVersion = errors.New("wrong expected version")
	// ErrStreamNotFound: a read of a stream that never had an event.
	ErrStreamNotFound = errors.New("stream not found")
	// ErrInvalidStream: an empty, too long or non-printable stream name.
	ErrInvalidStream = errors.New("invalid stream name")
	// ErrInvalidEvent: an event without id or type, duplicate ids in one
	// append, data that is not JSON, or an append without events.
	ErrInvalidEvent = errors.New("invalid event")
	// ErrInvalidExpectedVersion: an expected version that is not "any",
	// "no_stream", "exists" or a number >= 0.
	ErrInvalidExpectedVersion = errors.New("invalid expected version")
	// ErrNotStreamTopic: a record with an eddy-expected-version header
	// produced to a topic whose eddy.streams config is not true.
	ErrNotStreamTopic = errors.New("not an event-store topic")
	// ErrIndexNotReady: a record with an eddy-expected-version header for
	// a topic the store has not looked at yet (created or reconfigured by
	// another path a moment ago). Retriable: the store loads the topic at
	// once and the retry is checked.
	ErrIndexNotReady = errors.New("event-store index of the topic is not loaded yet; retry")
	// ErrClosed is returned after Close.
	ErrClosed = errors.New("event store closed")
	// ErrWrongPartition: a keyed record produced over Kafka to a partition
	// of an event-store topic other than its stream's (murmur2 of the key,
	// see Partition). A stream lives in exactly one partition; the error
	// names that partition and the producer setting that picks it.
	ErrWrongPartition = errors.New("record produced to a partition other than its stream's")
)

// RecordError attributes an error to one record of the data passed to
// broker.Write: Index counts records from 0 across its batches. The Kafka
// front end reports it in Produce v8+'s per-record errors.
type RecordError struct {
	Index int32
	Err   error
}

// Error returns Err's text.
func (e *RecordError) Error() string { return e.Err.Error() }

// Unwrap returns Err.
func (e *RecordError) Unwrap() error { return e.Err }

// RecordIndex returns Index (the Kafka front end asks through an
// interface, not this type).
func (e *RecordError) RecordIndex() int32 { return e.Index }

// wrongPartitionError explains a record refused by the partition check.
func wrongPartitionError(topic string, key []byte, got, want, partitions int32) error {
	return fmt.Errorf("%w: stream %q of event-store topic %q lives in partition %d of %d (murmur2 of the key, as the Java client's "+
		"default partitioner), but the record was produced to partition %d; librdkafka clients (kcat, confluent-kafka) need "+
		"partitioner=murmur2_random, or produce to partition %d explicitly",
		ErrWrongPartition, key, topic, want, partitions, got, want)
}

// WrongExpectedVersionError reports an append whose expected version did
// not match the stream. Actual is the stream's current version: the
// version of its last event, -1 (NoStream) when it has none.
type WrongExpectedVersionError struct {
	Topic    string
	Stream   string
	Expected ExpectedVersion
	Actual   int64
}

// Error names the stream, the expected and the actual version.
func (e *WrongExpectedVersionError) Error() string {
	return fmt.Sprintf("wrong expected version for stream %q: expected %s, actual %d", e.Stream, e.Expected, e.Actual)
}

// Unwrap returns ErrWrongExpectedVersion.
func (e *WrongExpectedVersionError) Unwrap() error { return ErrWrongExpectedVersion }

// ExpectedVersion is the condition of an append: Any, NoStream,
// StreamExists, or the version (>= 0) of the stream's last event. The
// negative values are KurrentDB's.
type ExpectedVersion int64

// Expected-version markers.
const (
	Any          ExpectedVersion = -2
	NoStream     ExpectedVersion = -1
	StreamExists ExpectedVersion = -4
)

// String renders the marker as the HTTP API spells it.
func (e ExpectedVersion) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no_stream"
	case StreamExists:
		return "exists"
	}
	return strconv.FormatInt(int64(e), 10)
}

// MarshalJSON writes markers as strings and versions as numbers.
func (e ExpectedVersion) MarshalJSON() ([]byte, error) {
	if e < 0 {
		return json.Marshal(e.String())
	}
	return []byte(strconv.FormatInt(int64(e), 10)), nil
}

// UnmarshalJSON accepts "any", "no_stream", "exists", a number, or a
// number in a string.
func (e *ExpectedVersion) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("%w: %v", ErrInvalidExpectedVersion, err)
		}
	} else {
		s = string(b)
	}
	v, err := ParseExpected(s)
	if err != nil {
		return err
	}
	*e = v
	return nil
}

// ParseExpected parses "any", "no_stream", "exists" (also KurrentDB's -2,
// -1, -4) or a version >= 0.
func ParseExpected(s string) (ExpectedVersion, error) {
	switch strings.TrimSpace(s) {
	case "any", "-2":
		return Any, nil
	case "no_stream", "-1":
		return NoStream, nil
	case "exists", "stream_exists", "-4":
		return StreamExists, nil
	}
	v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil || v < 0 {
		// A copy of s in the error: s itself does not escape, so callers
		// converting bytes to s allocate nothing.
		return 0, fmt.Errorf("%w: %q; use \"any\", \"no_stream\", \"exists\" or a version number >= 0", ErrInvalidExpectedVersion, strings.Clone(s))
	}
	return ExpectedVersion(v), nil
}

// matches reports whether a stream whose current version is cur (-1: no
// events) satisfies e.
func (e ExpectedVersion) matches(cur int64) bool {
	switch e {
	case Any:
		return true
	case NoStream:
		return cur == -1
	case StreamExists:
		return cur >= 0
	}
	return int64(e) == cur
}

// MaxStreamLen is the longest stream name, in bytes.
const MaxStreamLen = 1024

// ValidateStream checks a stream name given over HTTP: 1-1024 bytes of
// UTF-8 without control characters. (Kafka producers may use any key; such
// keys are indexed too, they just cannot be named in a URL.)
func ValidateStream(s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty", ErrInvalidStream)
	case len(s) > MaxStreamLen:
		return fmt.Errorf("%w: %d bytes, the maximum is %d", ErrInvalidStream, len(s), MaxStreamLen)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: not valid UTF-8", ErrInvalidStream)
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return fmt.Errorf("%w: %q contains the control character %U", ErrInvalidStream, s, r)
		}
	}
	return nil
}

// EventData is an event to append.
type EventData struct {
	// ID identifies the event (ce_id); required. Retrying an append with
	// the same ids at the same position is idempotent.
	ID string `json:"id"`
	// Type is the event type (ce_type); required.
	Type string `json:"type"`
	// Source is the CloudEvents source; default /topics/{topic}/streams/{stream}.
	Source string `json:"source,omitempty"`
	// ContentType of Data; default application/json.
	ContentType string `json:"contentType,omitempty"`
	// Data is the record value: JSON for the HTTP API.
	Data json.RawMessage `json:"data,omitempty"`
	// Metadata is an optional JSON object stored in the eddy-metadata header.
	Metadata json.RawMessage `json:"metadata,omitempty"`
}

// Event is a stored event.
type Event struct {
	Stream    string `json:"stream"`
	Version   int64  `json:"version"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
	// Timestamp is the record timestamp, milliseconds since the epoch.
	Timestamp   int64           `json:"timestamp"`
	ID          string          `json:"id,omitempty"`
	Type        string          `json:"type,omitempty"`
	Source      string          `json:"source,omitempty"`
	Time        string          `json:"time,omitempty"`
	ContentType string          `json:"contentType,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	// DataBase64 holds a value that is not JSON (written by a Kafka
	// producer), base64-encoded by encoding/json.
	DataBase64 []byte          `json:"dataBase64,omitempty"`
	Metadata   json.RawMessage `json:"metadata,omitempty"`
}

// eventFromRecord converts a stored record of stream at version.
func eventFromRecord(stream string, part int32, version int64, r *Record) Event {
	ev := Event{Stream: stream, Version: version, Partition: part, Offset: r.Offset, Timestamp: r.Timestamp}
	for _, h := range r.Headers {
		switch string(h.Key) {
		case HeaderID:
			ev.ID = string(h.Value)
		case HeaderType:
			ev.Type = string(h.Value)
		case HeaderSource:
			ev.Source = string(h.Value)
		case HeaderTime:
			ev.Time = string(h.Value)
		case HeaderContentType:
			ev.ContentType = string(h.Value)
		case HeaderMetadata:
			if json.Valid(h.Value) {
				ev.Metadata = append(json.RawMessage(nil), h.Value...)
			}
		}
	}
	switch {
	case r.Value == nil:
	case json.Valid(r.Value):
		ev.Data = append(json.RawMessage(nil), r.Value...)
	default:
		ev.DataBase64 = append([]byte(nil), r.Value...)
	}
	return ev
}

// Partition returns the partition a stream (record key) maps to in a topic
// of n partitions: murmur2 of the key, as the Java client's and franz-go's
// default partitioners, so Kafka producers of the same key land in the
// same partition.
func Partition(stream []byte, n int32) int32 {
	if n <= 1 {
		return 0
	}
	return int32((murmur2(stream) & 0x7fffffff) % uint32(n))
}

// murmur2 is Kafka's Utils.murmur2.
func murmur2(data []byte) uint32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	length := len(data)
	h := uint32(seed) ^ uint32(length)
	n := length / 4
	for i := 0; i < n; i++ {
		k := uint32(data[i*4]) | uint32(data[i*4+1])<<8 | uint32(data[i*4+2])<<16 | uint32(data[i*4+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	tail := data[n*4:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return h
}
