package kafka_test

import (
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

func strp(s string) *string { return &s }

func topicConfig(t *testing.T, adm *kadm.Client, topic, key string) (string, kmsg.ConfigSource) {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctxT(t, 10*time.Second), topic)
	if err != nil {
		t.Fatalf("describe configs: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("describe configs %s: %v %v", topic, err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return *c.Value, c.Source
		}
	}
	t.Fatalf("config %s missing", key)
	return "", 0
}

func TestAdminAPIs(t *testing.T) {
	srv := kafkatest.Start(t)
	cl := srv.Client(t)
	adm := kadm.NewClient(cl)
	ctx := ctxT(t, 30*time.Second)

	// CreateTopics with configs; validateOnly creates nothing.
	if _, err := adm.ValidateCreateTopics(ctx, 2, 1, nil, "v-only"); err != nil {
		t.Fatalf("validate create: %v", err)
	}
	if _, err := srv.Broker.Topic("v-only"); err == nil {
		t.Fatal("validateOnly created the topic")
	}
	resp, err := adm.CreateTopic(ctx, 3, 1, map[string]*string{"retention.ms": strp("60000"), "cleanup.policy": strp("delete")}, "orders")
	if err != nil || resp.Err != nil {
		t.Fatalf("create: %v %v", err, resp.Err)
	}
	if resp.ID == (kadm.TopicID{}) {
		t.Fatal("no topic id")
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "orders"); !errors.Is(err, kerr.TopicAlreadyExists) {
		t.Fatalf("create twice: %v", err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 3, nil, "rf3"); !errors.Is(r.Err, kerr.InvalidReplicationFactor) {
		t.Fatalf("rf 3: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, map[string]*string{"no.such": strp("1")}, "badcfg"); !errors.Is(r.Err, kerr.InvalidConfig) {
		t.Fatalf("unknown config: %v", r.Err)
	}
	if r, _ := adm.CreateTopic(ctx, 1, 1, nil, "bad/name"); !errors.Is(r.Err, kerr.InvalidTopicException) {
		t.Fatalf("bad name: %v", r.Err)
	}

	// ListTopics / Metadata.
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if td, ok := tds["orders"]; !ok || len(td.Partitions) != 3 {
		t.Fatalf("list topics: %+v", tds)
	}

	// DescribeConfigs.
	if v, src := topicConfig(t, adm, "orders", "retention.ms"); v != "60000" || src != kmsg.ConfigSourceDynamicTopicConfig {
		t.Fatalf("retention.ms = %s (%v)", v, src)
	}
	if v, src := topicConfig(t, adm, "orders", "max.message.bytes"); v != "1048588" || src != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("max.message.bytes = %s (%v)", v, src)
	}
	if bcs, err := adm.DescribeBrokerConfigs(ctx); err != nil || len(bcs) != 1 || len(bcs[0].Configs) == 0 {
		t.Fatalf("broker configs: %v %+v", err, bcs)
	}

	// IncrementalAlterConfigs: set, delete, append to a list.
	if _, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "max.message.bytes", Value: strp("2048")},
		{Op: kadm.DeleteConfig, Name: "retention.ms"},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: strp("compact")},
	}, "orders"); err != nil {
		t.Fatalf("incremental alter: %v", err)
	}
	if v, _ := topicConfig(t, adm, "orders", "max.message.bytes"); v != "2048" {
		t.Fatalf("after alter max.message.bytes = %s", v)
	}
	if v, src := topicConfig(t, adm, "orders", "retention.ms"); v != "604800000" || src != kmsg.ConfigSourceDefaultConfig {
		t.Fatalf("after delete retention.ms = %s (%v)", v, src)
	}
	if v, _ := topicConfig(t, adm, "orders", "cleanup.policy"); v != "delete,compact" {
		t.Fatalf("after append cleanup.policy = %s", v)
	}
	rs, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "retention.ms", Value: strp("1")}}, "orders")
	if err != nil || len(rs) != 1 || !errors.Is(rs[0].Err, kerr.InvalidConfig) {
		t.Fatalf("append to non-list: %v %+v", err, rs)
	}
	// AlterConfigs (state): replaces all overrides.
	if _, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "eddy.fsync", Value: strp("never")}}, "orders"); err != nil {
		t.Fatalf("alter state: %v", err)
	}
	if v, _ := topicConfig(t, adm, "orders", "max.message.bytes"); v != "1048588" {
		t.Fatalf("alter state kept max.message.bytes = %s", v)
	}
	if v, _ := topicConfig(t, adm, "orders", "eddy.fsync"); v != "never" {
		t.Fatalf("eddy.fsync = %s", v)
	}
	rs, _ = adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "eddy.fsync", Value: strp("sometimes")}}, "orders")
	if len(rs) != 1 || !errors.Is(rs[0].Err, kerr.InvalidConfig) {
		t.Fatalf("bad fsync value: %+v", rs)
	}

	// CreatePartitions.
	if _, err := adm.UpdatePartitions(ctx, 5, "orders"); err != nil {
		t.Fatalf("update partitions: %v", err)
	}
	if info, _ := srv.Broker.Topic("orders"); info.Partitions != 5 {
		t.Fatalf("partitions = %d", info.Partitions)
	}
	if rs, _ := adm.UpdatePartitions(ctx, 2, "orders"); !errors.Is(rs["orders"].Err, kerr.InvalidPartitions) {
		t.Fatalf("shrink: %+v", rs)
	}

	// DescribeLogDirs.
	dirs, err := adm.DescribeAllLogDirs(ctx, nil)
	if err != nil {
		t.Fatalf("log dirs: %v", err)
	}
	found := 0
	dirs.Each(func(d kadm.DescribedLogDir) {
		d.Topics.Each(func(p kadm.DescribedLogDirPartition) {
			if p.Topic == "orders" {
				found++
			}
		})
	})
	if found != 5 {
		t.Fatalf("log dirs list %d orders partitions", found)
	}

	// DescribeCluster (raw).
	dreq := kmsg.NewPtrDescribeClusterRequest()
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil || dresp.ClusterID != srv.Broker.ClusterID() || len(dresp.Brokers) != 1 {
		t.Fatalf("describe cluster: %v %+v", err, dresp)
	}

	// Restart: configs and partitions survive.
	srv.Restart(t)
	if v, _ := topicConfig(t, adm, "orders", "eddy.fsync"); v != "never" {
		t.Fatalf("after restart eddy.fsync = %s", v)
	}
	if info, _ := srv.Broker.Topic("orders"); info.Partitions != 5 {
		t.Fatalf("after restart partitions = %d", info.Partitions)
	}

	// DeleteTopics.
	if _, err := adm.DeleteTopic(ctx, "orders"); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if _, err := adm.DeleteTopic(ctx, "orders"); !errors.Is(err, kerr.UnknownTopicOrPartition) {
		t.Fatalf("delete twice: %v", err)
	}
	if _, err := srv.Broker.Topic("orders"); err == nil {
		t.Fatal("topic survived delete")
	}
	// Recreate: empty, no old data.
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "orders"); err != nil {
		t.Fatalf("recreate: %v", err)
	}
	_ = cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: []byte("x")}).FirstErr()
	ends, err := adm.ListEndOffsets(ctx, "orders")
	if err != nil {
		t.Fatalf("end offsets: %v", err)
	}
	if o, _ := ends.Lookup("orders", 0); o.Offset != 1 {
		t.Fatalf("recreated topic end offset %d", o.Offset)
	}
}
