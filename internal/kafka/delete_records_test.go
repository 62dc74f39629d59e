package kafka_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// fetchAt fetches one partition at offset (Fetch v12, by topic name) and
// returns its error code, log start offset and bytes of batches.
func fetchAt(t *testing.T, ctx context.Context, srv *kafkatest.Server, topic string, part int32, offset int64) (int16, int64, int) {
	t.Helper()
	cl := srv.Client(t, kgo.MaxVersions(kversionPin(kmsg.Fetch, 12)))
	req := kmsg.NewPtrFetchRequest()
	req.MaxWaitMillis = 10
	req.MaxBytes = 1 << 20
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewFetchRequestTopicPartition()
	rp.Partition, rp.FetchOffset, rp.PartitionMaxBytes = part, offset, 1<<20
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	kr, err := cl.Broker(int(kafka.NodeID)).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	p := kr.(*kmsg.FetchResponse).Topics[0].Partitions[0]
	return p.ErrorCode, p.LogStartOffset, len(p.RecordBatches)
}

// TestDeleteRecords drives DeleteRecords with kadm: the log start offset
// moves inside a segment, whole segments below it are deleted, fetches
// below it are OFFSET_OUT_OF_RANGE, ListOffsets(earliest) answers it, and
// all of it holds after a restart. Event-store topics refuse it unless
// their config allows it.
func TestDeleteRecords(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.Broker.CreateTopic("dr", 1, map[string]string{"segment.bytes": "2048"}, false); err != nil {
		t.Fatal(err)
	}
	cl := srv.Client(t, kgo.DefaultProduceTopic("dr"))
	for i := range 100 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: make([]byte, 100+i%7)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	dir := filepath.Join(srv.Dir, "dr-0")
	segments := func() int {
		ents, err := os.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, e := range ents {
			if filepath.Ext(e.Name()) == ".log" {
				n++
			}
		}
		return n
	}
	before := segments()
	if before < 4 {
		t.Fatalf("%d segments, want several", before)
	}

	adm := kadm.NewClient(cl)
	del := func(topic string, at int64) kadm.DeleteRecordsResponse {
		t.Helper()
		var os kadm.Offsets
		os.AddOffset(topic, 0, at, -1)
		res, err := adm.DeleteRecords(ctx, os)
		if err != nil {
			t.Fatal(err)
		}
		r, ok := res.Lookup(topic, 0)
		if !ok {
			t.Fatalf("no answer for %s-0", topic)
		}
		return r
	}
	if r := del("dr", 101); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("delete above the high watermark: %+v", r)
	}
	if r := del("dr", 57); r.Err != nil || r.LowWatermark != 57 {
		t.Fatalf("delete before 57: %+v", r)
	}
	if after := segments(); after >= before {
		t.Fatalf("segments %d after deleting, %d before: whole segments below the start must go", after, before)
	}
	check := func(what string) {
		t.Helper()
		cl := srv.Client(t)
		adm := kadm.NewClient(cl)
		starts, err := adm.ListStartOffsets(ctx, "dr")
		if err != nil {
			t.Fatal(err)
		}
		if o, _ := starts.Lookup("dr", 0); o.Err != nil || o.Offset != 57 {
			t.Fatalf("%s: earliest offset %+v, want 57", what, o)
		}
		if code, start, _ := fetchAt(t, ctx, srv, "dr", 0, 56); code != kerr.OffsetOutOfRange.Code || start != 57 {
			t.Fatalf("%s: fetch at 56: code %d, log start %d; want OFFSET_OUT_OF_RANGE, 57", what, code, start)
		}
		if code, _, n := fetchAt(t, ctx, srv, "dr", 0, 57); code != 0 || n == 0 {
			t.Fatalf("%s: fetch at 57: code %d, %d bytes", what, code, n)
		}
		// A consumer from the start reads 57..99.
		cons := srv.Client(t, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"dr": {0: kgo.NewOffset().AtStart()}}))
		var first int64 = -1
		got := 0
		for got < 43 {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("%s: consumer read %d records", what, got)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if first < 0 {
					first = r.Offset
				}
				got++
			})
		}
		if first != 57 || got != 43 {
			t.Fatalf("%s: consumer read %d records from %d, want 43 from 57", what, got, first)
		}
	}
	check("after delete")
	srv.Restart(t)
	check("after restart")

	// -1 is the high watermark.
	adm = kadm.NewClient(srv.Client(t))
	if r := del("dr", -1); r.Err != nil || r.LowWatermark != 100 {
		t.Fatalf("delete before the high watermark: %+v", r)
	}

	// An event-store topic keeps its history unless told otherwise.
	if _, err := srv.Broker.CreateTopic("es", 1, map[string]string{broker.ConfigStreams: "true"}, false); err != nil {
		t.Fatal(err)
	}
	pc := srv.Client(t, kgo.DefaultProduceTopic("es"))
	for range 5 {
		if err := pc.ProduceSync(ctx, &kgo.Record{Value: []byte("{}")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	if r := del("es", 3); !errors.Is(r.Err, kerr.PolicyViolation) {
		t.Fatalf("delete on an event-store topic: %+v, want POLICY_VIOLATION", r)
	}
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: broker.ConfigStreamsAllowDeleteRecords, Value: kmsg.StringPtr("true")}}, "es"); err != nil {
		t.Fatal(err)
	}
	if r := del("es", 3); r.Err != nil || r.LowWatermark != 3 {
		t.Fatalf("delete on an event-store topic that allows it: %+v", r)
	}

	// Unknown partition and topic, straight to the broker.
	req := kmsg.NewPtrDeleteRecordsRequest()
	for _, tp := range []struct {
		topic string
		part  int32
	}{{"dr", 7}, {"nope", 0}} {
		rt := kmsg.NewDeleteRecordsRequestTopic()
		rt.Topic = tp.topic
		rp := kmsg.NewDeleteRecordsRequestTopicPartition()
		rp.Partition, rp.Offset = tp.part, 0
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
	}
	kr, err := srv.Client(t).Broker(int(kafka.NodeID)).Request(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range kr.(*kmsg.DeleteRecordsResponse).Topics {
		if p := rt.Partitions[0]; p.ErrorCode != kerr.UnknownTopicOrPartition.Code || p.LowWatermark != -1 {
			t.Fatalf("%s-%d: %+v", rt.Topic, p.Partition, p)
		}
	}
}
