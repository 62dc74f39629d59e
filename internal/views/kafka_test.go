package views_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/eventstore"
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

	// DeleteRecords cannot reach the source through the view.
	drs, err := adm.DeleteRecords(ctx, kadm.Offsets{"big-orders": {0: {At: 100}}})
	if err != nil {
		t.Fatal(err)
	}
	if dr, _ := drs.Lookup("big-orders", 0); dr.Err == nil {
		t.Fatal("DeleteRecords on a view succeeded")
	}
	if starts, _ := adm.ListStartOffsets(ctx, "orders"); starts["orders"][0].Offset != 0 {
		t.Fatalf("source start moved: %+v", starts["orders"][0])
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

// createView defines a view through CreateTopics.
func createView(t testing.TB, adm *kadm.Client, name, source, expr string) {
	t.Helper()
	res, err := adm.CreateTopic(ctxT(t), -1, -1, map[string]*string{views.SourceConfig: &source, views.FilterConfig: &expr}, name)
	if err != nil || res.Err != nil {
		t.Fatalf("create view %s: %v %v %s", name, err, res.Err, res.ErrMessage)
	}
}

func count(recs []*kgo.Record, match func(*kgo.Record) bool) int {
	n := 0
	for _, r := range recs {
		if match(r) {
			n++
		}
	}
	return n
}

func header(r *kgo.Record, k string) string {
	v := ""
	for _, h := range r.Headers {
		if h.Key == k {
			v = string(h.Value)
		}
	}
	return v
}

// A consumer group on a view commits, resumes after a restart of the
// broker where it left off, and its lag is reported against the source.
func TestViewGroupCommitResumeRestart(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("orders"))
	src := produceOrders(t, prod, "orders", 0, 400)
	createView(t, adm, "cancelled", "orders", `ce.type == "OrderCancelled"`)
	cancelled := func(r *kgo.Record) bool { return header(r, "ce_type") == "OrderCancelled" }

	cons := srv.Client(t, kgo.ConsumeTopics("cancelled"), kgo.ConsumerGroup("g1"), kgo.DisableAutoCommit(),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consumeAll(t, cons, count(src, cancelled))
	checkMatching(t, src, got, cancelled)
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	cons.Close()

	// Committed offsets and lag: the group is caught up on the view.
	lags, err := adm.Lag(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	// Lag counts source offsets: the group committed past its last
	// matching record, so what remains are the records after it.
	trailing := func(recs []*kgo.Record) int64 {
		last := map[int32]int64{}
		end := map[int32]int64{}
		for _, r := range recs {
			if cancelled(r) {
				last[r.Partition] = r.Offset + 1
			}
			end[r.Partition] = r.Offset + 1
		}
		n := int64(0)
		for p, e := range end {
			n += e - last[p]
		}
		return n
	}
	gl := lags["g1"]
	if gl.Error() != nil || gl.Lag.Total() != trailing(src) {
		t.Fatalf("lag after consuming: %v total %d, want %d", gl.Error(), gl.Lag.Total(), trailing(src))
	}
	// The broker restarts; the view and the group's offsets survive.
	srv.Restart(t)
	prod = srv.Client(t, kgo.DefaultProduceTopic("orders"))
	more := produceOrders(t, prod, "orders", 400, 200)
	adm = kadm.NewClient(srv.Client(t))
	lags, err = adm.Lag(ctx, "g1")
	if err != nil {
		t.Fatal(err)
	}
	if l := lags["g1"].Lag.Total(); l != 200+trailing(src) {
		t.Fatalf("lag after 200 more source records: %d (lag counts source offsets)", l)
	}
	cons = srv.Client(t, kgo.ConsumeTopics("cancelled"), kgo.ConsumerGroup("g1"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got = consumeAll(t, cons, count(more, cancelled))
	checkMatching(t, more, got, cancelled)
}

// A long stretch of records that do not match still moves a consumer
// forward: it gets the record that matches after it, and its position
// passes the stretch even when nothing matches at all.
func TestViewScanAhead(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "events"); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("events"), kgo.ProducerLinger(5*time.Millisecond))
	pad := strings.Repeat("p", 1000)
	var recs []*kgo.Record
	const n = 20_000
	for i := 0; i < n; i++ {
		recs = append(recs, &kgo.Record{Value: []byte(`{"kind": "noise", "pad": "` + pad + `"}`)})
	}
	if err := prod.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	createView(t, adm, "signal", "events", `value.kind == "signal"`)
	// Nothing matches: raw fetches get empty batches that cover what was
	// scanned, so the next fetch offset reaches the end.
	raw := srv.Client(t)
	md, err := adm.Metadata(ctx, "signal")
	if err != nil {
		t.Fatal(err)
	}
	next, fetches := int64(0), 0
	for next < n {
		req := kmsg.NewPtrFetchRequest()
		req.Version = 12
		req.MaxWaitMillis, req.MinBytes, req.MaxBytes = 100, 1, 1<<20
		rt := kmsg.NewFetchRequestTopic()
		rt.Topic, rt.TopicID = "signal", md.Topics["signal"].ID
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.FetchOffset, rp.PartitionMaxBytes = next, 1<<20
		rt.Partitions = append(rt.Partitions, rp)
		req.Topics = append(req.Topics, rt)
		resp, err := req.RequestWith(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		p := resp.Topics[0].Partitions[0]
		if p.ErrorCode != 0 {
			t.Fatalf("fetch: %v", kerr.ErrorForCode(p.ErrorCode))
		}
		b := p.RecordBatches
		if len(b) == 0 {
			t.Fatalf("empty response at %d of %d: the consumer would not move", next, n)
		}
		var batch kmsg.RecordBatch
		if err := batch.ReadFrom(b); err != nil {
			t.Fatal(err)
		}
		if batch.NumRecords != 0 || batch.FirstOffset != next || len(b) != 61 {
			t.Fatalf("at %d: batch base %d with %d records, %d bytes", next, batch.FirstOffset, batch.NumRecords, len(b))
		}
		next = batch.FirstOffset + int64(batch.LastOffsetDelta) + 1
		fetches++
	}
	t.Logf("%d fetches moved past %d records", fetches, n)
	cons := srv.Client(t, kgo.ConsumeTopics("signal"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.FetchMaxBytes(1<<20), kgo.FetchMaxWait(200*time.Millisecond))
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	defer pcancel()
	if fs := cons.PollRecords(pctx, 10); len(fs.Records()) != 0 {
		t.Fatalf("got %d records, none match", len(fs.Records()))
	}
	if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte("s"), Value: []byte(`{"kind": "signal"}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	got := consumeAll(t, cons, 1)
	if got[0].Offset != n || string(got[0].Key) != "s" {
		t.Fatalf("got offset %d key %s", got[0].Offset, got[0].Key)
	}
}

// Views over sources produced with every codec return the matching
// records; partially matching batches arrive re-encoded.
func TestViewCompressedSources(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	for _, c := range []struct {
		name  string
		codec kgo.CompressionCodec
	}{{"none", kgo.NoCompression()}, {"gzip", kgo.GzipCompression()}, {"snappy", kgo.SnappyCompression()}, {"lz4", kgo.Lz4Compression()}, {"zstd", kgo.ZstdCompression()}} {
		topic := "src-" + c.name
		if _, err := adm.CreateTopic(ctx, 2, 1, nil, topic); err != nil {
			t.Fatal(err)
		}
		prod := srv.Client(t, kgo.DefaultProduceTopic(topic), kgo.ProducerBatchCompression(c.codec), kgo.ProducerLinger(5*time.Millisecond))
		src := produceOrders(t, prod, topic, 0, 500)
		createView(t, adm, "view-"+c.name, topic, `value.region == "EU" && value.total > 500`)
		match := func(r *kgo.Record) bool {
			var o order
			_ = json.Unmarshal(r.Value, &o)
			return o.Region == "EU" && o.Total > 500
		}
		cons := srv.Client(t, kgo.ConsumeTopics("view-"+c.name), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		got := consumeAll(t, cons, count(src, match))
		checkMatching(t, src, got, match)
	}
}

// A filter changed while a consumer reads applies from its next fetch.
func TestViewFilterChange(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("orders"))
	src := produceOrders(t, prod, "orders", 0, 100)
	createView(t, adm, "v", "orders", `value.region == "EU"`)
	eu := func(r *kgo.Record) bool { return strings.Contains(string(r.Value), `"EU"`) }
	us := func(r *kgo.Record) bool { return strings.Contains(string(r.Value), `"US"`) }
	cons := srv.Client(t, kgo.ConsumeTopics("v"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	checkMatching(t, src, consumeAll(t, cons, count(src, eu)), eu)

	// Bad filters are refused and leave the view as it was.
	for _, bad := range []string{"value.region ==", "1 + 1"} {
		r, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: views.FilterConfig, Value: kadm.StringPtr(bad)}}, "v")
		if err == nil {
			err = r[0].Err
		}
		if !errors.Is(err, kerr.InvalidConfig) {
			t.Fatalf("alter to %q: %v", bad, err)
		}
	}
	r, err := adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: views.FilterConfig, Value: kadm.StringPtr(`value.region == "US"`)}}, "v")
	if err != nil || r[0].Err != nil {
		t.Fatalf("alter: %v %v", err, r)
	}
	more := produceOrders(t, prod, "orders", 100, 100)
	checkMatching(t, more, consumeAll(t, cons, count(more, us)), us)
	rc, _ := adm.DescribeTopicConfigs(ctx, "v")
	if c, _ := rc[0].Configs[0], 0; c.Key != views.FilterConfig || c.MaybeValue() != `value.region == "US"` {
		t.Fatalf("describe after alter: %+v", rc[0].Configs)
	}
	// The source cannot change.
	r, _ = adm.AlterTopicConfigs(ctx, []kadm.AlterConfig{{Name: views.SourceConfig, Value: kadm.StringPtr("other")}}, "v")
	if !errors.Is(r[0].Err, kerr.InvalidConfig) {
		t.Fatalf("alter source: %v", r[0].Err)
	}
}

// A view over an event-store topic: events appended through the event
// store, selected by CloudEvents attributes and JSON data, read by a
// franz-go consumer with their headers.
func TestViewOverEventStore(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	var want []string
	for i := 0; i < 40; i++ {
		typ := "OrderPlaced"
		if i%4 == 1 {
			typ = "OrderCancelled"
		}
		stream := fmt.Sprintf("order-%d", i%5)
		ev := eventstore.EventData{ID: fmt.Sprintf("e%d", i), Type: typ, Data: json.RawMessage(fmt.Sprintf(`{"total": %d}`, i*50))}
		if _, err := srv.Events.Append(ctx, "shop", stream, eventstore.Any, []eventstore.EventData{ev}); err != nil {
			t.Fatal(err)
		}
		if typ == "OrderCancelled" && i*50 > 500 {
			want = append(want, fmt.Sprintf("%s e%d", stream, i))
		}
	}
	adm := kadm.NewClient(srv.Client(t))
	createView(t, adm, "late-cancellations", "shop", `ce.type == "OrderCancelled" && value.total > 500`)
	cons := srv.Client(t, kgo.ConsumeTopics("late-cancellations"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := consumeAll(t, cons, len(want))
	var have []string
	for _, r := range got {
		have = append(have, fmt.Sprintf("%s %s", r.Key, header(r, eventstore.HeaderID)))
	}
	slices.Sort(have)
	slices.Sort(want)
	if !slices.Equal(have, want) {
		t.Fatalf("got %q, want %q", have, want)
	}
}

// A consumer fetching all partitions of a view in one request gets them
// scanned in parallel; with a response budget smaller than one
// partition's matches, the scans the budget leaves out are dropped and
// fetched again: every matching record still arrives once, in order.
func TestViewParallelPartitionsUnderBudget(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx := ctxT(t)
	adm := kadm.NewClient(srv.Client(t))
	if _, err := adm.CreateTopic(ctx, 6, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("orders"), kgo.ProducerLinger(time.Millisecond))
	src := produceOrders(t, prod, "orders", 0, 3000)
	createView(t, adm, "some-orders", "orders", "value.total > 500")
	match := func(r *kgo.Record) bool { return total(r) > 500 }
	for _, maxBytes := range []int32{1, 4 << 10, 50 << 20} {
		cons := srv.Client(t, kgo.ConsumeTopics("some-orders"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.FetchMaxBytes(maxBytes), kgo.FetchMaxPartitionBytes(maxBytes))
		got := consumeAll(t, cons, count(src, match))
		checkMatching(t, src, got, match)
		cons.Close()
	}
}
