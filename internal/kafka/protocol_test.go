package kafka_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

func fetchReq(maxBytes int32, parts ...fetchPartReq) *kmsg.FetchRequest {
	fr := kmsg.NewPtrFetchRequest()
	fr.MaxBytes, fr.SessionEpoch = maxBytes, -1
	for _, p := range parts {
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic, ft.TopicID = p.topic, p.id
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.Partition, fp.FetchOffset, fp.PartitionMaxBytes = p.part, p.offset, p.max
		ft.Partitions = append(ft.Partitions, fp)
		fr.Topics = append(fr.Topics, ft)
	}
	return fr
}

type fetchPartReq struct {
	topic  string
	id     [16]byte
	part   int32
	offset int64
	max    int32
}

// TestFetchLimits: KIP-74 (the first non-empty partition returns a whole
// batch above every limit; later partitions only what fits), per-partition
// limits, and topic ids at v13+.
func TestFetchLimits(t *testing.T) {
	srv := kafkatest.Start(t)
	info, err := srv.Broker.CreateTopic("lim", 3, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	big := string(make([]byte, 4000))
	for p := int32(0); p < 3; p++ {
		for i := 0; i < 3; i++ {
			if _, err := srv.Broker.Append("lim", p, makeBatch(1, big)); err != nil {
				t.Fatal(err)
			}
		}
	}
	batchSize := len(makeBatch(1, big))
	rc := dialRaw(t, srv.Addr)
	all := []fetchPartReq{{topic: "lim", part: 0, max: 1 << 20}, {topic: "lim", part: 1, max: 1 << 20}, {topic: "lim", part: 2, max: 1 << 20}}

	// MaxBytes 100: one batch from partition 0 only.
	resp := rc.roundTrip(fetchReq(100, all...), 11).(*kmsg.FetchResponse)
	sizes := func(resp *kmsg.FetchResponse) []int {
		var out []int
		for _, tp := range resp.Topics {
			for _, p := range tp.Partitions {
				if p.ErrorCode != 0 {
					t.Fatalf("partition %d error %d", p.Partition, p.ErrorCode)
				}
				out = append(out, len(p.RecordBatches))
			}
		}
		return out
	}
	if got := sizes(resp); got[0] != batchSize || got[1] != 0 || got[2] != 0 {
		t.Fatalf("MaxBytes 100: sizes %v, batch %d", got, batchSize)
	}
	// Room for two batches: partition 0 gets two (limit), the rest none.
	resp = rc.roundTrip(fetchReq(int32(2*batchSize), all...), 11).(*kmsg.FetchResponse)
	if got := sizes(resp); got[0] != 2*batchSize || got[1] != 0 {
		t.Fatalf("MaxBytes 2 batches: sizes %v", got)
	}
	// Per-partition limit of one byte: one batch from each partition.
	for i := range all {
		all[i].max = 1
	}
	resp = rc.roundTrip(fetchReq(1<<20, all...), 11).(*kmsg.FetchResponse)
	if got := sizes(resp); got[0] != batchSize || got[1] != batchSize || got[2] != batchSize {
		t.Fatalf("partition max 1: sizes %v", got)
	}
	for _, p := range resp.Topics {
		if p.Partitions[0].HighWatermark != 3 || p.Partitions[0].LogStartOffset != 0 {
			t.Fatalf("offsets %+v", p.Partitions[0])
		}
	}
	// v13+: topics by id; an unknown id is UNKNOWN_TOPIC_ID.
	resp = rc.roundTrip(fetchReq(1<<20, fetchPartReq{id: info.ID, max: 1 << 20}, fetchPartReq{id: [16]byte{9}, max: 1 << 20}), 16).(*kmsg.FetchResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || len(p.RecordBatches) != 3*batchSize || resp.Topics[0].TopicID != info.ID {
		t.Fatalf("fetch by id: %+v", p)
	}
	if p := resp.Topics[1].Partitions[0]; p.ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("unknown id: %d", p.ErrorCode)
	}
}

func TestMetadataVersions(t *testing.T) {
	srv := kafkatest.Start(t)
	for _, tp := range []string{"a", "b"} {
		if _, err := srv.Broker.CreateTopic(tp, 2, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	rc := dialRaw(t, srv.Addr)
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{}
	if r := rc.roundTrip(md, 0).(*kmsg.MetadataResponse); len(r.Topics) != 2 {
		t.Fatalf("v0 empty list: %d topics, want all", len(r.Topics))
	}
	if r := rc.roundTrip(md, 1).(*kmsg.MetadataResponse); len(r.Topics) != 0 {
		t.Fatalf("v1 empty list: %d topics, want none", len(r.Topics))
	}
	md.Topics = nil
	r := rc.roundTrip(md, 12).(*kmsg.MetadataResponse)
	if len(r.Topics) != 2 || len(r.Topics[0].Partitions) != 2 || r.Topics[0].TopicID == [16]byte{} || r.ClusterID == nil || *r.ClusterID != srv.Broker.ClusterID() {
		t.Fatalf("v12 null list: %+v", r)
	}
	// v4+: no auto-create unless asked; v1-3 always.
	md.Topics = []kmsg.MetadataRequestTopic{{Topic: kmsg.StringPtr("new1")}}
	md.AllowAutoTopicCreation = false
	if r := rc.roundTrip(md, 9).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("v9 without auto-create: %d", r.Topics[0].ErrorCode)
	}
	if r := rc.roundTrip(md, 3).(*kmsg.MetadataResponse); r.Topics[0].ErrorCode != 0 || len(r.Topics[0].Partitions) != 1 {
		t.Fatalf("v3 auto-create: %+v", r.Topics[0])
	}
	// By id (v10+).
	info, _ := srv.Broker.Topic("a")
	md.Topics = []kmsg.MetadataRequestTopic{{TopicID: info.ID}, {TopicID: [16]byte{1}}}
	r = rc.roundTrip(md, 12).(*kmsg.MetadataResponse)
	if r.Topics[0].Topic == nil || *r.Topics[0].Topic != "a" || r.Topics[1].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("by id: %+v", r.Topics)
	}
}

func TestAdminEdgeCases(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithBrokerConfig(func(c *broker.Config) { c.DefaultPartitions = 2 }))
	rc := dialRaw(t, srv.Addr)
	ct := kmsg.NewPtrCreateTopicsRequest()
	for _, n := range []string{"dup", "dup", "defaults"} {
		tp := kmsg.NewCreateTopicsRequestTopic()
		tp.Topic, tp.NumPartitions, tp.ReplicationFactor = n, -1, -1
		ct.Topics = append(ct.Topics, tp)
	}
	assigned := kmsg.NewCreateTopicsRequestTopic()
	assigned.Topic, assigned.NumPartitions, assigned.ReplicationFactor = "assigned", -1, -1
	assigned.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{1}}, {Partition: 1, Replicas: []int32{1}}, {Partition: 2, Replicas: []int32{1}}}
	badAssign := kmsg.NewCreateTopicsRequestTopic()
	badAssign.Topic, badAssign.NumPartitions, badAssign.ReplicationFactor = "bad-assign", -1, -1
	badAssign.ReplicaAssignment = []kmsg.CreateTopicsRequestTopicReplicaAssignment{{Partition: 0, Replicas: []int32{2}}}
	ct.Topics = append(ct.Topics, assigned, badAssign)
	r := rc.roundTrip(ct, 7).(*kmsg.CreateTopicsResponse)
	want := []int16{kerr.InvalidRequest.Code, kerr.InvalidRequest.Code, 0, 0, kerr.InvalidReplicaAssignment.Code}
	for i, tp := range r.Topics {
		if tp.ErrorCode != want[i] {
			t.Fatalf("create %s: %d, want %d", tp.Topic, tp.ErrorCode, want[i])
		}
	}
	if r.Topics[2].NumPartitions != 2 || len(r.Topics[2].Configs) == 0 || r.Topics[3].NumPartitions != 3 {
		t.Fatalf("created: %+v %+v", r.Topics[2], r.Topics[3])
	}
	// DeleteTopics v6 by id and by name.
	info, _ := srv.Broker.Topic("defaults")
	dt := kmsg.NewPtrDeleteTopicsRequest()
	dt.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: info.ID}, {Topic: kmsg.StringPtr("assigned")}, {TopicID: [16]byte{7}}}
	dr := rc.roundTrip(dt, 6).(*kmsg.DeleteTopicsResponse)
	if dr.Topics[0].ErrorCode != 0 || dr.Topics[0].Topic == nil || *dr.Topics[0].Topic != "defaults" || dr.Topics[1].ErrorCode != 0 || dr.Topics[2].ErrorCode != kerr.UnknownTopicID.Code {
		t.Fatalf("delete: %+v", dr.Topics)
	}
	if len(srv.Broker.Topics()) != 0 {
		t.Fatalf("topics left: %+v", srv.Broker.Topics())
	}
	// Config changes on unknown topics and on the broker.
	ac := kmsg.NewPtrIncrementalAlterConfigsRequest()
	ac.Resources = []kmsg.IncrementalAlterConfigsRequestResource{
		{ResourceType: kmsg.ConfigResourceTypeTopic, ResourceName: "missing", Configs: []kmsg.IncrementalAlterConfigsRequestResourceConfig{{Name: "retention.ms", Value: kmsg.StringPtr("1")}}},
		{ResourceType: kmsg.ConfigResourceTypeBroker, ResourceName: "1"},
	}
	ar := rc.roundTrip(ac, 1).(*kmsg.IncrementalAlterConfigsResponse)
	if ar.Resources[0].ErrorCode != kerr.UnknownTopicOrPartition.Code || ar.Resources[1].ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("alter: %+v", ar.Resources)
	}
}
