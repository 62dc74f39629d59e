package queues

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/share"
)

// TestShareGroupAdmin drives the share-group admin APIs with kadm: list,
// describe, offsets (describe, alter, delete), group configs and delete.
func TestShareGroupAdmin(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	adm := kadm.NewClient(admin)
	ctx := context.Background()
	newTopic(t, admin, "t", 2, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigDeliveryLimit, "3")
	produce(t, admin, "t", 10, func(i int) int32 { return int32(i % 2) })

	// Bad config values are refused with INVALID_CONFIG and a message.
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "g"
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name = share.ConfigDLQTopic
	v := "orders-dead"
	c.Value = &v
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Resources[0].ErrorCode != kerr.InvalidConfig.Code || resp.Resources[0].ErrorMessage == nil {
		t.Fatalf("DLQ name without prefix: code %d", resp.Resources[0].ErrorCode)
	}

	// Group configs are described with their sources.
	dreq := kmsg.NewPtrDescribeConfigsRequest()
	dr := kmsg.NewDescribeConfigsRequestResource()
	dr.ResourceType, dr.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "g"
	dreq.Resources = append(dreq.Resources, dr)
	dresp, err := dreq.RequestWith(ctx, admin)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, c := range dresp.Resources[0].Configs {
		got[c.Name] = strOr(c.Value)
		if c.Name == share.ConfigDeliveryLimit && c.Source != kmsg.ConfigSourceGroupConfig {
			t.Errorf("%s source %v, want GROUP_CONFIG", c.Name, c.Source)
		}
	}
	if got[share.ConfigDeliveryLimit] != "3" || got[share.ConfigLockDuration] != "30000" || got[share.ConfigBackoffMax] != "60000" {
		t.Fatalf("described group configs: %v", got)
	}

	cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200*time.Millisecond))
	n := 0
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	for n < 10 && pctx.Err() == nil {
		cl.PollFetches(pctx).EachRecord(func(r *kgo.Record) { n++; r.Ack(kgo.AckAccept) })
	}
	if err := cl.FlushAcks(ctx); err != nil {
		t.Fatal(err)
	}

	listed, err := adm.ListGroupsByType(ctx, []string{"share"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := listed["g"]; !ok || len(listed) != 1 {
		t.Fatalf("share groups listed: %v", listed.Groups())
	}
	if classic, _ := adm.ListGroupsByType(ctx, []string{"classic"}); len(classic) != 0 {
		t.Fatalf("classic list has share groups: %v", classic.Groups())
	}
	described, err := adm.DescribeShareGroups(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	dg := described["g"]
	if dg.Err != nil || dg.GroupState != "Stable" || len(dg.Members) != 1 {
		t.Fatalf("described: %+v", dg)
	}
	offs, err := adm.DescribeShareGroupOffsets(ctx, "g")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []int32{0, 1} {
		o, ok := offs["g"].Offsets.Lookup("t", p)
		if !ok || o.StartOffset != 5 {
			t.Fatalf("partition %d offset %+v (ok %v)", p, o, ok)
		}
	}
	// Altering offsets needs an empty group.
	alter := kadm.Offsets{}
	alter.AddOffset("t", 0, 2, -1)
	ares, err := adm.AlterShareGroupOffsets(ctx, "g", alter)
	if err == nil {
		if e := ares.Error(); e == nil {
			t.Fatal("alter with a live member accepted")
		}
	}
	cl.Close()
	ares, err = adm.AlterShareGroupOffsets(ctx, "g", alter)
	if err != nil || ares.Error() != nil {
		t.Fatalf("alter on empty group: %v %v", err, ares.Error())
	}
	if info, _ := srv.Share.Describe("g"); info.Partitions[0].StartOffset != 2 {
		t.Fatalf("after alter: %+v", info.Partitions[0])
	}
	if dres, err := adm.DeleteShareGroupOffsets(ctx, "g", "t"); err != nil || dres.Error() != nil {
		t.Fatalf("delete offsets: %v %v", err, dres.Error())
	}
	dels, err := adm.DeleteGroups(ctx, "g")
	if err != nil || dels.Error() != nil {
		t.Fatalf("delete group: %v %v", err, dels.Error())
	}
	if srv.Share.Exists("g") {
		t.Fatal("share group still exists")
	}
}
