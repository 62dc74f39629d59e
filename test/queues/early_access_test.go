package queues

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/share"
)

// earlyAccessClient is a raw client pinned to the share APIs' v0, the
// versions Kafka 4.0's early-access KafkaShareConsumer sends.
func earlyAccessClient(t *testing.T, srv *kafkatest.Server) *kgo.Client {
	vs := kversion.Stable()
	for _, k := range []int16{kmsg.ShareGroupHeartbeat.Int16(), kmsg.ShareGroupDescribe.Int16(), kmsg.ShareFetch.Int16(), kmsg.ShareAcknowledge.Int16()} {
		vs.SetMaxKeyVersion(k, 0)
	}
	return srv.Client(t, kgo.MaxVersions(vs))
}

// TestShareEarlyAccessV0 plays the requests of Kafka 4.0's Java
// KafkaShareConsumer (share APIs v0) as test/java/ShareConsume.java sends
// them: the share APIs advertise v0; a v0 join without a member id gets one
// generated (Kafka 4.0's coordinator did; from v1 the client generates it
// and an empty one is INVALID_REQUEST); a v0 ShareFetch (PartitionMaxBytes,
// no MaxRecords) acquires records; a v0 ShareAcknowledge accepts and rejects
// them, the rejected one landing on the dead-letter topic.
func TestShareEarlyAccessV0(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	enable := "true"
	newTopic(t, admin, "dlq.t", 1, map[string]*string{share.TopicConfigDLQEnable: &enable})
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDLQTopic, "dlq.t")
	produce(t, admin, "t", 10, func(int) int32 { return 0 })
	ctx := context.Background()

	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	mins := map[int16]int16{}
	for _, k := range av.ApiKeys {
		mins[k.ApiKey] = k.MinVersion
	}
	for _, k := range []kmsg.Key{kmsg.ShareGroupHeartbeat, kmsg.ShareGroupDescribe, kmsg.ShareFetch, kmsg.ShareAcknowledge} {
		if min, ok := mins[k.Int16()]; !ok || min != 0 {
			t.Errorf("%s: min version %d (advertised %v), want 0", k.Name(), min, ok)
		}
	}

	// v1 with an empty member id is refused (KIP-1082).
	v1 := kmsg.NewPtrShareGroupHeartbeatRequest()
	v1.GroupID, v1.MemberEpoch, v1.SubscribedTopicNames = "g", 0, []string{"t"}
	if r, err := v1.RequestWith(ctx, admin); err != nil || r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("v1 join without member id: %v, code %d, want INVALID_REQUEST", err, r.ErrorCode)
	}

	raw := earlyAccessClient(t, srv)
	hb := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb.GroupID, hb.MemberEpoch, hb.SubscribedTopicNames = "g", 0, []string{"t"}
	hbr, err := hb.RequestWith(ctx, raw)
	if err != nil || hbr.ErrorCode != 0 || hbr.Version != 0 {
		t.Fatalf("v0 join: %v %+v", err, hbr)
	}
	if hbr.MemberID == nil || len(*hbr.MemberID) != 22 || hbr.MemberEpoch <= 0 || hbr.Assignment == nil {
		t.Fatalf("v0 join: member id %v epoch %d assignment %v, want a generated 22-character id", hbr.MemberID, hbr.MemberEpoch, hbr.Assignment)
	}
	g, m := "g", *hbr.MemberID
	hb2 := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb2.GroupID, hb2.MemberID, hb2.MemberEpoch = g, m, hbr.MemberEpoch
	if r, err := hb2.RequestWith(ctx, raw); err != nil || r.ErrorCode != 0 || r.MemberID == nil || *r.MemberID != m {
		t.Fatalf("v0 heartbeat with the generated id: %v %+v", err, r)
	}

	topicID := topicIDOf(t, raw, "t")
	fetch := kmsg.NewPtrShareFetchRequest()
	fetch.GroupID, fetch.MemberID, fetch.ShareSessionEpoch = &g, &m, 0
	fetch.MaxWaitMillis, fetch.MinBytes, fetch.MaxBytes = 1000, 1, 50<<20
	ft := kmsg.NewShareFetchRequestTopic()
	ft.TopicID = topicID
	fp := kmsg.NewShareFetchRequestTopicPartition()
	fp.PartitionMaxBytes = 1 << 20
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fr, err := fetch.RequestWith(ctx, raw)
	if err != nil || fr.ErrorCode != 0 || fr.Version != 0 || len(fr.Topics) != 1 || len(fr.Topics[0].Partitions) != 1 {
		t.Fatalf("v0 share fetch: %v %+v", err, fr)
	}
	acq := fr.Topics[0].Partitions[0].AcquiredRecords
	if len(acq) != 1 || acq[0].FirstOffset != 0 || acq[0].LastOffset != 9 || acq[0].DeliveryCount != 1 {
		t.Fatalf("v0 share fetch acquired %+v, want offsets 0-9 at delivery 1", acq)
	}

	// Accept 0-6, reject 7, accept 8-9, as the Java client batches them.
	ack := kmsg.NewPtrShareAcknowledgeRequest()
	ack.GroupID, ack.MemberID, ack.ShareSessionEpoch = &g, &m, 1
	at := kmsg.NewShareAcknowledgeRequestTopic()
	at.TopicID = topicID
	ap := kmsg.NewShareAcknowledgeRequestTopicPartition()
	for _, b := range []struct {
		first, last int64
		typ         int8
	}{{0, 6, 1}, {7, 7, 3}, {8, 9, 1}} {
		ab := kmsg.NewShareAcknowledgeRequestTopicPartitionAcknowledgementBatch()
		ab.FirstOffset, ab.LastOffset, ab.AcknowledgeTypes = b.first, b.last, []int8{b.typ}
		ap.AcknowledgementBatches = append(ap.AcknowledgementBatches, ab)
	}
	at.Partitions = append(at.Partitions, ap)
	ack.Topics = append(ack.Topics, at)
	ar, err := ack.RequestWith(ctx, raw)
	if err != nil || ar.ErrorCode != 0 || ar.Version != 0 || len(ar.Topics) != 1 || ar.Topics[0].Partitions[0].ErrorCode != 0 {
		t.Fatalf("v0 share acknowledge: %v %+v", err, ar)
	}

	// The session closes (epoch -1) and the member leaves, as close() does.
	fetch.ShareSessionEpoch, fetch.Topics = -1, nil
	if fr, err := fetch.RequestWith(ctx, raw); err != nil || fr.ErrorCode != 0 {
		t.Fatalf("v0 close session: %v %+v", err, fr)
	}
	hb2.MemberEpoch = -1
	if r, err := hb2.RequestWith(ctx, raw); err != nil || r.ErrorCode != 0 {
		t.Fatalf("v0 leave: %v %+v", err, r)
	}

	rd := srv.Client(t, kgo.ConsumeTopics("dlq.t"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) == 0 && cctx.Err() == nil {
		rd.PollFetches(cctx).EachRecord(func(r *kgo.Record) { got = append(got, r) })
	}
	if len(got) != 1 || string(got[0].Value) != "7" || header(got[0], share.HeaderReason) != "rejected" {
		t.Fatalf("dead letters %+v, want offset 7 rejected", got)
	}
}
