package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/eventstore"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/schema"
	"github.com/eddy-streaming/eddy/internal/share"
)

func TestAdminProduce(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 3, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	var got struct {
		Topic     string
		Partition int32
		Offset    int64
	}
	body := `{"key":"order-42","headers":[{"key":"ce_type","value":"OrderCreated"},{"key":"empty","value":null}],"value":{"total":99.5}}`
	if code := e.call(t, "POST", "/v1/topics/orders/messages", body, &got); code != 201 || got.Topic != "orders" {
		t.Fatalf("produce: %d %+v", code, got)
	}
	// The key's partition is the one Kafka's default partitioner picks.
	rec := &kgo.Record{Topic: "orders", Key: []byte("order-42"), Value: []byte("x")}
	cl, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.DefaultProduceTopic("orders"))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if err := cl.ProduceSync(ctx, rec).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if rec.Partition != got.Partition {
		t.Errorf("produced to partition %d, franz-go's default partitioner picks %d", got.Partition, rec.Partition)
	}
	var p msgPage
	e.call(t, "GET", fmt.Sprintf("/v1/topics/orders/messages?partition=%d&offset=%d&order=oldest&limit=1", got.Partition, got.Offset), "", &p)
	if len(p.Messages) != 1 || *p.Messages[0].Key != "order-42" || string(p.Messages[0].ValueJSON) != `{"total":99.5}` ||
		len(p.Messages[0].Headers) != 2 || *p.Messages[0].Headers[0].Value != "OrderCreated" || p.Messages[0].Headers[1].Value != nil {
		t.Fatalf("produced record reads back as %+v", p.Messages)
	}
	if code := e.call(t, "POST", "/v1/topics/orders/messages", `{"partition":2,"key":"k"}`, &got); code != 201 || got.Partition != 2 {
		t.Fatalf("tombstone to partition 2: %d %+v", code, got)
	}
	var tomb msgPage
	e.call(t, "GET", "/v1/topics/orders/messages?partition=2&limit=1", "", &tomb)
	if len(tomb.Messages) != 1 || tomb.Messages[0].ValueJSON != nil || tomb.Messages[0].ValueText != nil || *tomb.Messages[0].Key != "k" {
		t.Errorf("tombstone reads back as %+v", tomb.Messages)
	}
	if code := e.call(t, "PUT", "/v1/views/big", `{"source":"orders","filter":"true"}`, nil); code != 201 {
		t.Fatalf("create view: %d", code)
	}
	var eb errBody
	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/topics/orders/messages", `{"partition":3,"value":1}`, 400, "partitions 0 to 2"},
		{"/v1/topics/orders/messages", `{"value":{`, 400, "malformed JSON"},
		{"/v1/topics/orders/messages", `{"headers":[{"value":"x"}]}`, 400, "no key"},
		{"/v1/topics/nope/messages", `{"value":1}`, 404, "nope"},
		{"/v1/topics/big/messages", `{"value":1}`, 409, "view"},
	} {
		if code := e.call(t, "POST", c.path, c.body, &eb); code != c.code || !strings.Contains(eb.Error.Message, c.want) {
			t.Errorf("%s %s: %d %+v, want %d naming %q", c.path, c.body, code, eb, c.code, c.want)
		}
	}
}

func TestAdminAlterConfigs(t *testing.T) {
	e := startAdmin(t, true)
	if code := e.call(t, "POST", "/v1/topics", `{"name":"cfg","partitions":1,"configs":{"retention.bytes":"1000000"}}`, nil); code != 201 {
		t.Fatalf("create: %d", code)
	}
	var ans struct{ Configs map[string]string }
	if code := e.call(t, "PATCH", "/v1/topics/cfg/configs", `{"set":{"retention.ms":"3600000"},"delete":["retention.bytes"]}`, &ans); code != 200 ||
		ans.Configs["retention.ms"] != "3600000" || ans.Configs["retention.bytes"] != "" {
		t.Fatalf("alter: %d %+v", code, ans)
	}
	var tp struct{ RetentionMs int64 }
	e.call(t, "GET", "/v1/topics/cfg", "", &tp)
	if tp.RetentionMs != 3600000 {
		t.Errorf("retentionMs after alter: %d", tp.RetentionMs)
	}
	var eb errBody
	if code := e.call(t, "PATCH", "/v1/topics/cfg/configs", `{"set":{"no.such.config":"1"}}`, &eb); code != 400 || !strings.Contains(eb.Error.Message, "no.such.config") {
		t.Errorf("unknown config: %d %+v", code, eb)
	}
	if code := e.call(t, "PATCH", "/v1/topics/cfg/configs", `{"set":{"retention.ms":"soon"}}`, &eb); code != 400 {
		t.Errorf("bad value: %d %+v", code, eb)
	}
	if code := e.call(t, "PATCH", "/v1/topics/cfg/configs", `{}`, &eb); code != 400 {
		t.Errorf("empty change: %d %+v", code, eb)
	}
	ro := startAdmin(t, false)
	if code := ro.call(t, "POST", "/v1/topics", `{"name":"cfg"}`, nil); code != 403 {
		t.Fatalf("read-only create: %d", code)
	}
	if code := ro.call(t, "PATCH", "/v1/topics/cfg/configs", `{"set":{"retention.ms":"1"}}`, &eb); code != 403 || !strings.Contains(eb.Error.Message, "--console-write") {
		t.Errorf("read-only alter: %d %+v", code, eb)
	}
}

func TestAdminDeleteGroup(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "work"); err != nil {
		t.Fatal(err)
	}
	if err := e.cl.ProduceSync(ctx, &kgo.Record{Topic: "work", Value: []byte("1")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "work", Partition: 0, At: 1, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "billing", os); err != nil {
		t.Fatal(err)
	}
	// A share group that has received once.
	if code := e.call(t, "POST", "/v1/share-groups/workers/receive", `{"topics":["work"],"max":1,"waitMs":100}`, nil); code != 200 {
		t.Fatalf("receive: %d", code)
	}
	if code := e.call(t, "POST", "/v1/share-groups/workers/receive", `{"topics":["work"],"max":1,"waitMs":100}`, nil); code != 200 {
		t.Fatalf("receive: %d", code)
	}
	var eb errBody
	if code := e.call(t, "DELETE", "/v1/groups/billing?type=other", "", &eb); code != 400 {
		t.Errorf("bad type: %d", code)
	}
	if code := e.call(t, "DELETE", "/v1/groups/billing", "", nil); code != 204 {
		t.Fatalf("delete classic group: %d", code)
	}
	if code := e.call(t, "GET", "/v1/groups/billing", "", &eb); code != 404 {
		t.Errorf("deleted group still described: %d", code)
	}
	if code := e.call(t, "DELETE", "/v1/groups/billing?type=classic", "", &eb); code != 404 {
		t.Errorf("delete again: %d %+v", code, eb)
	}
	var st struct {
		ShareGroups []struct{ Group string } `json:"share_groups"`
	}
	e.call(t, "GET", "/v1/status", "", &st)
	if len(st.ShareGroups) != 1 {
		t.Fatalf("share groups before delete: %+v", st)
	}
	// GET /v1/share-groups lists it with its counters.
	var shares []share.Status
	if code := e.call(t, "GET", "/v1/share-groups", "", &shares); code != 200 || len(shares) != 1 || shares[0].Group != "workers" || shares[0].State != "Empty" {
		t.Fatalf("GET /v1/share-groups: %d %+v, want workers, Empty", code, shares)
	}
	if code := e.call(t, "DELETE", "/v1/groups/workers?type=share", "", &eb); code != 204 {
		t.Fatalf("delete share group: %d %+v", code, eb)
	}
	e.call(t, "GET", "/v1/status", "", &st)
	if len(st.ShareGroups) != 0 {
		t.Errorf("share groups after delete: %+v", st)
	}
	if code := e.call(t, "GET", "/v1/share-groups", "", &shares); code != 200 || shares == nil || len(shares) != 0 {
		t.Errorf("GET /v1/share-groups after delete: %d %+v, want []", code, shares)
	}
	if code := e.call(t, "DELETE", "/v1/groups/workers?type=share", "", &eb); code != 404 {
		t.Errorf("delete share group again: %d %+v", code, eb)
	}
	// A group with an active member is refused.
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumerGroup("live"), kgo.ConsumeTopics("work"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for ctx.Err() == nil {
		fs := cons.PollRecords(ctx, 10)
		if fs.NumRecords() > 0 {
			break
		}
	}
	if code := e.call(t, "DELETE", "/v1/groups/live", "", &eb); code != 409 || !strings.Contains(eb.Error.Message, "active members") {
		t.Errorf("delete active group: %d %+v", code, eb)
	}
	ro := startAdmin(t, false)
	if code := ro.call(t, "DELETE", "/v1/groups/x", "", &eb); code != 403 {
		t.Errorf("read-only delete: %d", code)
	}
}

func TestAdminRedriveRange(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 1, 1, nil, "jobs"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 25 {
		recs = append(recs, &kgo.Record{Topic: "dlq.jobs", Value: []byte(fmt.Sprint(i)), Headers: []kgo.RecordHeader{
			{Key: "__dlq.errors.topic", Value: []byte("jobs")}, {Key: "__dlq.errors.partition", Value: []byte("0")}}})
	}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Redriven      []struct{ Offset int64 }
		Next          *int64
		HighWatermark *int64
	}
	total := 0
	for from := int64(0); ; {
		if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", fmt.Sprintf(`{"partition":0,"from":%d,"count":10}`, from), &res); code != 200 || res.Next == nil || *res.HighWatermark != 25 {
			t.Fatalf("range from %d: %d %+v", from, code, res)
		}
		total += len(res.Redriven)
		if *res.Next >= *res.HighWatermark {
			break
		}
		from = *res.Next
	}
	if total != 25 {
		t.Fatalf("redrove %d of 25", total)
	}
	var p msgPage
	e.call(t, "GET", "/v1/topics/jobs/messages?partition=0&order=oldest&limit=100", "", &p)
	if len(p.Messages) != 25 || string(p.Messages[24].ValueJSON) != "24" {
		t.Fatalf("jobs after range redrive: %d records", len(p.Messages))
	}
	var eb errBody
	for _, body := range []string{`{"partition":0,"from":0,"count":0}`, `{"partition":0,"from":0,"count":1001}`, `{"partition":0,"from":0,"count":1,"offsets":[1]}`} {
		if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", body, &eb); code != 400 {
			t.Errorf("%s: %d %+v", body, code, eb)
		}
	}
}

func TestAdminOffsetResetPartitions(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	if _, err := adm.CreateTopic(ctx, 4, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	var res struct {
		Partitions []struct{ Partition int32 }
	}
	if code := e.call(t, "POST", "/v1/groups/g/offsets/reset", `{"to":"latest","topic":"wide","partitions":[1,3]}`, &res); code != 200 || len(res.Partitions) != 2 || res.Partitions[1].Partition != 3 {
		t.Fatalf("reset of two partitions: %d %+v", code, res)
	}
	var g struct{ Offsets []struct{ Partition int32 } }
	e.call(t, "GET", "/v1/groups/g", "", &g)
	if len(g.Offsets) != 2 {
		t.Errorf("committed after partial reset: %+v", g)
	}
	var eb errBody
	if code := e.call(t, "POST", "/v1/groups/g/offsets/reset", `{"to":"latest","topic":"wide","partitions":[4]}`, &eb); code != 400 {
		t.Errorf("partition out of range: %d", code)
	}
	if code := e.call(t, "POST", "/v1/groups/g/offsets/reset", `{"to":"latest","partitions":[0]}`, &eb); code != 400 {
		t.Errorf("partitions without topic: %d", code)
	}
}

func TestAdminSearchStreams(t *testing.T) {
	e := startAdmin(t, true)
	for _, s := range []string{"order-1", "order-10", "order-2", "order-3", "customer-1", "order-300", "ord"} {
		body := `{"events":[{"id":"a-` + s + `","type":"Created","data":{}},{"id":"b-` + s + `","type":"Paid","data":{}}]}`
		if code := e.call(t, "POST", "/v1/topics/shop/streams/"+s, body, nil); code != 200 && code != 201 {
			t.Fatalf("append %s: %d", s, code)
		}
	}
	type page struct {
		Streams []struct {
			Stream    string
			Partition int32
			Version   int64
		}
		Next string
	}
	var names []string
	after := ""
	for range 10 {
		var p page
		if code := e.call(t, "GET", "/v1/topics/shop/streams?prefix=order-&limit=2&after="+after, "", &p); code != 200 {
			t.Fatalf("search: %d", code)
		}
		for _, s := range p.Streams {
			if s.Version != 1 {
				t.Errorf("%s at version %d, want 1", s.Stream, s.Version)
			}
			names = append(names, s.Stream)
		}
		if p.Next == "" {
			break
		}
		after = p.Next
	}
	if fmt.Sprint(names) != "[order-1 order-10 order-2 order-3 order-300]" {
		t.Errorf("prefix order- paged by 2: %v", names)
	}
	var all page
	e.call(t, "GET", "/v1/topics/shop/streams", "", &all)
	if len(all.Streams) != 7 || all.Next != "" {
		t.Errorf("all streams: %+v", all)
	}
	var eb errBody
	if code := e.call(t, "GET", "/v1/topics/shop/streams?limit=1001", "", &eb); code != 400 {
		t.Errorf("limit over 1000: %d", code)
	}
	if code := e.call(t, "POST", "/v1/topics", `{"name":"plain"}`, nil); code != 201 {
		t.Fatal("create plain")
	}
	if code := e.call(t, "GET", "/v1/topics/plain/streams", "", &eb); code != 400 || eb.Error.Code != "not_stream_topic" {
		t.Errorf("plain topic: %d %+v", code, eb)
	}
}

func TestAdminDecodeWithSchema(t *testing.T) {
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka.Addr, cfg.HTTP.Addr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.SchemaRegistry = &node.SchemaRegistryConfig{}
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close(context.Background())
	e := &adminEnv{base: "http://" + n.HTTP.Addr().String()}
	avroText := `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double"}]}`
	req, _ := json.Marshal(map[string]string{"schema": avroText})
	var reg struct{ ID int32 }
	if code := e.call(t, "POST", "/schema-registry/subjects/orders-value/versions", string(req), &reg); code != 200 {
		t.Fatalf("register: %d", code)
	}
	s := avro.MustParse(avroText)
	datum, err := avro.Marshal(s, map[string]any{"id": "o-1", "total": 12.5})
	if err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()), kgo.AllowAutoTopicCreation(), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	good := append(schema.AppendWire(nil, reg.ID), datum...)
	bad := append(schema.AppendWire(nil, reg.ID), 0xff)
	unknown := append(schema.AppendWire(nil, 999), datum...)
	for _, v := range [][]byte{good, bad, unknown} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "orders", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	var p struct {
		Messages []struct {
			ValueJSON   json.RawMessage `json:"valueJson"`
			ValueText   *string         `json:"valueText"`
			ValueBase64 string          `json:"valueBase64"`
			ValueSchema *struct {
				ID      int32
				Type    string
				Subject string
				Version int
			} `json:"valueSchema"`
			ValueSchemaError string `json:"valueSchemaError"`
		}
	}
	e.call(t, "GET", "/v1/topics/orders/messages?partition=0&order=oldest", "", &p)
	if len(p.Messages) != 3 {
		t.Fatalf("%d messages", len(p.Messages))
	}
	m := p.Messages[0]
	if m.ValueSchema == nil || m.ValueSchema.ID != reg.ID || m.ValueSchema.Type != "AVRO" || m.ValueSchema.Subject != "orders-value" || string(m.ValueJSON) != `{"id":"o-1","total":12.5}` {
		t.Errorf("avro value decoded as %s with %+v", m.ValueJSON, m.ValueSchema)
	}
	if m := p.Messages[1]; m.ValueSchemaError == "" || m.ValueBase64 == "" || m.ValueSchema != nil {
		t.Errorf("undecodable value: %+v", m)
	}
	if m := p.Messages[2]; m.ValueSchema != nil || m.ValueSchemaError != "" || (m.ValueBase64 == "" && m.ValueText == nil) {
		t.Errorf("unknown schema id: %+v", m)
	}

	// Protobuf (the second message of its file, so the wire value carries
	// message indexes) and JSON Schema, each in the wire format.
	ids := map[string]int32{}
	for subject, body := range map[string]map[string]string{
		"paid-value": {"schemaType": "PROTOBUF", "schema": "syntax = \"proto3\";\npackage shop;\nmessage Other { bool b = 1; }\nmessage Paid { string id = 1; int32 cents = 2; }\n"},
		"note-value": {"schemaType": "JSON", "schema": `{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}`},
	} {
		b, _ := json.Marshal(body)
		var r struct{ ID int32 }
		if code := e.call(t, "POST", "/schema-registry/subjects/"+subject+"/versions", string(b), &r); code != 200 {
			t.Fatalf("register %s: %d", subject, code)
		}
		ids[subject] = r.ID
	}
	// Paid{id: "p-1", cents: 250}: field 1 (string), field 2 (varint).
	paid := append(schema.AppendIndexes(schema.AppendWire(nil, ids["paid-value"]), []int{1}), 0x0a, 3, 'p', '-', '1', 0x10, 0xfa, 0x01)
	note := append(schema.AppendWire(nil, ids["note-value"]), `{"text":"hello"}`...)
	for _, v := range [][]byte{paid, note} {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: "typed", Value: v}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	e.call(t, "GET", "/v1/topics/typed/messages?partition=0&order=oldest", "", &p)
	if len(p.Messages) != 2 {
		t.Fatalf("typed: %d messages", len(p.Messages))
	}
	for i, want := range []struct {
		typ, subject, value string
	}{{"PROTOBUF", "paid-value", `{"id":"p-1","cents":250}`}, {"JSON", "note-value", `{"text":"hello"}`}} {
		m := p.Messages[i]
		var got, exp any
		_ = json.Unmarshal(m.ValueJSON, &got)
		_ = json.Unmarshal([]byte(want.value), &exp)
		if m.ValueSchema == nil || m.ValueSchema.Type != want.typ || m.ValueSchema.Subject != want.subject || fmt.Sprint(got) != fmt.Sprint(exp) {
			t.Errorf("%s value decoded as %s with %+v (error %q), want %s", want.typ, m.ValueJSON, m.ValueSchema, m.ValueSchemaError, want.value)
		}
	}

	// Many JSON Schema values in compressed batches over three
	// partitions, browsed together: each decoded value must be its own
	// record's (a decoded JSON payload once aliased the read buffer that
	// the next partition's read reused, and the page failed to encode).
	if _, err := kadm.NewClient(cl).CreateTopic(ctx, 3, 1, nil, "notes"); err != nil {
		t.Fatal(err)
	}
	var batch []*kgo.Record
	want := map[string]bool{}
	for i := range 60 {
		text := fmt.Sprintf(`{"text":"note number %d with some words to compress"}`, i)
		want[text] = true
		batch = append(batch, &kgo.Record{Topic: "notes", Partition: int32(i % 3), Value: append(schema.AppendWire(nil, ids["note-value"]), text...)})
	}
	if err := cl.ProduceSync(ctx, batch...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if code := e.call(t, "GET", "/v1/topics/notes/messages?limit=60&order=oldest", "", &p); code != 200 {
		t.Fatalf("browse notes: %d", code)
	}
	if len(p.Messages) != 60 {
		t.Fatalf("notes: %d messages, want 60", len(p.Messages))
	}
	for _, m := range p.Messages {
		if m.ValueSchema == nil || !want[string(m.ValueJSON)] {
			t.Errorf("notes value %s (schema %+v, error %q): not a produced value", m.ValueJSON, m.ValueSchema, m.ValueSchemaError)
		}
		delete(want, string(m.ValueJSON))
	}
}

// TestAdminRedriveTo redrives dead letters to another topic than their
// original one: a keyed record to its key's partition there, an unkeyed
// one to its original partition number modulo the target's count.
func TestAdminRedriveTo(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	for _, tp := range []struct {
		name string
		n    int32
	}{{"jobs", 5}, {"jobs-retry", 3}} {
		if _, err := adm.CreateTopic(ctx, tp.n, 1, nil, tp.name); err != nil {
			t.Fatal(err)
		}
	}
	hdrs := []kgo.RecordHeader{{Key: "__dlq.errors.topic", Value: []byte("jobs")}, {Key: "__dlq.errors.partition", Value: []byte("4")}}
	recs := []*kgo.Record{{Topic: "dlq.jobs", Key: []byte("job-7"), Value: []byte(`1`), Headers: hdrs}, {Topic: "dlq.jobs", Value: []byte(`2`), Headers: hdrs}}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	keyed := eventstore.Partition([]byte("job-7"), 3)
	var res struct {
		Redriven []struct {
			Offset    int64
			Topic     string
			Partition int32
			NewOffset *int64
		}
	}
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0,1],"to":"jobs-retry","dryRun":true}`, &res); code != 200 || len(res.Redriven) != 2 ||
		res.Redriven[0].Topic != "jobs-retry" || res.Redriven[0].Partition != keyed || res.Redriven[1].Partition != 1 || res.Redriven[0].NewOffset != nil {
		t.Fatalf("dry run to jobs-retry: %d %+v", code, res)
	}
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0,1],"to":"jobs-retry"}`, &res); code != 200 || len(res.Redriven) != 2 || res.Redriven[1].NewOffset == nil {
		t.Fatalf("redrive to jobs-retry: %d %+v", code, res)
	}
	var p msgPage
	e.call(t, "GET", fmt.Sprintf("/v1/topics/jobs-retry/messages?partition=%d", keyed), "", &p)
	if len(p.Messages) != 1 || *p.Messages[0].Key != "job-7" {
		t.Errorf("jobs-retry/%d after redrive: %+v", keyed, p.Messages)
	}
	e.call(t, "GET", "/v1/topics/jobs-retry/messages?partition=1", "", &p)
	if n := len(p.Messages); (keyed == 1 && n != 2) || (keyed != 1 && n != 1) {
		t.Errorf("jobs-retry/1 after redrive: %+v", p.Messages)
	}
	var jobs struct{ Records int64 }
	e.call(t, "GET", "/v1/topics/jobs", "", &jobs)
	if jobs.Records != 0 {
		t.Errorf("original topic got %d records", jobs.Records)
	}
	var eb errBody
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0],"to":"dlq.jobs"}`, &eb); code != 400 || !strings.Contains(eb.Error.Message, "dead-letter topic itself") {
		t.Errorf("redrive into itself: %d %+v", code, eb)
	}
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0],"to":"nowhere"}`, &eb); code != 404 {
		t.Errorf("redrive to a missing topic: %d %+v", code, eb)
	}
	ro := startAdmin(t, false)
	if code := ro.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0],"to":"jobs-retry"}`, &eb); code != 403 {
		t.Errorf("read-only redrive to another topic: %d %+v", code, eb)
	}
}

// TestAdminShareOffsetReset moves a share group's start offsets: a dry run
// moves nothing, earliest redelivers from the log start, an offset starts
// there; a bad body is 400, a missing topic 404, and a read-only server
// refuses all but dry runs.
func TestAdminShareOffsetReset(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 2, 1, nil, "work"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "work", Partition: int32(i % 2), Value: []byte(fmt.Sprint(i))})
	}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	type received struct {
		Records []struct {
			Partition int32
			Offset    int64
		}
	}
	receive := func() received {
		t.Helper()
		var r received
		if code := e.call(t, "POST", "/v1/share-groups/workers/receive", `{"topics":["work"],"max":100,"waitMs":200}`, &r); code != 200 {
			t.Fatalf("receive: %d", code)
		}
		return r
	}
	// A new share group starts at latest: nothing of the 10 is delivered.
	if r := receive(); len(r.Records) != 0 {
		t.Fatalf("first receive got %d records, want 0 (share.auto.offset.reset latest)", len(r.Records))
	}
	var res struct {
		DryRun     bool
		Partitions []struct {
			Partition               int32
			StartBefore, StartAfter int64
		}
	}
	if code := e.call(t, "POST", "/v1/share-groups/workers/offsets/reset", `{"topic":"work","to":"earliest","dryRun":true}`, &res); code != 200 || !res.DryRun || len(res.Partitions) != 2 ||
		res.Partitions[1].StartBefore != 5 || res.Partitions[1].StartAfter != 0 {
		t.Fatalf("dry run: %d %+v", code, res)
	}
	if r := receive(); len(r.Records) != 0 {
		t.Fatalf("a dry run moved the start: %d records delivered", len(r.Records))
	}
	if code := e.call(t, "POST", "/v1/share-groups/workers/offsets/reset", `{"topic":"work","to":"earliest"}`, &res); code != 200 || res.DryRun || res.Partitions[0].StartAfter != 0 {
		t.Fatalf("reset to earliest: %d %+v", code, res)
	}
	if r := receive(); len(r.Records) != 10 {
		t.Fatalf("after reset to earliest: %d records delivered, want 10", len(r.Records))
	}
	if code := e.call(t, "POST", "/v1/share-groups/workers/offsets/reset", `{"topic":"work","to":"offset","offset":3}`, &res); code != 200 || res.Partitions[0].StartAfter != 3 {
		t.Fatalf("reset to offset 3: %d %+v", code, res)
	}
	if r := receive(); len(r.Records) != 4 || r.Records[0].Offset < 3 {
		t.Fatalf("after reset to offset 3: %+v, want offsets 3 and 4 of both partitions", r.Records)
	}
	var eb errBody
	for _, c := range []struct {
		body string
		code int
	}{
		{`{"topic":"work","to":"soon"}`, 400},
		{`{"to":"earliest"}`, 400},
		{`{"topic":"work","to":"offset","offset":-1}`, 400},
		{`{"topic":"nowhere","to":"earliest"}`, 404},
	} {
		if code := e.call(t, "POST", "/v1/share-groups/workers/offsets/reset", c.body, &eb); code != c.code {
			t.Errorf("%s: %d %+v, want %d", c.body, code, eb, c.code)
		}
	}
	ro := startAdmin(t, false)
	if code := ro.call(t, "POST", "/v1/share-groups/workers/offsets/reset", `{"topic":"work","to":"earliest"}`, &eb); code != 403 || !strings.Contains(eb.Error.Message, "--console-write") {
		t.Errorf("read-only reset: %d %+v", code, eb)
	}
}
