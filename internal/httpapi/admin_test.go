package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/node"
)

type adminEnv struct {
	base  string
	kafka string
	cl    *kgo.Client
}

// startAdmin opens a node with Kafka and HTTP listeners on loopback and
// the admin routes' writes on or off.
func startAdmin(t *testing.T, writes bool) *adminEnv {
	t.Helper()
	cfg := node.DefaultConfig(t.TempDir())
	cfg.Kafka.Addr = "127.0.0.1:0"
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.Admin.AllowWrites = writes
	n, err := node.Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := n.Close(context.Background()); err != nil {
			t.Error(err)
		}
	})
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return &adminEnv{base: "http://" + n.HTTP.Addr().String(), kafka: n.Kafka.Addr().String(), cl: cl}
}

// get decodes a JSON answer into out and returns the status.
func (e *adminEnv) call(t *testing.T, method, path, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, e.base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %d: %v in %q", method, path, resp.StatusCode, err, raw)
		}
	}
	return resp.StatusCode
}

type errBody struct {
	Error struct{ Code, Message string } `json:"error"`
}

func TestAdminTopicsPagedCreateDelete(t *testing.T) {
	e := startAdmin(t, true)
	for i := range 25 {
		body := fmt.Sprintf(`{"name":"t%02d","partitions":%d}`, i, 1+i%3)
		if code := e.call(t, "POST", "/v1/topics", body, nil); code != 201 {
			t.Fatalf("create t%02d: %d", i, code)
		}
	}
	var eb errBody
	if code := e.call(t, "POST", "/v1/topics", `{"name":"t00"}`, &eb); code != 409 || eb.Error.Code != "topic_exists" {
		t.Errorf("create existing: %d %+v", code, eb)
	}
	if code := e.call(t, "POST", "/v1/topics", `{"name":"bad/name"}`, &eb); code != 400 || eb.Error.Code != "invalid_topic" {
		t.Errorf("create bad name: %d %+v", code, eb)
	}
	var names []string
	after, pages := "", 0
	for {
		var page struct {
			Topics []struct {
				Name       string
				Partitions int
			}
			Total int
			Next  string
		}
		if code := e.call(t, "GET", "/v1/topics?limit=10&after="+after, "", &page); code != 200 {
			t.Fatalf("list: %d", code)
		}
		pages++
		if page.Total != 25 {
			t.Errorf("total %d, want 25", page.Total)
		}
		for _, tp := range page.Topics {
			names = append(names, tp.Name)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if pages != 3 || len(names) != 25 || names[0] != "t00" || names[24] != "t24" {
		t.Errorf("%d pages, names %v", pages, names)
	}
	var page struct{ Total int }
	e.call(t, "GET", "/v1/topics?prefix=t1", "", &page)
	if page.Total != 10 {
		t.Errorf("prefix t1: total %d, want 10", page.Total)
	}
	var detail struct {
		Partitions    int
		PartitionList []struct{ Partition int } `json:"partitionList"`
	}
	e.call(t, "GET", "/v1/topics/t02", "", &detail)
	if detail.Partitions != 3 || len(detail.PartitionList) != 3 {
		t.Errorf("t02 detail %+v", detail)
	}
	if code := e.call(t, "DELETE", "/v1/topics/t02", "", nil); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code := e.call(t, "GET", "/v1/topics/t02", "", &eb); code != 404 || eb.Error.Code != "topic_not_found" {
		t.Errorf("after delete: %d %+v", code, eb)
	}
}

func TestAdminWritesOff(t *testing.T) {
	e := startAdmin(t, false)
	for _, c := range []struct{ method, path, body string }{
		{"POST", "/v1/topics", `{"name":"x"}`},
		{"DELETE", "/v1/topics/x", ""},
	} {
		var eb errBody
		code := e.call(t, c.method, c.path, c.body, &eb)
		if code != 403 || eb.Error.Code != "forbidden" || !strings.Contains(eb.Error.Message, "--console-write") {
			t.Errorf("%s %s: %d %+v, want 403 forbidden naming --console-write", c.method, c.path, code, eb)
		}
	}
	var page struct{ Total int }
	if code := e.call(t, "GET", "/v1/topics", "", &page); code != 200 || page.Total != 0 {
		t.Errorf("list after refused create: %d %+v", code, page)
	}
}

type msgPage struct {
	Messages []struct {
		Partition   int32
		Offset      int64
		Key         *string
		ValueJSON   json.RawMessage `json:"valueJson"`
		ValueText   *string         `json:"valueText"`
		ValueBase64 string          `json:"valueBase64"`
		Headers     []struct {
			Key   string
			Value *string
		}
	}
	Next      *int64
	Scanned   int64
	Truncated bool
}

func (p msgPage) offsets() []int64 {
	var out []int64
	for _, m := range p.Messages {
		out = append(out, m.Offset)
	}
	return out
}

func TestAdminMessages(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 2, 1, nil, "m"); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	var recs []*kgo.Record
	for i := range 30 {
		recs = append(recs, &kgo.Record{Topic: "m", Partition: 0, Key: []byte(fmt.Sprintf("k%d", i)), Timestamp: base.Add(time.Duration(i) * time.Second),
			Value: []byte(fmt.Sprintf(`{"n":%d}`, i)), Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte("T")}}})
	}
	recs = append(recs,
		&kgo.Record{Topic: "m", Partition: 1, Value: []byte("plain text")},
		&kgo.Record{Topic: "m", Partition: 1, Value: []byte{0xff, 0x00}},
		&kgo.Record{Topic: "m", Partition: 1, Key: []byte("gone")}, // tombstone
	)
	// One at a time: several batches, so windows cross batch borders.
	for _, r := range recs {
		if err := e.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	get := func(q string) msgPage {
		t.Helper()
		var p msgPage
		if code := e.call(t, "GET", "/v1/topics/m/messages?"+q, "", &p); code != 200 {
			t.Fatalf("browse %s: %d", q, code)
		}
		return p
	}
	eq := func(what string, got []int64, want ...int64) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: offsets %v, want %v", what, got, want)
		}
	}
	p := get("partition=0&limit=5")
	eq("newest", p.offsets(), 29, 28, 27, 26, 25)
	if p.Next == nil || *p.Next != 25 {
		t.Errorf("newest next %v, want 25", p.Next)
	}
	eq("newest page 2", get("partition=0&limit=5&offset=25").offsets(), 24, 23, 22, 21, 20)
	p = get("partition=0&limit=3&offset=5&order=oldest")
	eq("oldest from 5", p.offsets(), 5, 6, 7)
	if p.Next == nil || *p.Next != 8 {
		t.Errorf("oldest next %v, want 8", p.Next)
	}
	eq("oldest to the end", get("partition=0&offset=27&order=oldest").offsets(), 27, 28, 29)
	eq("newest to the start", get("partition=0&offset=2").offsets(), 1, 0)
	// A filter over value and key: only even n below 10, newest first.
	p = get("partition=0&filter=" + url.QueryEscape(`value.n % 2 == 0 && value.n < 10 && key != "k4"`))
	eq("filter", p.offsets(), 8, 6, 2, 0)
	if p.Scanned != 30 {
		t.Errorf("filter scanned %d, want 30", p.Scanned)
	}
	eq("filter on a CE attribute", get("partition=0&limit=2&filter="+url.QueryEscape(`ce.type == "T"`)).offsets(), 29, 28)
	// By time: the first record at or after base+10s, oldest first.
	eq("time", get(fmt.Sprintf("partition=0&limit=2&order=oldest&time=%d", base.Add(10*time.Second).UnixMilli())).offsets(), 10, 11)
	// Values: JSON, text, hex-able bytes, tombstone.
	p = get("partition=1&order=oldest")
	if len(p.Messages) != 3 || p.Messages[0].ValueText == nil || *p.Messages[0].ValueText != "plain text" ||
		p.Messages[1].ValueBase64 != "/wA=" || p.Messages[2].ValueJSON != nil || p.Messages[2].ValueText != nil || *p.Messages[2].Key != "gone" {
		t.Errorf("partition 1 values: %+v", p.Messages)
	}
	p = get("partition=0&limit=1")
	if string(p.Messages[0].ValueJSON) != `{"n":29}` || p.Messages[0].Headers[0].Key != "ce_type" || *p.Messages[0].Headers[0].Value != "T" {
		t.Errorf("json value / headers: %+v", p.Messages[0])
	}
	// All partitions: merged newest first by timestamp (partition 1's
	// records are the newest).
	p = get("limit=4")
	if len(p.Messages) != 4 || p.Messages[0].Partition != 1 || p.Next != nil {
		t.Errorf("all partitions: %+v next %v", p.offsets(), p.Next)
	}
	for _, bad := range []struct{ q, want string }{
		{"partition=2", "partition"},
		{"offset=3", "needs partition"},
		{"order=sideways", "order"},
		{"limit=5000", "limit"},
		{"filter=" + url.QueryEscape("value.n >"), "filter"},
	} {
		var eb errBody
		if code := e.call(t, "GET", "/v1/topics/m/messages?"+bad.q, "", &eb); code != 400 || !strings.Contains(eb.Error.Message, bad.want) {
			t.Errorf("%s: %d %+v", bad.q, code, eb)
		}
	}
	var eb errBody
	if code := e.call(t, "GET", "/v1/topics/nope/messages", "", &eb); code != 404 || eb.Error.Code != "topic_not_found" {
		t.Errorf("unknown topic: %d %+v", code, eb)
	}
}

func TestAdminGroupLag(t *testing.T) {
	e := startAdmin(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "pay"); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := e.cl.ProduceSync(ctx, &kgo.Record{Topic: "pay", Partition: int32(i % 2), Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "pay", Partition: 0, At: 1, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: "pay", Partition: 1, At: 5, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "billing", offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	var g struct {
		Group   string
		Lag     int64
		Offsets []struct {
			Topic                         string
			Partition                     int32
			Committed, HighWatermark, Lag int64
		}
	}
	if code := e.call(t, "GET", "/v1/groups/billing", "", &g); code != 200 {
		t.Fatalf("group: %d", code)
	}
	if g.Lag != 4 || len(g.Offsets) != 2 || g.Offsets[0].Lag != 4 || g.Offsets[0].Committed != 1 || g.Offsets[0].HighWatermark != 5 || g.Offsets[1].Lag != 0 {
		t.Errorf("billing: %+v", g)
	}
	var list []struct {
		Group string
		Lag   int64
	}
	if code := e.call(t, "GET", "/v1/groups", "", &list); code != 200 || len(list) != 1 || list[0].Group != "billing" || list[0].Lag != 4 {
		t.Errorf("groups: %d %+v", code, list)
	}
	var eb errBody
	if code := e.call(t, "GET", "/v1/groups/nobody", "", &eb); code != 404 {
		t.Errorf("unknown group: %d %+v", code, eb)
	}
}

func TestAdminOffsetReset(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "pay"); err != nil {
		t.Fatal(err)
	}
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	for i := range 10 {
		r := &kgo.Record{Topic: "pay", Partition: int32(i % 2), Value: []byte("x"), Timestamp: base.Add(time.Duration(i) * time.Minute)}
		if err := e.cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "pay", Partition: 0, At: 1, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "billing", offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit: %v %v", err, resp.Error())
	}
	type result struct {
		DryRun     bool
		Partitions []struct {
			Topic                                string
			Partition                            int32
			Current, Target, LagBefore, LagAfter int64
		}
	}
	committed := func() string {
		t.Helper()
		var g struct {
			Offsets []struct {
				Partition int32
				Committed int64
			}
		}
		e.call(t, "GET", "/v1/groups/billing", "", &g)
		return fmt.Sprint(g.Offsets)
	}
	before := committed()
	var res result
	// Dry run over the committed partitions only: nothing changes.
	if code := e.call(t, "POST", "/v1/groups/billing/offsets/reset", `{"to":"latest","dryRun":true}`, &res); code != 200 {
		t.Fatalf("dry run: %d", code)
	}
	if !res.DryRun || len(res.Partitions) != 1 || res.Partitions[0].Current != 1 || res.Partitions[0].Target != 5 ||
		res.Partitions[0].LagBefore != 4 || res.Partitions[0].LagAfter != 0 {
		t.Errorf("dry run: %+v", res)
	}
	if after := committed(); after != before {
		t.Errorf("dry run changed offsets: %s -> %s", before, after)
	}
	// By time over a whole topic: records at minutes 0..9 alternate
	// partitions; from minute 4 on, partition 0 starts at offset 2 and
	// partition 1 at offset 2 (minute 5).
	at := base.Add(4 * time.Minute).UnixMilli()
	if code := e.call(t, "POST", "/v1/groups/billing/offsets/reset", fmt.Sprintf(`{"to":"time","topic":"pay","time":%d}`, at), &res); code != 200 {
		t.Fatalf("reset by time: %d", code)
	}
	if res.DryRun || len(res.Partitions) != 2 || res.Partitions[0].Target != 2 || res.Partitions[1].Target != 2 || res.Partitions[1].Current != -1 {
		t.Errorf("reset by time: %+v", res)
	}
	if got := committed(); got != "[{0 2} {1 2}]" {
		t.Errorf("after reset: %s", got)
	}
	// Offsets are clamped to the log; bad input is a 400.
	e.call(t, "POST", "/v1/groups/billing/offsets/reset", `{"to":"offset","offset":99,"topic":"pay"}`, &res)
	if res.Partitions[0].Target != 5 || res.Partitions[0].LagAfter != 0 {
		t.Errorf("clamped: %+v", res)
	}
	var eb errBody
	for _, body := range []string{`{"to":"yesterday"}`, `{"to":"earliest","nope":1}`} {
		if code := e.call(t, "POST", "/v1/groups/billing/offsets/reset", body, &eb); code != 400 {
			t.Errorf("%s: %d %+v", body, code, eb)
		}
	}
	// An active group is refused with 409.
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.cl.OptValue(kgo.SeedBrokers).([]string)...), kgo.ConsumerGroup("active"), kgo.ConsumeTopics("pay"))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		cons.PollRecords(ctx, 10)
		var g struct{ Members []any }
		e.call(t, "GET", "/v1/groups/active", "", &g)
		if len(g.Members) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("consumer never joined")
		}
	}
	if code := e.call(t, "POST", "/v1/groups/active/offsets/reset", `{"to":"earliest","topic":"pay"}`, &eb); code != 409 || !strings.Contains(eb.Error.Message, "active member") {
		t.Errorf("active group: %d %+v", code, eb)
	}
}

func TestAdminOffsetResetWritesOff(t *testing.T) {
	e := startAdmin(t, false)
	if err := e.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "pay", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var res struct{ Partitions []struct{ Target int64 } }
	if code := e.call(t, "POST", "/v1/groups/g/offsets/reset", `{"to":"latest","topic":"pay","dryRun":true}`, &res); code != 200 || len(res.Partitions) != 1 || res.Partitions[0].Target != 1 {
		t.Errorf("dry run on a read-only server: %d %+v", code, res)
	}
	var eb errBody
	if code := e.call(t, "POST", "/v1/groups/g/offsets/reset", `{"to":"latest","topic":"pay"}`, &eb); code != 403 || eb.Error.Code != "forbidden" {
		t.Errorf("reset on a read-only server: %d %+v", code, eb)
	}
}

func TestAdminRedrive(t *testing.T) {
	e := startAdmin(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dl := func(i int, part string) *kgo.Record {
		return &kgo.Record{Topic: "dlq.jobs", Key: []byte(fmt.Sprintf("job-%d", i)), Value: []byte{0xff, byte(i)}, Headers: []kgo.RecordHeader{
			{Key: "__dlq.errors.topic", Value: []byte("jobs")}, {Key: "__dlq.errors.partition", Value: []byte(part)},
			{Key: "__dlq.errors.reason", Value: []byte("rejected")}, {Key: "trace", Value: []byte(fmt.Sprint(i))}}}
	}
	if _, err := kadm.NewClient(e.cl).CreateTopic(ctx, 2, 1, nil, "jobs"); err != nil {
		t.Fatal(err)
	}
	recs := []*kgo.Record{dl(0, "0"), dl(1, "1"), dl(2, "0"), {Topic: "dlq.jobs", Value: []byte("no headers")}}
	if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	var res struct {
		DryRun   bool
		Redriven []struct {
			Offset    int64
			Topic     string
			Partition int32
			NewOffset *int64
		}
	}
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[2,0,1],"dryRun":true}`, &res); code != 200 || len(res.Redriven) != 3 || res.Redriven[1].Partition != 1 || res.Redriven[0].NewOffset != nil {
		t.Fatalf("dry run: %d %+v", code, res)
	}
	var jobs struct{ Records int64 }
	e.call(t, "GET", "/v1/topics/jobs", "", &jobs)
	if jobs.Records != 0 {
		t.Fatalf("dry run wrote %d records", jobs.Records)
	}
	if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0,1,2]}`, &res); code != 200 || len(res.Redriven) != 3 {
		t.Fatalf("redrive: %d %+v", code, res)
	}
	var p msgPage
	e.call(t, "GET", "/v1/topics/jobs/messages?partition=0&order=oldest", "", &p)
	if len(p.Messages) != 2 || *p.Messages[0].Key != "job-0" || *p.Messages[1].Key != "job-2" || p.Messages[0].ValueBase64 != "/wA=" {
		t.Fatalf("jobs/0 after redrive: %+v", p.Messages)
	}
	var hs []string
	for _, h := range p.Messages[1].Headers {
		hs = append(hs, h.Key+"="+*h.Value)
	}
	if fmt.Sprint(hs) != "[trace=2 __dlq.redriven.from=dlq.jobs/0@2]" {
		t.Errorf("redriven headers %v", hs)
	}
	e.call(t, "GET", "/v1/topics/jobs/messages?partition=1", "", &p)
	if len(p.Messages) != 1 || *p.Messages[0].Key != "job-1" {
		t.Errorf("jobs/1 after redrive: %+v", p.Messages)
	}
	var eb errBody
	for _, c := range []struct{ body, want string }{
		{`{"partition":0,"offsets":[3]}`, "not a dead letter"},
		{`{"partition":0,"offsets":[9]}`, "no record at offset 9"},
		{`{"partition":0,"offsets":[]}`, "offsets"},
		{`{"partition":5,"offsets":[0]}`, "partition"},
	} {
		if code := e.call(t, "POST", "/v1/topics/dlq.jobs/redrive", c.body, &eb); code != 400 || !strings.Contains(eb.Error.Message, c.want) {
			t.Errorf("%s: %d %+v", c.body, code, eb)
		}
	}
	ro := startAdmin(t, false)
	if code := ro.call(t, "POST", "/v1/topics/dlq.jobs/redrive", `{"partition":0,"offsets":[0]}`, &eb); code != 403 {
		t.Errorf("read-only redrive: %d %+v", code, eb)
	}
}

func TestAdminViewInList(t *testing.T) {
	e := startAdmin(t, true)
	for i := range 3 {
		body := fmt.Sprintf(`{"events":[{"id":"e%d","type":"T","data":{"total":%d}}]}`, i, i*100)
		if code := e.call(t, "POST", "/v1/topics/shop/streams/o1", body, nil); code != 200 {
			t.Fatalf("append: %d", code)
		}
	}
	if code := e.call(t, "PUT", "/v1/views/big", `{"source":"shop","filter":"value.total > 100"}`, nil); code != 201 {
		t.Fatalf("view: %d", code)
	}
	var page struct {
		Topics []struct {
			Name, ViewOf string
			Records      int64
			Streams      bool
		}
	}
	e.call(t, "GET", "/v1/topics", "", &page)
	if fmt.Sprintf("%+v", page.Topics) != "[{Name:big ViewOf:shop Records:3 Streams:false} {Name:shop ViewOf: Records:3 Streams:true}]" {
		t.Errorf("topics with a view: %+v", page.Topics)
	}
	var p msgPage
	e.call(t, "GET", "/v1/topics/big/messages", "", &p)
	if fmt.Sprint(p.offsets()) != "[2]" {
		t.Errorf("browse a view: offsets %v, want [2]", p.offsets())
	}
}
