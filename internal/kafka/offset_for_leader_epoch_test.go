package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestOffsetForLeaderEpoch: after a metadata refresh, franz-go's admin
// client gets epoch 0 and the log end offset for the epoch Metadata
// reports, a consumer goes on across refreshes without stalling, and
// unknown topics, partitions and epochs get Kafka's answers.
func TestOffsetForLeaderEpoch(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cl := srv.Client(t, kgo.DefaultProduceTopic("epochs"), kgo.AllowAutoTopicCreation())
	for i := range 10 {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte{byte(i)}}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}

	// A consumer reads half, the metadata is refreshed, it reads on.
	cons := srv.Client(t, kgo.ConsumeTopics("epochs"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.MetadataMinAge(10*time.Millisecond), kgo.MetadataMaxAge(50*time.Millisecond))
	seen := 0
	for seen < 10 {
		fs := cons.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("consumer stalled after %d records: %v", seen, err)
		}
		fs.EachError(func(_ string, _ int32, err error) { t.Fatalf("fetch: %v", err) })
		seen += fs.NumRecords()
		cons.ForceMetadataRefresh()
	}

	adm := kadm.NewClient(cl)
	md, err := adm.Metadata(ctx, "epochs")
	if err != nil {
		t.Fatal(err)
	}
	epoch := md.Topics["epochs"].Partitions[0].LeaderEpoch
	if epoch != 0 {
		t.Fatalf("metadata leader epoch %d, want 0", epoch)
	}
	var req kadm.OffsetForLeaderEpochRequest
	req.Add("epochs", 0, epoch)
	res, err := adm.OffsetForLeaderEpoch(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if o := res["epochs"][0]; o.Err != nil || o.LeaderEpoch != 0 || o.EndOffset != 10 {
		t.Fatalf("epoch 0: %+v, want epoch 0 end offset 10", o)
	}

	// The cases a client reaches with odd state, one request per version.
	for _, v := range []int16{0, 2, 4} {
		req := kmsg.NewPtrOffsetForLeaderEpochRequest()
		req.ReplicaID = -1
		add := func(topic string, part, epoch, current int32) {
			rt := kmsg.NewOffsetForLeaderEpochRequestTopic()
			rt.Topic = topic
			rp := kmsg.NewOffsetForLeaderEpochRequestTopicPartition()
			rp.Partition, rp.LeaderEpoch, rp.CurrentLeaderEpoch = part, epoch, current
			rt.Partitions = append(rt.Partitions, rp)
			req.Topics = append(req.Topics, rt)
		}
		add("epochs", 0, -1, -1) // the epoch of batches stored as produced
		add("epochs", 0, 3, -1)  // newer than any: undefined
		add("nope", 0, 0, -1)
		add("epochs", 5, 0, -1)
		add("epochs", 0, 0, 1)  // a client ahead of the leader (v2+)
		add("epochs", 0, 0, -5) // fenced (v2+)
		kv := kversionPin(kmsg.OffsetForLeaderEpoch, v)
		pc := srv.Client(t, kgo.MaxVersions(kv))
		kr, err := pc.Broker(int(kafka.NodeID)).Request(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		resp := kr.(*kmsg.OffsetForLeaderEpochResponse)
		if resp.Version != v {
			t.Fatalf("sent v%d, want v%d", resp.Version, v)
		}
		type want struct {
			code  int16
			epoch int32
			end   int64
		}
		wants := []want{
			{0, 0, 10},
			{0, -1, -1},
			{kerr.UnknownTopicOrPartition.Code, -1, -1},
			{kerr.UnknownTopicOrPartition.Code, -1, -1},
			{kerr.UnknownLeaderEpoch.Code, -1, -1},
			{kerr.FencedLeaderEpoch.Code, -1, -1},
		}
		if v < 2 {
			wants[4], wants[5] = want{0, 0, 10}, want{0, 0, 10}
		}
		for i, w := range wants {
			p := resp.Topics[i].Partitions[0]
			epoch := p.LeaderEpoch
			if v == 0 {
				epoch = w.epoch // not in the v0 response
			}
			if p.ErrorCode != w.code || epoch != w.epoch || p.EndOffset != w.end {
				t.Errorf("v%d case %d (%s-%d): code %d epoch %d end %d; want %+v", v, i, resp.Topics[i].Topic, p.Partition, p.ErrorCode, p.LeaderEpoch, p.EndOffset, w)
			}
		}
	}
}

// kversionPin returns the stable versions with key's highest set to v, so
// franz-go sends that version.
func kversionPin(key kmsg.Key, v int16) *kversion.Versions {
	vs := kversion.Stable()
	vs.SetMaxKeyVersion(int16(key), v)
	return vs
}
