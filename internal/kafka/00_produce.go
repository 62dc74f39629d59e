package kafka

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// Produce: v0-11 (v0-2 advertised only)
//
// Behaviour:
//   - Record batch v2 only. v0-2 are advertised because librdkafka ≤ 2.11
//     enables gzip/snappy/lz4 only when Produce v0 is in the range (Kafka 4
//     does the same, KAFKA-18659), but a request actually sent at v0-2
//     carries the old message format and every partition is answered
//     UNSUPPORTED_FOR_MESSAGE_FORMAT.
//   - Batches are validated (CRC-32C, lengths, codec id 0-4) and stored as
//     sent. CRC mismatch: CORRUPT_MESSAGE; other invalid batches and
//     records the event store refuses: INVALID_RECORD at every version, as
//     Kafka (v8+ adds the reason in ErrorMessage and ErrorRecords; before
//     v8 the broker logs it, see produce_errors.go); a batch over
//     max.message.bytes: MESSAGE_TOO_LARGE; an unknown topic:
//     UNKNOWN_TOPIC_OR_PARTITION (never auto-created on produce, as Kafka).
//   - Appends happen on the reader goroutine in request order; the wait for
//     durability (eddy.fsync=always: a group-commit fsync) happens on the
//     connection's writer (DeferInOrder) while the reader reads on, so
//     pipelined produce requests share fsyncs.
//   - acks=0: no response, but the request still holds its produce budget
//     until durable, so acks=0 producers are throttled by the disk too. If
//     any partition failed the connection is closed instead, as Kafka does,
//     so the producer notices.
//   - acks other than -1, 0, 1: INVALID_REQUIRED_ACKS.
//   - LogAppendTime topics return the stamped time (v2+).
//   - Authorization: WRITE on each topic, else TOPIC_AUTHORIZATION_FAILED
//     on its partitions; WRITE on the transactional id when one is set,
//     else TRANSACTIONAL_ID_AUTHORIZATION_FAILED everywhere.
//
// Version notes: v2 LogAppendTime; v3 record batches, TransactionalID; v5
// LogStartOffset; v8 ErrorRecords, ErrorMessage; v9 flexible.
func init() { Register(kmsg.Produce, 0, 11, handleProduce) }

type produceWait struct {
	p *kmsg.ProduceResponseTopicPartition
	w *broker.WriteResult
}

func handleProduce(ctx context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.ProduceRequest)
	resp := r.ResponseKind().(*kmsg.ProduceResponse)
	resp.Topics = make([]kmsg.ProduceResponseTopic, 0, len(r.Topics))
	var waits []produceWait

	badAcks := r.Acks != 0 && r.Acks != 1 && r.Acks != -1
	// A transactional id needs WRITE on it (Kafka checks it before the
	// topics); Eddy has no transactions, so it can only fail later.
	txnDenied := strOr(r.TransactionID) != "" && !s.allowed(req, opWrite, rtTxnID, *r.TransactionID)
	for _, rt := range r.Topics {
		denied := !txnDenied && !s.allowed(req, opWrite, rtTopic, rt.Topic)
		rtopic := kmsg.NewProduceResponseTopic()
		rtopic.Topic = rt.Topic
		rtopic.Partitions = make([]kmsg.ProduceResponseTopicPartition, len(rt.Partitions))
		resp.Topics = append(resp.Topics, rtopic)
		out := resp.Topics[len(resp.Topics)-1].Partitions
		for i, rp := range rt.Partitions {
			p := &out[i]
			p.Default()
			p.Partition = rp.Partition
			p.BaseOffset = -1
			p.LogAppendTime = -1
			p.LogStartOffset = -1
			switch {
			case txnDenied:
				p.ErrorCode = kerr.TransactionalIDAuthorizationFailed.Code
			case denied:
				p.ErrorCode = kerr.TopicAuthorizationFailed.Code
			case badAcks:
				p.ErrorCode = kerr.InvalidRequiredAcks.Code
			case r.Version < 3:
				p.ErrorCode = kerr.UnsupportedForMessageFormat.Code
				msg := "only record batch v2 (Produce v3+) is supported"
				p.ErrorMessage = &msg
			default:
				w, err := s.b.Write(rt.Topic, rp.Partition, rp.Records, broker.WriteOptions{})
				if err != nil {
					s.setProduceError(req, rt.Topic, rp.Partition, err, p)
					break
				}
				p.BaseOffset = w.Base
				p.LogAppendTime = w.LogAppendTime
				p.LogStartOffset = w.LogStartOffset
				waits = append(waits, produceWait{p, w})
			}
			s.countErr(req, p.ErrorCode)
		}
	}
	// acks=0 gets no answer; when something failed Kafka closes the
	// connection instead, so the producer notices and refreshes metadata.
	noAck := func() Reply {
		for _, t := range resp.Topics {
			for _, p := range t.Partitions {
				if p.ErrorCode != 0 {
					return CloseConn(fmt.Errorf("acks=0 produce failed on %s-%d: %s", t.Topic, p.Partition, kerr.ErrorForCode(p.ErrorCode)))
				}
			}
		}
		return NoResponse()
	}
	if len(waits) == 0 {
		if r.Acks == 0 {
			return noAck()
		}
		return Respond(resp)
	}
	finish := func(context.Context) Reply {
		// WaitDurable is not cancellable: an append that reached the log
		// is acknowledged only once durable, even during shutdown. Queue
		// every partition first so that one commit round covers them all.
		if len(waits) > 1 {
			for _, pw := range waits {
				pw.w.QueueSync()
			}
		}
		for _, pw := range waits {
			if err := pw.w.Wait(); err != nil {
				s.logFailure("produce durability wait", kerr.KafkaStorageError.Code, "err", err)
				pw.p.ErrorCode = kerr.KafkaStorageError.Code
				pw.p.ErrorMessage = errMessage(err)
				pw.p.BaseOffset = -1
				s.countErr(req, pw.p.ErrorCode)
			}
		}
		if r.Acks == 0 {
			return noAck()
		}
		return Respond(resp)
	}
	for _, pw := range waits {
		if pw.w.WaitBlocks() {
			// Queue the partitions for the next commit round now: while
			// the writer still waits for this connection's earlier
			// requests, a round begun meanwhile covers these bytes too,
			// and this request's wait then finds them durable (or waits
			// for that round) instead of needing a round of its own.
			for _, pw := range waits {
				pw.w.QueueSync()
			}
			// The durability wait runs on the connection's writer, in
			// order: no goroutine per request, and pipelined produces
			// of one connection share the fsync the first one waits for.
			return DeferInOrder(finish)
		}
	}
	// Nothing to wait for (fsync=never or interval): answer inline rather
	// than through a goroutine per request.
	return finish(ctx)
}
