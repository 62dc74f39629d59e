package kafka_test

import (
	"encoding/binary"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestPipelinedApiVersionsV0AndMetadataV0 is kafka-python 2.0.2's opening:
// both requests written before reading, both answered in order.
func TestPipelinedApiVersionsV0AndMetadataV0(t *testing.T) {
	srv := kafkatest.Start(t)
	rc := dialRaw(t, srv.Addr)
	av := kmsg.NewPtrApiVersionsRequest()
	md := kmsg.NewPtrMetadataRequest()
	md.Topics = []kmsg.MetadataRequestTopic{} // v0: empty = all topics
	c1 := rc.send(av, 0)
	c2 := rc.send(md, 0)
	avr := rc.read(av, 0, c1).(*kmsg.ApiVersionsResponse)
	if avr.ErrorCode != 0 || len(avr.ApiKeys) < 10 {
		t.Fatalf("api versions: %+v", avr)
	}
	ranges := map[int16][2]int16{}
	for _, k := range avr.ApiKeys {
		ranges[k.ApiKey] = [2]int16{k.MinVersion, k.MaxVersion}
	}
	// librdkafka's feature checks need these exact old versions advertised.
	for _, want := range []struct{ key, v int16 }{{0, 0}, {0, 2}, {0, 3}, {0, 7}, {1, 4}, {1, 10}, {3, 0}, {18, 0}, {2, 1}} {
		r, ok := ranges[want.key]
		if !ok || want.v < r[0] || want.v > r[1] {
			t.Errorf("%s v%d not advertised (%v)", kmsg.NameForKey(want.key), want.v, r)
		}
	}
	mdr := rc.read(md, 0, c2).(*kmsg.MetadataResponse)
	if len(mdr.Brokers) != 1 || mdr.Brokers[0].NodeID != kafka.NodeID {
		t.Fatalf("metadata: %+v", mdr)
	}
}

func TestApiVersionsUnsupportedVersion(t *testing.T) {
	srv := kafkatest.Start(t)
	rc := dialRaw(t, srv.Addr)
	// v9 does not exist anywhere; the body may be anything.
	b := []byte{0, 0, 0, 0, 0, 18, 0, 9, 0, 0, 0, 7, 0, 0, 0, 0xde, 0xad}
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	rc.write(b)
	corr, body, err := rc.recv()
	if err != nil || corr != 7 {
		t.Fatalf("recv: corr %d err %v", corr, err)
	}
	// v0 layout, no header tags: error code first.
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	if err := resp.ReadFrom(body); err != nil {
		t.Fatalf("decode as v0: %v", err)
	}
	if resp.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error %d", resp.ErrorCode)
	}
	found := false
	for _, k := range resp.ApiKeys {
		if k.ApiKey == 18 && k.MaxVersion >= 3 {
			found = true
		}
	}
	if !found {
		t.Fatalf("no ApiVersions range in %+v", resp.ApiKeys)
	}
	// The connection stays usable: retry at v3 (flexible request, but the
	// response header still has no tags).
	req := kmsg.NewPtrApiVersionsRequest()
	req.ClientSoftwareName, req.ClientSoftwareVersion = "eddy-test", "1.0"
	r3 := rc.roundTrip(req, 3).(*kmsg.ApiVersionsResponse)
	if r3.ErrorCode != 0 {
		t.Fatalf("v3 error %d", r3.ErrorCode)
	}
	req.ClientSoftwareName = "bad name!"
	if r := rc.roundTrip(req, 3).(*kmsg.ApiVersionsResponse); r.ErrorCode != kerr.InvalidRequest.Code {
		t.Fatalf("bad software name: error %d", r.ErrorCode)
	}
}

func TestBadFramesCloseOnlyTheirConnection(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithServerConfig(func(c *kafka.Config) { c.MaxRequestBytes = 1 << 20 }))
	if _, err := srv.Broker.CreateTopic("keep", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	good := srv.Client(t, kgo.DefaultProduceTopic("keep"))
	ctx := ctxT(t, 20*time.Second)
	if err := good.ProduceSync(ctx, &kgo.Record{Value: []byte("before")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	frameWith := func(key, version int16, body []byte) []byte {
		b := []byte{0, 0, 0, 0}
		b = binary.BigEndian.AppendUint16(b, uint16(key))
		b = binary.BigEndian.AppendUint16(b, uint16(version))
		b = binary.BigEndian.AppendUint32(b, 1)
		b = binary.BigEndian.AppendUint16(b, 0xffff) // null client id
		b = append(b, body...)
		binary.BigEndian.PutUint32(b, uint32(len(b)-4))
		return b
	}
	cases := map[string][]byte{
		"over the cap":          {0x00, 0x20, 0x00, 0x00}, // 2 MiB announced; nothing allocated
		"negative size":         {0xff, 0xff, 0xff, 0xff},
		"shorter than a header": {0, 0, 0, 3, 0, 3, 0},
		"unknown api key":       frameWith(9999, 0, nil),
		"unsupported version":   frameWith(int16(kmsg.Metadata), 99, nil),
		"below min version":     frameWith(int16(kmsg.Fetch), 0, nil),
		"truncated body":        frameWith(int16(kmsg.Metadata), 1, []byte{0, 0, 0, 5, 0}),
		"garbage produce":       frameWith(int16(kmsg.Produce), 7, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}),
		"client id overruns":    {0, 0, 0, 12, 0, 3, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0, 0},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			rc := dialRaw(t, srv.Addr)
			rc.write(b)
			rc.expectClosed()
		})
	}
	// The other client and the data are untouched.
	if err := good.ProduceSync(ctx, &kgo.Record{Value: []byte("after")}).FirstErr(); err != nil {
		t.Fatalf("good client after bad frames: %v", err)
	}
	if _, hw, _, _ := srv.Broker.Offsets("keep", 0); hw != 2 {
		t.Fatalf("high watermark %d, want 2", hw)
	}
}

func TestProduceErrors(t *testing.T) {
	srv := kafkatest.Start(t, kafkatest.WithBrokerConfig(func(c *broker.Config) { c.AutoCreateTopics = false }))
	if _, err := srv.Broker.CreateTopic("small", 1, map[string]string{"max.message.bytes": "200"}, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	produce := func(version int16, topic string, records []byte, acks int16) kmsg.ProduceResponseTopicPartition {
		t.Helper()
		req := kmsg.NewPtrProduceRequest()
		req.Acks, req.TimeoutMillis = acks, 5000
		rt := kmsg.NewProduceRequestTopic()
		rt.Topic = topic
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Records = records
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp := rc.roundTrip(req, version).(*kmsg.ProduceResponse)
		return resp.Topics[0].Partitions[0]
	}
	good := makeBatch(1000, "a", "b")
	if p := produce(9, "small", good, -1); p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("good batch: %+v", p)
	}
	bad := makeBatch(1000, "c")
	bad[len(bad)-1] ^= 0xff
	if p := produce(9, "small", bad, -1); p.ErrorCode != kerr.CorruptMessage.Code || p.ErrorMessage == nil {
		t.Fatalf("bad crc: %+v", p)
	}
	if p := produce(9, "small", makeBatch(1000, string(make([]byte, 300))), 1); p.ErrorCode != kerr.MessageTooLarge.Code {
		t.Fatalf("too large: %+v", p)
	}
	if p := produce(9, "nope", good, 1); p.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("unknown topic: %+v", p)
	}
	if _, err := srv.Broker.Topic("nope"); err == nil {
		t.Fatal("produce auto-created a topic")
	}
	truncated := good[:len(good)-3]
	if p := produce(9, "small", truncated, 1); p.ErrorCode != kerr.InvalidRecord.Code {
		t.Fatalf("truncated batch v9: %+v", p)
	}
	// INVALID_RECORD at every version, as Kafka; CORRUPT_MESSAGE only for
	// a CRC mismatch.
	for _, v := range []int16{3, 7} {
		if p := produce(v, "small", truncated, 1); p.ErrorCode != kerr.InvalidRecord.Code {
			t.Fatalf("truncated batch v%d: %+v", v, p)
		}
		if p := produce(v, "small", bad, 1); p.ErrorCode != kerr.CorruptMessage.Code {
			t.Fatalf("bad crc v%d: %+v", v, p)
		}
	}
	if p := produce(2, "small", good, 1); p.ErrorCode != kerr.UnsupportedForMessageFormat.Code {
		t.Fatalf("produce v2: %+v", p)
	}
	if p := produce(9, "small", good, 5); p.ErrorCode != kerr.InvalidRequiredAcks.Code {
		t.Fatalf("acks 5: %+v", p)
	}
	// acks=0: a success is silent (the next request is answered), a
	// failure closes the connection as Kafka does.
	ack0 := dialRaw(t, srv.Addr)
	req0 := kmsg.NewPtrProduceRequest()
	req0.Acks = 0
	rt0 := kmsg.NewProduceRequestTopic()
	rt0.Topic = "small"
	rp0 := kmsg.NewProduceRequestTopicPartition()
	rp0.Records = makeBatch(1000, "z")
	rt0.Partitions = append(rt0.Partitions, rp0)
	req0.Topics = append(req0.Topics, rt0)
	ack0.send(req0, 9)
	if r := ack0.roundTrip(kmsg.NewPtrApiVersionsRequest(), 0).(*kmsg.ApiVersionsResponse); r.ErrorCode != 0 {
		t.Fatalf("after acks=0: %d", r.ErrorCode)
	}
	req0.Topics[0].Topic = "nope"
	ack0.send(req0, 9)
	ack0.expectClosed()
	// Nothing but the good batches was stored.
	if _, hw, _, _ := srv.Broker.Offsets("small", 0); hw != 3 {
		t.Fatalf("high watermark %d, want 3", hw)
	}

	// Metadata: invalid names and unknown topics with auto-create off.
	md := kmsg.NewPtrMetadataRequest()
	for _, n := range []string{"bad name", "nope"} {
		rt := kmsg.NewMetadataRequestTopic()
		rt.Topic = kmsg.StringPtr(n)
		md.Topics = append(md.Topics, rt)
	}
	md.AllowAutoTopicCreation = true
	mr := rc.roundTrip(md, 12).(*kmsg.MetadataResponse)
	if mr.Topics[0].ErrorCode != kerr.InvalidTopicException.Code || mr.Topics[1].ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("metadata errors: %d %d", mr.Topics[0].ErrorCode, mr.Topics[1].ErrorCode)
	}

	// Fetch: out of range, and a declined session.
	fr := kmsg.NewPtrFetchRequest()
	fr.MaxWaitMillis, fr.MinBytes, fr.MaxBytes, fr.SessionEpoch = 0, 1, 1<<20, -1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "small"
	fp := kmsg.NewFetchRequestTopicPartition()
	fp.FetchOffset, fp.PartitionMaxBytes = 99, 1<<20
	ft.Partitions = append(ft.Partitions, fp)
	fr.Topics = append(fr.Topics, ft)
	resp := rc.roundTrip(fr, 11).(*kmsg.FetchResponse)
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != kerr.OffsetOutOfRange.Code || p.HighWatermark != 3 {
		t.Fatalf("out of range: %+v", p)
	}
	fr.SessionID = 12345
	if resp := rc.roundTrip(fr, 11).(*kmsg.FetchResponse); resp.ErrorCode != kerr.FetchSessionIDNotFound.Code {
		t.Fatalf("unknown session: %d", resp.ErrorCode)
	}
	fr.SessionID, fr.SessionEpoch = 0, 0
	fr.Topics[0].Partitions[0].FetchOffset = 0
	resp = rc.roundTrip(fr, 11).(*kmsg.FetchResponse)
	if resp.ErrorCode != 0 || resp.SessionID != 0 || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
		t.Fatalf("new-session request not answered as a full sessionless fetch: %+v", resp)
	}
}
