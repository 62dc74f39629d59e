package kafka

import (
	"context"
	"errors"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// DeleteRecords: v0-2
//
// Behaviour: moves each partition's log start offset up to the requested
// offset (-1: the high watermark), as Kafka's kafka-delete-records and
// kadm DeleteRecords do, durably (the start is fsynced before the answer)
// and deleting whole segments below it (broker.DeleteRecords). Fetches
// below the new start get OFFSET_OUT_OF_RANGE and ListOffsets(earliest)
// answers it; LowWatermark in the answer is the start afterwards. An
// offset above the high watermark (or below -1): OFFSET_OUT_OF_RANGE; an
// offset at or below the start changes nothing and answers the start.
// Unknown topics and partitions: UNKNOWN_TOPIC_OR_PARTITION.
//
// On an event-store topic (eddy.streams=true) it is refused with
// POLICY_VIOLATION, as Kafka refuses it on a compacted topic, unless the
// topic has eddy.streams.allow.delete.records=true: an event store keeps
// its history. The response carries no message, so the broker logs the
// refusal with the config that allows it.
//
// Version notes: v1 no change; v2 flexible. TimeoutMillis is not used:
// the answer waits for the fsync.
func init() { Register(kmsg.DeleteRecords, 0, 2, handleDeleteRecords) }

func handleDeleteRecords(_ context.Context, s *Server, req *Request) Reply {
	r := req.Msg.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	// Moving a start fsyncs a file: off the reader goroutine.
	return Defer(func(context.Context) Reply {
		for _, rt := range r.Topics {
			t := kmsg.NewDeleteRecordsResponseTopic()
			t.Topic = rt.Topic
			denied := !s.allowed(req, opDelete, rtTopic, rt.Topic)
			for _, rp := range rt.Partitions {
				p := kmsg.NewDeleteRecordsResponseTopicPartition()
				p.Partition = rp.Partition
				if denied {
					p.ErrorCode, p.LowWatermark = kerr.TopicAuthorizationFailed.Code, -1
					s.countErr(req, p.ErrorCode)
					t.Partitions = append(t.Partitions, p)
					continue
				}
				low, err := s.b.DeleteRecords(rt.Topic, rp.Partition, rp.Offset)
				p.LowWatermark = low
				if err != nil {
					p.ErrorCode = ErrorCode(err)
					p.LowWatermark = -1
					switch {
					case errors.Is(err, broker.ErrDeleteRecordsRefused):
						s.log.Warn("delete records refused", "topic", rt.Topic, "partition", rp.Partition, "client_id", req.ClientID, "reason", err.Error())
					case p.ErrorCode == kerr.UnknownServerError.Code:
						s.log.Error("delete records", "topic", rt.Topic, "partition", rp.Partition, "err", err)
					}
					s.countErr(req, p.ErrorCode)
				}
				t.Partitions = append(t.Partitions, p)
			}
			resp.Topics = append(resp.Topics, t)
		}
		return Respond(resp)
	})
}
