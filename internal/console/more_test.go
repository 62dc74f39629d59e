package console_test

// Browser tests of the share group page, schema management (permanent
// deletes, subject deletes, compatibility and mode), the ordered schema
// diff (its algorithm tested through the page's own code) and live tail
// decoding values with their registered schema.

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// testShareGroupPage consumes a two-partition topic with franz-go's share
// consumer (accepting, rejecting and holding records) and checks the
// share group's page shows its member, assignment and per-partition
// numbers, and that it is reached from the groups list; its offset reset
// previews from the page.
func testShareGroupPage(t *testing.T, bctx context.Context, f *fixture) {
	base := f.p.HTTPURL()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := httpJSON(t, "POST", base+"/v1/topics", `{"name":"queue","partitions":2}`, nil); code != 201 {
		t.Fatalf("create queue: %d", code)
	}
	// The group starts at the log start, so records produced before it
	// joined are delivered.
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType, res.ResourceName = kmsg.ConfigResourceTypeGroupConfig, "queue-workers"
	c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
	c.Name, c.Value = "share.auto.offset.reset", kmsg.StringPtr("earliest")
	res.Configs = append(res.Configs, c)
	req.Resources = append(req.Resources, res)
	if resp, err := req.RequestWith(ctx, f.cl); err != nil || resp.Resources[0].ErrorCode != 0 {
		t.Fatalf("set share.auto.offset.reset: %v %+v", err, resp)
	}
	var recs []*kgo.Record
	for i := range 12 {
		recs = append(recs, &kgo.Record{Topic: "queue", Partition: int32(i % 2), Value: []byte(fmt.Sprintf(`{"job":%d}`, i))})
	}
	pcl, err := kgo.NewClient(kgo.SeedBrokers(f.p.KafkaAddr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer pcl.Close()
	if err := pcl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	// On each partition (offsets 0..5): offset 0 rejected (archived),
	// 1..4 accepted, 5 held without an ack (acquired, in flight).
	cl, err := kgo.NewClient(kgo.SeedBrokers(f.p.KafkaAddr()), kgo.ShareGroup("queue-workers"), kgo.ConsumeTopics("queue"),
		kgo.ClientID("page-worker"), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	got := 0
	for got < 12 {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("share consumer got %d of 12 records: %v", got, err)
		}
		fs.EachRecord(func(r *kgo.Record) {
			got++
			switch r.Offset {
			case 0:
				r.Ack(kgo.AckReject)
			case 5:
			default:
				r.Ack(kgo.AckAccept)
			}
		})
	}
	if err := cl.FlushAcks(ctx); err != nil {
		t.Fatalf("flush acks: %v", err)
	}

	tb := browsertest.NewTab(t, bctx, base)
	tb.Open("/ui/groups", `document.querySelector('#share-groups a[href="/ui/share-groups/queue-workers"]') !== null`)
	tb.Run(chromedp.Click(chromedp.CSS(`#share-groups a[href="/ui/share-groups/queue-workers"]`)))
	waitNav(tb, `location.pathname === "/ui/share-groups/queue-workers" && document.querySelector("#sg-parts tbody").rows.length === 2 && document.querySelector("#sg-acked").textContent === "8"`, 10*time.Second)
	cards := browsertest.Eval[map[string]string](tb, `Object.fromEntries([...document.querySelectorAll(".card")].map((c) => [c.querySelector(".label").textContent, c.querySelector(".value").textContent]))`)
	for k, want := range map[string]string{"State": "Stable", "Members": "1", "Lag": "2", "In flight": "2", "Acquired": "2", "Acknowledged": "8", "Archived": "2"} {
		if cards[k] != want {
			t.Errorf("share group card %s = %q, want %q (cards %v)", k, cards[k], want, cards)
		}
	}
	for p := range 2 {
		row := browsertest.Eval[map[string]string](tb, fmt.Sprintf(`Object.fromEntries([...document.querySelectorAll('#sg-parts tr[data-partition="%d"] td[data-k]')].map((td) => [td.dataset.k, td.textContent]))`, p))
		want := map[string]string{"start": "5", "end": "6", "lag": "1", "inflight": "1", "acquired": "1", "acked": "4", "archived": "1", "redelivered": "0", "deadlettered": "0"}
		for k, v := range want {
			if row[k] != v {
				t.Errorf("queue/%d %s = %q, want %q (row %v)", p, k, row[k], v, row)
			}
		}
	}
	members := browsertest.Eval[string](tb, `document.querySelector("#sg-members-t tbody").innerText`)
	if !strings.Contains(members, "page-worker") || !strings.Contains(members, "queue: 0,1") {
		t.Errorf("members table %q lacks the client id and its assignment queue: 0,1", members)
	}
	tb.WaitJS(`Number(document.querySelector("#chart-share-lag").dataset.points) >= 1`, 5*time.Second)
	if os.Getenv("EDDY_UPDATE_SCREENSHOTS") == "1" {
		tb.WaitJS(`Number(document.querySelector("#chart-share-lag").dataset.points) >= 4`, 15*time.Second) // a line to show
	}
	tb.Screenshot(shot("share-group"))
	tb.NoErrors("share group page")
	// Keyboard: the page's controls in document order; on a phone the
	// page fits the screen (its tables scroll inside themselves).
	page := "/ui/share-groups/queue-workers"
	ready := `document.querySelector("#sg-parts tbody").rows.length === 2`
	reachPage(tb, page, ready, []string{"/ui/groups", "sg-delete", "sr-topic", "sr-to", "sr-offset", "sr-preview"})
	fitsPhone(tb, "share-group", page, ready)
	tb.Open(page, ready)
	tb.NoErrors("share group page keyboard and phone")

	// The member leaves (its held records are released); the page's reset
	// preview shows each partition's start before and after, moving none.
	cl.Close()
	tb.WaitJS(`document.querySelector("#sg-state").textContent === "Empty"`, 10*time.Second)
	tb.Run(chromedp.SetValue(chromedp.CSS("#sr-topic"), "queue"), chromedp.SetValue(chromedp.CSS("#sr-to"), "earliest"), chromedp.Click(chromedp.CSS("#sr-preview")))
	tb.WaitJS(`document.querySelector("#sr-summary").textContent === "preview: 2 partition(s) of queue for share group queue-workers"`, 5*time.Second)
	if rows := browsertest.Eval[string](tb, `document.querySelector("#sr-result tbody").innerText`); rows != "queue\t0\t5\t0\nqueue\t1\t5\t0" {
		t.Errorf("reset preview rows %q, want queue 0 5 0 and queue 1 5 0", rows)
	}
	var d struct{ Partitions []struct{ StartOffset int64 } }
	if code := httpJSON(t, "GET", base+"/v1/share-groups/queue-workers", "", &d); code != 200 || len(d.Partitions) != 2 || d.Partitions[0].StartOffset != 5 {
		t.Errorf("after the preview: %d %+v, want both starts still 5", code, d)
	}
	tb.NoErrors("share group reset preview")
}

// testSchemaManage deletes a soft-deleted version permanently, changes a
// subject's and the registry's compatibility level and mode, and deletes
// a subject softly then permanently, each after a confirmation naming
// it, checking each through the registry's REST API.
func testSchemaManage(t *testing.T, bctx context.Context, f *fixture) {
	sr := f.p.HTTPURL() + "/schema-registry"
	getJSON := func(path string) map[string]any {
		t.Helper()
		var m map[string]any
		httpJSON(t, "GET", sr+path, "", &m)
		return m
	}
	versions := func(path string) string {
		t.Helper()
		var vs []int
		if code := httpJSON(t, "GET", sr+path, "", &vs); code != 200 {
			return fmt.Sprint(code)
		}
		return fmt.Sprint(vs)
	}
	// SchemaWrites left v1 and v2, and v3 soft-deleted.
	if got := versions("/subjects/orders-value/versions?deleted=true"); got != "[1 2 3]" {
		t.Fatalf("before: versions with deleted %s", got)
	}
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/schemas?subject=orders-value", `document.querySelector("#sc-summary").textContent === "orders-value: 2 version(s), 1 soft-deleted"`)
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-del-v"), "2"))
	tb.Run(chromedp.Evaluate[chromedp.Void](`document.querySelector("#sc-del-v").dispatchEvent(new Event("change"))`))
	if !browsertest.Eval[bool](tb, `!document.querySelector("#sc-delete").disabled && document.querySelector("#sc-del-perm").disabled`) {
		t.Error("a live version: soft delete should be offered, permanent not")
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-del-v"), "3"))
	tb.Run(chromedp.Evaluate[chromedp.Void](`document.querySelector("#sc-del-v").dispatchEvent(new Event("change"))`))
	if !browsertest.Eval[bool](tb, `document.querySelector("#sc-delete").disabled && !document.querySelector("#sc-del-perm").disabled`) {
		t.Error("a soft-deleted version: permanent delete should be offered, soft not")
	}
	tb.Run(chromedp.Click(chromedp.CSS("#sc-del-perm")))
	confirm(tb, `Permanently delete version 3 of subject "orders-value" (schema id `)
	tb.WaitJS(`document.querySelector("#sc-summary").textContent === "orders-value: 2 version(s); permanently deleted v3"`, 5*time.Second)
	if got := versions("/subjects/orders-value/versions?deleted=true"); got != "[1 2]" {
		t.Errorf("after the permanent delete: versions with deleted %s, want [1 2]", got)
	}

	// Compatibility of the subject, then its mode.
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-compat"), "FULL"), chromedp.Click(chromedp.CSS("#sc-compat-set")))
	confirm(tb, `Set the compatibility level of subject "orders-value" from BACKWARD to FULL?`)
	tb.WaitJS(`document.querySelector("#sc-summary").dataset.compat === "FULL" && document.querySelector('#subjects tr[data-subject="orders-value"]').innerText.includes("FULL")`, 5*time.Second)
	if got := getJSON("/config/orders-value")["compatibilityLevel"]; got != "FULL" {
		t.Errorf("subject compatibility %v, want FULL", got)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-mode"), "READONLY"), chromedp.Click(chromedp.CSS("#sc-mode-set")))
	confirm(tb, `Set the mode of subject "orders-value" from READWRITE to READONLY? Under READONLY new versions and deletes are refused.`)
	tb.WaitJS(`document.querySelector("#sc-summary").dataset.mode === "READONLY"`, 5*time.Second)
	if got := getJSON("/mode/orders-value")["mode"]; got != "READONLY" {
		t.Errorf("subject mode %v, want READONLY", got)
	}
	if code := httpJSON(t, "POST", sr+"/subjects/orders-value/versions", `{"schema":"{\"type\":\"record\",\"name\":\"Order\",\"fields\":[{\"name\":\"id\",\"type\":\"string\"},{\"name\":\"x\",\"type\":\"int\",\"default\":1}]}"}`, nil); code < 400 {
		t.Errorf("registering under READONLY answered %d", code)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-mode"), "READWRITE"), chromedp.Click(chromedp.CSS("#sc-mode-set")))
	confirm(tb, `Set the mode of subject "orders-value" from READONLY to READWRITE?`)
	tb.WaitJS(`document.querySelector("#sc-summary").dataset.mode === "READWRITE"`, 5*time.Second)
	// Registry-wide compatibility.
	tb.Run(chromedp.SetValue(chromedp.CSS("#sg-compat"), "NONE"), chromedp.Click(chromedp.CSS("#sg-compat-set")))
	confirm(tb, `Set the compatibility level of the registry (subjects without their own use it) from BACKWARD to NONE?`)
	tb.WaitJS(`document.querySelector("#sg-compat-now").textContent === "NONE"`, 5*time.Second)
	if got := getJSON("/config")["compatibilityLevel"]; got != "NONE" {
		t.Errorf("global compatibility %v, want NONE", got)
	}
	// Setting what is already set is refused before asking.
	tb.Run(chromedp.Click(chromedp.CSS("#sg-compat-set")))
	tb.WaitJS(`!document.querySelector("#error").hidden && document.querySelector("#error").textContent.includes("is NONE already")`, 3*time.Second)
	if browsertest.Eval[bool](tb, `document.querySelector("#confirm").open`) {
		t.Error("a confirmation opened for a level already set")
	}

	// A subject deleted softly, then permanently.
	if code := httpJSON(t, "POST", sr+"/subjects/tmp-value/versions", `{"schema":"{\"type\":\"string\"}"}`, nil); code != 200 {
		t.Fatalf("register tmp-value: %d", code)
	}
	tb.Open("/ui/schemas?subject=tmp-value", `document.querySelector("#sc-summary").textContent === "tmp-value: 1 version(s)"`)
	if !browsertest.Eval[bool](tb, `!document.querySelector("#sc-subj-del").disabled && document.querySelector("#sc-subj-perm").disabled`) {
		t.Error("a live subject: soft delete should be offered, permanent not")
	}
	tb.Run(chromedp.Click(chromedp.CSS("#sc-subj-del")))
	confirm(tb, `Delete subject "tmp-value" with its 1 version(s) (v1)? This is a soft delete`)
	tb.WaitJS(`document.querySelector("#sc-summary").textContent === "tmp-value: soft-deleted (1 version(s)); subject soft-deleted" && !document.querySelector("#sc-subj-perm").disabled`, 5*time.Second)
	var subjects []string
	httpJSON(t, "GET", sr+"/subjects", "", &subjects)
	if strings.Contains(fmt.Sprint(subjects), "tmp-value") {
		t.Errorf("subjects after the soft delete: %v", subjects)
	}
	httpJSON(t, "GET", sr+"/subjects?deleted=true", "", &subjects)
	if !strings.Contains(fmt.Sprint(subjects), "tmp-value") {
		t.Errorf("subjects with deleted=true after the soft delete: %v, want tmp-value listed", subjects)
	}
	if !browsertest.Eval[bool](tb, `document.querySelector('#subjects tr[data-subject="tmp-value"]').innerText.includes("soft-deleted")`) {
		t.Error("the soft-deleted subject is not listed as such")
	}
	tb.Run(chromedp.Click(chromedp.CSS("#sc-subj-perm")))
	confirm(tb, `Permanently delete subject "tmp-value" and its 1 soft-deleted version(s)?`)
	waitNav(tb, `location.search === "" && document.querySelector("#subjects tbody").innerText.includes("orders-value")`, 5*time.Second)
	httpJSON(t, "GET", sr+"/subjects?deleted=true", "", &subjects)
	if strings.Contains(fmt.Sprint(subjects), "tmp-value") {
		t.Errorf("subjects with deleted=true after the permanent delete: %v", subjects)
	}
	tb.NoErrors("schema management")
	// Back to the fixture's settings.
	httpJSON(t, "PUT", sr+"/config", `{"compatibility":"BACKWARD"}`, nil)
	httpJSON(t, "DELETE", sr+"/config/orders-value", "", nil)
}

// testSchemaDiff runs the page's diff algorithm (diffLines, Myers) on
// hand-picked and random line lists and checks each answer is a valid
// edit script of the longest common subsequence's length; then the
// side-by-side view of two versions that differ only in key order and
// whitespace shows no change, and an added field shows only its lines.
func testSchemaDiff(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/schemas", `document.querySelector("#subjects tbody").rows.length >= 1`)
	type op struct {
		Op   string `json:"op"`
		A, B *int
	}
	cases := [][2][]string{
		{{}, {}}, {{"a"}, {}}, {{}, {"a"}}, {{"a", "b", "c"}, {"a", "b", "c"}},
		{{"a", "b", "c", "a", "b", "b", "a"}, {"c", "b", "a", "b", "a", "c"}}, // Myers' paper
		{{"x", "a", "y"}, {"a"}}, {{"a"}, {"b"}},
	}
	rng := rand.New(rand.NewPCG(22, 22))
	for range 200 {
		c := [2][]string{{}, {}}
		for s := range 2 {
			for range rng.IntN(15) {
				c[s] = append(c[s], string(rune('a'+rng.IntN(4))))
			}
		}
		cases = append(cases, c)
	}
	in, _ := json.Marshal(cases)
	all := browsertest.Eval[[][]op](tb, fmt.Sprintf(`%s.map(([a, b]) => diffLines(a, b))`, in))
	for i, ops := range all {
		a, b := cases[i][0], cases[i][1]
		ai, bi, kept := 0, 0, 0
		ok := true
		for _, o := range ops {
			switch {
			case o.Op == "=" && o.A != nil && o.B != nil && *o.A == ai && *o.B == bi && ai < len(a) && bi < len(b) && a[ai] == b[bi]:
				ai, bi, kept = ai+1, bi+1, kept+1
			case o.Op == "-" && o.A != nil && *o.A == ai && ai < len(a):
				ai++
			case o.Op == "+" && o.B != nil && *o.B == bi && bi < len(b):
				bi++
			default:
				ok = false
			}
		}
		if !ok || ai != len(a) || bi != len(b) {
			t.Errorf("diff %q → %q: %s is not an edit script", a, b, mustJSON(ops))
			continue
		}
		if want := lcsLen(a, b); kept != want {
			t.Errorf("diff %q → %q keeps %d lines, the longest common subsequence has %d", a, b, kept, want)
		}
	}

	// Key order and whitespace: no change. An added field: only its lines
	// on the right, in place.
	got := browsertest.Eval[[]int](tb, `(() => {
		const l = document.createElement("pre"), r = document.createElement("pre");
		const a = prettySchema({schema: '{"type":"record","name":"A","fields":[{"name":"x","type":"int"}]}'}).split("\n");
		const b = prettySchema({schema: '{ "fields" : [ {"type":"int", "name":"x"} ], "name":"A",\n "type":"record" }'}).split("\n");
		const c = prettySchema({schema: '{"type":"record","name":"A","fields":[{"name":"x","type":"int"},{"name":"y","type":"string","default":""}]}'}).split("\n");
		const same = showDiff(l, r, a, b), added = showDiff(l, r, a, c);
		return [same.removed, same.added, added.removed, added.added, r.querySelectorAll(".add").length, l.querySelectorAll(".gap").length, l.children.length === r.children.length ? 1 : 0];
	})()`)
	if fmt.Sprint(got) != "[0 0 0 5 5 5 1]" {
		t.Errorf("diff of reordered keys and of an added field: %v, want [0 0 0 5 5 5 1] (no change; 5 added lines facing 5 gaps, sides aligned)", got)
	}
	tb.Open("/ui/schemas?subject=orders-value", `document.querySelector("#sc-diff-summary").textContent === "v1 → v2: 0 line(s) removed, 5 added"`)
	tb.NoErrors("schema diff")
}

// waitNav is waitJS across a navigation the page starts itself (a link
// clicked, location.assign): evaluating while the old page goes away
// fails, so failures count as "not yet" until timeout.
func waitNav(tb *browsertest.Tab, cond string, timeout time.Duration) {
	tb.T.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ok, err := chromedp.Run(tb.Ctx, chromedp.Evaluate[bool](cond))
		if err == nil && ok {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.WaitJS(cond, time.Second) // fails with the page's text
}

func mustJSON(v any) string { b, _ := json.Marshal(v); return string(b) }

// lcsLen is the length of the longest common subsequence of a and b.
func lcsLen(a, b []string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				d[i][j] = d[i+1][j+1] + 1
			} else {
				d[i][j] = max(d[i+1][j], d[i][j+1])
			}
		}
	}
	return d[0][0]
}

// testTailDecode tails a topic while a value in the schema registry's
// wire format is produced: live tail shows it decoded with its schema.
func testTailDecode(t *testing.T, bctx context.Context, f *fixture) {
	var sv struct{ ID int32 }
	if code := httpJSON(t, "GET", f.p.HTTPURL()+"/schema-registry/subjects/orders-value/versions/2", "", &sv); code != 200 {
		t.Fatalf("schema v2: %d", code)
	}
	if _, err := kadm.NewClient(f.cl).CreateTopic(context.Background(), 1, 1, nil, "avro-tail"); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/messages?topic=avro-tail", `document.querySelector("#m-summary").textContent !== ""`)
	tb.Run(chromedp.Click(chromedp.CSS("#tail-toggle")))
	tb.WaitJS(`document.querySelector("#tail-state").textContent.startsWith("live")`, 5*time.Second)
	s := avro.MustParse(`{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0}]}`)
	datum, err := avro.Marshal(s, map[string]any{"id": "o-tail", "total": 7.25})
	if err != nil {
		t.Fatal(err)
	}
	value := append(schema.AppendWire(nil, sv.ID), datum...)
	if err := f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "avro-tail", Value: value}, &kgo.Record{Topic: "avro-tail", Value: []byte(`{"plain":true}`)}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tb.WaitJS(`document.querySelector("#messages tbody").rows.length === 2`, 3*time.Second)
	cell := browsertest.Eval[string](tb, `document.querySelector('#messages tbody tr[data-offset="0"] td:last-child').innerText`)
	for _, want := range []string{fmt.Sprintf("AVRO schema %d (orders-value v2)", sv.ID), `"id": "o-tail"`, `"total": 7.25`} {
		if !strings.Contains(cell, want) {
			t.Errorf("live tail value cell %q lacks %q", cell, want)
		}
	}
	if cell := browsertest.Eval[string](tb, `document.querySelector('#messages tbody tr[data-offset="1"] td:last-child').innerText`); !strings.Contains(cell, `"plain": true`) {
		t.Errorf("live tail JSON value cell %q", cell)
	}
	tb.NoErrors("tail decode")
}
