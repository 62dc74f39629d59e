package kafka

import (
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/eventstore"
)

// A refused append is answered as Apache Kafka answers it, at every
// Produce version: INVALID_RECORD (87) for a record the broker refuses
// (a batch that does not parse, an event-store version conflict, a record
// on the wrong partition of an event-store topic), CORRUPT_MESSAGE (2)
// only for a CRC mismatch. Produce v8+ carries the reason in ErrorMessage
// and, when one record is to blame, in ErrorRecords (KIP-467). Older
// versions cannot carry a message, so the broker logs the refusal
// instead, rate-limited (produceRejectLog).

// recordIndexer is implemented by errors that blame one record of an
// append (eventstore.RecordError).
type recordIndexer interface{ RecordIndex() int32 }

// setProduceError fills p's error fields for an append refused with err.
func (s *Server) setProduceError(req *Request, topic string, part int32, err error, p *kmsg.ProduceResponseTopicPartition) {
	p.ErrorCode = ErrorCode(err)
	p.ErrorMessage = errMessage(err)
	switch p.ErrorCode {
	case kerr.UnknownServerError.Code, kerr.KafkaStorageError.Code:
		// Once per episode: a full disk fails every produce.
		s.logFailure("produce", p.ErrorCode, "topic", topic, "partition", part, "err", err)
	case kerr.InvalidRecord.Code, kerr.CorruptMessage.Code:
		var ri recordIndexer
		if req.Version >= 8 && errors.As(err, &ri) {
			re := kmsg.NewProduceResponseTopicPartitionErrorRecord()
			re.RelativeOffset = ri.RecordIndex()
			re.ErrorMessage = p.ErrorMessage
			p.ErrorRecords = append(p.ErrorRecords, re)
		}
		if req.Version < 8 {
			s.rejects.log(s.log, req, topic, part, p.ErrorCode, err)
		}
	}
}

// produceRejectLog logs appends refused to clients whose Produce version
// cannot carry the reason (v0-7), at most rejectLogBurst a second; the
// count of those left out is logged with the next one that is not.
type produceRejectLog struct {
	mu      sync.Mutex
	window  time.Time
	n       int
	dropped int
}

const rejectLogBurst = 10

func (r *produceRejectLog) log(l *slog.Logger, req *Request, topic string, part int32, code int16, err error) {
	now := time.Now()
	r.mu.Lock()
	if now.Sub(r.window) >= time.Second {
		r.window, r.n = now, 0
	}
	if r.n >= rejectLogBurst {
		r.dropped++
		r.mu.Unlock()
		return
	}
	r.n++
	dropped := r.dropped
	r.dropped = 0
	r.mu.Unlock()

	attrs := []any{"topic", topic, "partition", part, "code", errName(code),
		"produce_version", req.Version, "client_id", req.ClientID}
	if req.Conn != nil && req.Conn.Remote != nil {
		attrs = append(attrs, "remote", req.Conn.Remote.String())
	}
	var wev *eventstore.WrongExpectedVersionError
	if errors.As(err, &wev) {
		attrs = append(attrs, "stream", wev.Stream, "expected", wev.Expected.String(), "actual", wev.Actual)
	}
	var ri recordIndexer
	if errors.As(err, &ri) {
		attrs = append(attrs, "record", ri.RecordIndex())
	}
	attrs = append(attrs, "reason", err.Error())
	if dropped > 0 {
		attrs = append(attrs, "not_logged_before", dropped)
	}
	l.Warn("produce refused (Produce before v8 cannot carry the reason to the client)", attrs...)
}

// errName is a Kafka error code's name (INVALID_RECORD).
func errName(code int16) string {
	if e, ok := kerr.ErrorForCode(code).(*kerr.Error); ok {
		return e.Message
	}
	return kerr.ErrorForCode(code).Error()
}
