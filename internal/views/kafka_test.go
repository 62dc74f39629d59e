package views_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/views"
)

// order is the test records' JSON value.
type order struct {
	ID     int    `json:"id"`
	Total  int    `json:"total"`
	Region string `json:"region"`
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// produceOrders writes n records round-robin over the source's partitions
// (by key), in batches of varied sizes, and returns them.
func produceOrders(t testing.TB, cl *kgo.Client, topic string, from, n int, opts ...kgo.ProducerOpt) []*kgo.Record {
	t.Helper()
	var recs []*kgo.Record
	for i := from; i < from+n; i++ {
		v, _ := json.Marshal(order{ID: i, Total: (i * 37) % 2000, Region: []string{"EU", "US", "APAC"}[i%3]})
		typ := "OrderCreated"
		if i%10 == 3 {
			typ = "OrderCancelled"
		}
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(fmt.Sprintf("order-%d", i%17)), Value: v,
			Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte(typ)}, {Key: "ce_id", Value: []byte(fmt.Sprint(i))}, {Key: "seq", Value: []byte(fmt.Sprint(i))}}})
	}
	if err := cl.ProduceSync(ctxT(t), recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	return recs
}

// consumeAll reads topic until want records arrived (or the deadline).
func consumeAll(t testing.TB, cl *kgo.Client, want int) []*kgo.Record {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var got []*kgo.Record
	for len(got) < want {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(got), want, ctx.Err())
		}
		for _, e := range fs.Errors() {
			t.Fatalf("fetch %s/%d: %v", e.Topic, e.Partition, e.Err)
		}
		got = append(got, fs.Records()...)
	}
	return got
}

// checkMatching checks that got holds exactly the records of src that
// match, per partition in source order, with keys, values, headers and
// source offsets.
func checkMatching(t testing.TB, src []*kgo.Record, got []*kgo.Record, match func(*kgo.Record) bool) {
	t.Helper()
	type pk struct {
		p int32
	}
	want := map[int32][]*kgo.Record{}
	for _, r := range src {
		if match(r) {
			want[r.Partition] = append(want[r.Partition], r)
		}
	}
	have := map[int32][]*kgo.Record{}
	for _, r := range got {
		have[r.Partition] = append(have[r.Partition], r)
	}
	n := 0
	for p, w := range want {
		h := have[p]
		if len(h) != len(w) {
			t.Fatalf("partition %d: %d records, want %d", p, len(h), len(w))
		}
		for i := range w {
			if h[i].Offset != w[i].Offset || string(h[i].Key) != string(w[i].Key) || string(h[i].Value) != string(w[i].Value) ||
				len(h[i].Headers) != len(w[i].Headers) || string(h[i].Headers[2].Value) != string(w[i].Headers[2].Value) {
				t.Fatalf("partition %d record %d: got offset %d key %s value %s, want offset %d key %s value %s",
					p, i, h[i].Offset, h[i].Key, h[i].Value, w[i].Offset, w[i].Key, w[i].Value)
			}
		}
		n += len(w)
	}
	if n != len(got) {
		t.Fatalf("got %d records, want %d", len(got), n)
	}
}

func total(r *kgo.Record) int {
	var o order
	_ = json.Unmarshal(r.Value, &o)
	return o.Total
}

func TestViewFranzGo(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	if _, err := adm.CreateTopic(ctx, 3, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("orders"), kgo.ProducerLinger(time.Millisecond))
	src := produceOrders(t, prod, "orders", 0, 600)

	filter := "value.total > 1000"
	res, err := adm.CreateTopic(ctx, -1, -1, map[string]*string{views.SourceConfig: kadm.StringPtr("orders"), views.FilterConfig: &filter}, "big-orders")
	if err != nil || res.Err != nil {
		t.Fatalf("create view: %v %v", err, res.Err)
	}
	// Metadata lists it with the source's partitions.
	md, err := adm.Metadata(ctx, "big-orders")
	if err != nil || md.Topics["big-orders"].Err != nil || len(md.Topics["big-orders"].Partitions) != 3 {
		t.Fatalf("metadata: %v %+v", err, md.Topics["big-orders"])
	}
	// DescribeConfigs shows its definition.
	rc, err := adm.DescribeTopicConfigs(ctx, "big-orders")
	if err != nil {
		t.Fatal(err)
	}
	cfgs := map[string]string{}
	for _, c := range rc[0].Configs {
		cfgs[c.Key] = c.MaybeValue()
	}
	if cfgs[views.SourceConfig] != "orders" || cfgs[views.FilterConfig] != filter {
		t.Fatalf("describe configs: %v", cfgs)
	}

	big := func(r *kgo.Record) bool { return total(r) > 1000 }
	nWant := 0
	for _, r := range src {
		if big(r) {
			nWant++
		}
	}
	cons := srv.Client(t, kgo.ConsumeTopics("big-orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consumeAll(t, cons, nWant)
	checkMatching(t, src, got, big)

	// Records produced while consuming arrive too.
	more := produceOrders(t, prod, "orders", 600, 300)
	n2 := 0
	for _, r := range more {
		if big(r) {
			n2++
		}
	}
	got2 := consumeAll(t, cons, n2)
	checkMatching(t, more, got2, big)

	// Produce to the view is refused, naming the source.
	err = prod.ProduceSync(ctx, &kgo.Record{Topic: "big-orders", Value: []byte("x")}).FirstErr()
	if !errors.Is(err, kerr.InvalidTopicException) {
		t.Fatalf("produce to view: %v", err)
	}

	// ListOffsets: the source's offsets.
	ends, err := adm.ListEndOffsets(ctx, "big-orders")
	if err != nil {
		t.Fatal(err)
	}
	srcEnds, _ := adm.ListEndOffsets(ctx, "orders")
	for p := int32(0); p < 3; p++ {
		e, _ := ends.Lookup("big-orders", p)
		s, _ := srcEnds.Lookup("orders", p)
		if e.Err != nil || e.Offset != s.Offset {
			t.Fatalf("end offset p%d: %+v, source %+v", p, e, s)
		}
	}

	// Invalid and too costly filters are refused with INVALID_CONFIG and the column.
	for _, bad := range []string{"value.total >", "value.total", "headers.all(a, headers.all(b, headers.all(c, key.contains(a+b+c))))", "nosuch == 1"} {
		res, err := adm.CreateTopic(ctx, -1, -1, map[string]*string{views.SourceConfig: kadm.StringPtr("orders"), views.FilterConfig: kadm.StringPtr(bad)}, "bad-view")
		if err == nil {
			err = res.Err
		}
		if !errors.Is(err, kerr.InvalidConfig) || !strings.Contains(res.ErrMessage, "column") {
			t.Fatalf("filter %q: %v (%s)", bad, err, res.ErrMessage)
		}
	}
	// Unknown source.
	res, _ = adm.CreateTopic(ctx, -1, -1, map[string]*string{views.SourceConfig: kadm.StringPtr("nope"), views.FilterConfig: &filter}, "bad-view")
	if !errors.Is(res.Err, kerr.InvalidConfig) {
		t.Fatalf("unknown source: %v", res.Err)
	}
	// The source cannot be deleted under its view.
	dr, _ := adm.DeleteTopics(ctx, "orders")
	if !errors.Is(dr["orders"].Err, kerr.PolicyViolation) {
		t.Fatalf("delete source: %+v", dr["orders"])
	}
	// DeleteTopics removes the view only.
	dr, err = adm.DeleteTopics(ctx, "big-orders")
	if err != nil || dr["big-orders"].Err != nil {
		t.Fatalf("delete view: %v %+v", err, dr["big-orders"])
	}
	md, _ = adm.Metadata(ctx)
	if _, ok := md.Topics["big-orders"]; ok {
		t.Fatal("view still listed")
	}
	if _, ok := md.Topics["orders"]; !ok {
		t.Fatal("source gone")
	}
}
