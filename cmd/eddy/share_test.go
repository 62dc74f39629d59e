package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/share"
)

func alterGroupConfigs(t *testing.T, cl *kgo.Client, group string, kv ...string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, group
	for i := 0; i < len(kv); i += 2 {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name = kv[i]
		v := kv[i+1]
		c.Value = &v
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("alter group configs: %v %+v", err, resp)
	}
}

// TestShareGroupAndDLQCommands: share-group list, describe, reset-offsets
// and delete; dlq peek shows the failure headers; dlq redrive writes the
// dead letters back once, and running it again redrives nothing.
func TestShareGroupAndDLQCommands(t *testing.T) {
	t.Parallel()
	addr := startServer(t)
	mustRun(t, addr, "", "topic", "create", "jobs", "--partitions", "1")
	mustRun(t, addr, "", "topic", "create", "dlq.jobs", "--partitions", "1", "--config", share.TopicConfigDLQEnable+"=true")
	var in strings.Builder
	for _, v := range []string{"a", "bad1", "b", "bad2", "c"} {
		in.WriteString("k-" + v + ":" + v + "\n")
	}
	mustRun(t, addr, in.String(), "produce", "jobs", "--key-separator", ":")

	admin, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	alterGroupConfigs(t, admin, "workers", share.ConfigAutoOffsetReset, "earliest", share.ConfigDLQTopic, "dlq.jobs")
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ShareGroup("workers"), kgo.ConsumeTopics("jobs"), kgo.FetchMaxWait(200*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for n := 0; n < 5 && ctx.Err() == nil; {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			n++
			if strings.HasPrefix(string(r.Value), "bad") {
				r.Ack(kgo.AckReject)
			} else {
				r.Ack(kgo.AckAccept)
			}
		})
	}
	cl.FlushAcks(ctx)

	r := mustRun(t, addr, "", "share-group", "list")
	if strings.TrimSpace(r.stdout) != "workers" {
		t.Errorf("share-group list = %q", r.stdout)
	}
	if r := mustRun(t, addr, "", "group", "list"); strings.Contains(r.stdout, "workers") {
		t.Errorf("group list shows the share group:\n%s", r.stdout)
	}
	if r := runCLI(t, addr, "", "share-group", "reset-offsets", "workers", "--topic", "jobs", "--to-earliest"); r.err == nil || !strings.Contains(r.err.Error(), "stop its consumers") {
		t.Errorf("reset with a live member: err %v", r.err)
	}

	// The dead letters, readable.
	var peek string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		peek = mustRun(t, addr, "", "dlq", "peek", "dlq.jobs").stdout
		if strings.Count(peek, "group=workers") == 2 {
			break
		}
	}
	if !strings.Contains(peek, "from=jobs/0@1  reason=rejected  deliveries=1") || !strings.Contains(peek, `value: "bad2"`) {
		t.Fatalf("dlq peek:\n%s", peek)
	}
	r = mustRun(t, addr, "", "share-group", "describe", "workers")
	if !strings.Contains(r.stdout, "Share group: workers") || !regexpLine(r.stdout, `^jobs\s+0\s+5\s+0$`) {
		t.Errorf("share-group describe:\n%s", r.stdout)
	}

	cl.Close()
	r = mustRun(t, addr, "", "dlq", "redrive", "dlq.jobs", "--dry-run", "--filter", `headers["__dlq.errors.offset"] == "3"`)
	if !strings.Contains(r.stdout, "dlq.jobs/0@1 -> jobs") || !strings.Contains(r.stdout, "1 record(s) would be redriven") {
		t.Fatalf("filtered dry run:\n%s", r.stdout)
	}
	if r := runCLI(t, addr, "", "dlq", "redrive", "dlq.jobs", "--filter", "key ==="); r.err == nil {
		t.Fatal("bad --filter accepted")
	}
	r = mustRun(t, addr, "", "dlq", "redrive", "dlq.jobs")
	if !strings.Contains(r.stdout, "redrove 2 record(s)") {
		t.Fatalf("redrive:\n%s", r.stdout)
	}
	r = mustRun(t, addr, "", "dlq", "redrive", "dlq.jobs")
	if !strings.Contains(r.stdout, "redrove 0 record(s)") {
		t.Fatalf("second redrive:\n%s", r.stdout)
	}
	r = mustRun(t, addr, "", "consume", "jobs", "--from-beginning", "--count", "7")
	if got := lines(r.stdout); len(got) != 7 || got[5] != "bad1" || got[6] != "bad2" {
		t.Fatalf("jobs after redrive = %q", got)
	}

	r = mustRun(t, addr, "", "share-group", "reset-offsets", "workers", "--topic", "jobs", "--to-latest")
	if !regexpLine(r.stdout, `^jobs\s+0\s+7$`) {
		t.Errorf("reset-offsets:\n%s", r.stdout)
	}
	mustRun(t, addr, "", "share-group", "delete", "workers")
	if r := mustRun(t, addr, "", "share-group", "list"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("after delete: %q", r.stdout)
	}
}
