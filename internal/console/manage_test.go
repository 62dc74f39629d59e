package console_test

// Browser tests of the console's management features: produce, topic
// configs, group deletion, bulk redrive and offset resets with progress,
// stream search and the aggregate timeline, schema-decoded values, error
// wording, phone-sized pages and keyboard reach of these controls.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// httpJSON calls the server's API and decodes the answer into out.
func httpJSON(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil {
		_ = json.NewDecoder(res.Body).Decode(out)
	}
	return res.StatusCode
}

// confirm waits for the confirmation dialog, checks its text contains
// want and presses its OK button.
func confirm(tb *browsertest.Tab, want string) {
	tb.T.Helper()
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	if text := browsertest.Eval[string](tb, `document.querySelector("#confirm-text").textContent`); !strings.Contains(text, want) {
		tb.T.Errorf("confirmation says %q, want it to name %q", text, want)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-ok")))
}

// testProduce produces a message from the messages page and finds it in
// the browse; a value that is not JSON is refused in words before sending.
func testProduce(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	if code := httpJSON(t, "POST", f.p.HTTPURL()+"/v1/topics", `{"name":"produced","partitions":2}`, nil); code != 201 {
		t.Fatalf("create topic produced: %d", code)
	}
	tb.Open("/ui/messages?topic=produced", `document.querySelector("#m-summary").textContent !== ""`)
	tb.Run(
		chromedp.SetValue(chromedp.CSS("#p-partition"), "1"),
		chromedp.SetValue(chromedp.CSS("#p-key"), "cust-7"),
		chromedp.SetValue(chromedp.CSS("#p-headers"), "ce_type: CustomerJoined\ntrace: t-1"),
		chromedp.SetValue(chromedp.CSS("#p-value"), `{"name": "Ann", "tier": 2}`),
		chromedp.Click(chromedp.CSS("#p-send")),
	)
	tb.WaitJS(`document.querySelector("#p-result").textContent === "produced to produced partition 1 at offset 0"`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#m-go")))
	tb.WaitJS(`document.querySelector("#messages tbody").rows.length === 1`, 5*time.Second)
	row := browsertest.Eval[string](tb, `document.querySelector("#messages tbody tr").innerText`)
	for _, want := range []string{"cust-7", "CloudEvent", "type CustomerJoined", "trace t-1", `"name": "Ann"`} {
		if !strings.Contains(row, want) {
			t.Errorf("produced row %q lacks %q", row, want)
		}
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#p-value"), `{name: Ann}`), chromedp.Click(chromedp.CSS("#p-send")))
	tb.WaitJS(`document.querySelector("#error").textContent.startsWith("The value is not JSON")`, 3*time.Second)
	// The server's refusal (a partition the topic lacks) is shown in words.
	tb.Run(chromedp.SetValue(chromedp.CSS("#p-value"), `1`), chromedp.SetValue(chromedp.CSS("#p-partition"), "5"), chromedp.Click(chromedp.CSS("#p-send")))
	tb.WaitJS(`document.querySelector("#error").textContent.includes("Correct the named field") && document.querySelector("#error").textContent.includes("partitions 0 to 1")`, 3*time.Second)
	tb.ExpectLoadErrors(400)
	tb.NoErrors("produce")
}

// testStreams searches the event store by id prefix (paged on the
// server), opens a stream and checks its events and its history timeline.
func testStreams(t *testing.T, bctx context.Context, f *fixture) {
	for i := range 60 {
		body := fmt.Sprintf(`{"events":[{"id":"c%d","type":"CartOpened","data":{"items":0}}]}`, i)
		if code := httpJSON(t, "POST", fmt.Sprintf("%s/v1/topics/shop/streams/cart-%03d", f.p.HTTPURL(), i), body, nil); code != 200 {
			t.Fatalf("append cart-%03d: %d", i, code)
		}
	}
	body := `{"events":[{"id":"o3","type":"OrderShipped","data":{"paid":true,"carrier":"ups"}}]}`
	if code := httpJSON(t, "POST", f.p.HTTPURL()+"/v1/topics/shop/streams/order-1", body, nil); code != 200 {
		t.Fatalf("append order-1: %d", code)
	}
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/streams", `document.readyState === "complete"`)
	tb.Run(chromedp.SetValue(chromedp.CSS("#s-topic"), "shop"), chromedp.SetValue(chromedp.CSS("#s-prefix"), "cart-"), chromedp.Click(chromedp.CSS("#s-search")))
	tb.WaitJS(`document.querySelector("#streams tbody").rows.length === 50 && !document.querySelector("#ss-next").disabled`, 5*time.Second)
	if first := browsertest.Eval[string](tb, `document.querySelector("#streams tbody tr").innerText`); !strings.HasPrefix(first, "cart-000") {
		t.Errorf("first stream row %q", first)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#ss-next")))
	tb.WaitJS(`document.querySelector("#streams tbody").rows.length === 10 && document.querySelector("#ss-next").disabled`, 5*time.Second)
	if first := browsertest.Eval[string](tb, `document.querySelector("#streams tbody tr td").innerText`); first != "cart-050" {
		t.Errorf("second page starts at %q, want cart-050", first)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#s-prefix"), "order-"), chromedp.Click(chromedp.CSS("#s-search")))
	tb.WaitJS(`document.querySelector("#streams tbody").rows.length === 1`, 5*time.Second)
	if v := browsertest.Eval[string](tb, `document.querySelector("#streams tbody tr td:nth-child(3)").innerText`); v != "2" {
		t.Errorf("order-1 listed at version %q, want 2", v)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#streams tbody button")))
	tb.WaitJS(`document.querySelector("#events tbody").rows.length === 3 && document.querySelectorAll("#timeline li").length === 3`, 5*time.Second)
	last := browsertest.Eval[string](tb, `document.querySelector("#timeline li:last-child").innerText`)
	for _, want := range []string{"v2 OrderShipped", "changed: carrier", `"total": 10`, `"carrier": "ups"`} {
		if !strings.Contains(last, want) {
			t.Errorf("timeline's last entry %q lacks %q", last, want)
		}
	}
	if lines := strings.Split(last, "\n"); len(lines) < 2 || lines[1] != "changed: carrier" {
		t.Errorf("timeline's last entry %q: want the second line \"changed: carrier\" (paid was already true)", last)
	}
	tb.Screenshot(shot("streams"))
	tb.NoErrors("streams")
}

// testSchemaDecode produces a value in the schema registry's wire format
// and checks the messages page shows it decoded with its schema.
func testSchemaDecode(t *testing.T, bctx context.Context, f *fixture) {
	var sv struct{ ID int32 }
	if code := httpJSON(t, "GET", f.p.HTTPURL()+"/schema-registry/subjects/orders-value/versions/2", "", &sv); code != 200 {
		t.Fatalf("schema v2: %d", code)
	}
	s := avro.MustParse(`{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0}]}`)
	datum, err := avro.Marshal(s, map[string]any{"id": "o-77", "total": 42.5})
	if err != nil {
		t.Fatal(err)
	}
	value := append(schema.AppendWire(nil, sv.ID), datum...)
	if err := f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "avro-orders", Value: value}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/messages?topic=avro-orders", `document.querySelector("#messages tbody").rows.length === 1`)
	cell := browsertest.Eval[string](tb, `document.querySelector("#messages tbody tr td:last-child").innerText`)
	for _, want := range []string{fmt.Sprintf("AVRO schema %d (orders-value v2)", sv.ID), `"id": "o-77"`, `"total": 42.5`} {
		if !strings.Contains(cell, want) {
			t.Errorf("decoded value cell %q lacks %q", cell, want)
		}
	}
	tb.Screenshot(shot("messages-schema"))
	tb.NoErrors("schema decode")
}

// testManage edits a topic's configs, deletes a classic and a share group,
// redrives 2,000 dead letters with a progress display and resets a group
// across 250 partitions with a progress display, each after a
// confirmation naming what it does.
func testManage(t *testing.T, bctx context.Context, f *fixture) {
	base := f.p.HTTPURL()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	adm := kadm.NewClient(f.cl)
	tb := browsertest.NewTab(t, bctx, base)

	// Topic configs: set, then remove, each confirmed.
	tb.Open("/ui/topics/payments", `document.querySelector("#configs tbody").innerText.includes("none")`)
	tb.Run(chromedp.SetValue(chromedp.CSS("#c-name"), "retention.ms"), chromedp.SetValue(chromedp.CSS("#c-value"), "3600000"), chromedp.Click(chromedp.CSS("#c-set")))
	confirm(tb, `Set retention.ms of topic "payments" to 3600000`)
	tb.WaitJS(`document.querySelector("#configs tbody").innerText.includes("3600000") && document.querySelector("#t-retention").textContent === "1h 0m"`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS(`button[aria-label="Remove config retention.ms"]`)))
	confirm(tb, `Remove the override retention.ms of topic "payments"`)
	tb.WaitJS(`document.querySelector("#configs tbody").innerText.includes("none")`, 5*time.Second)
	// A bad value is the server's 400, in words.
	tb.Run(chromedp.SetValue(chromedp.CSS("#c-name"), "retention.ms"), chromedp.SetValue(chromedp.CSS("#c-value"), "soon"), chromedp.Click(chromedp.CSS("#c-set")))
	confirm(tb, "retention.ms")
	tb.WaitJS(`document.querySelector("#error").textContent.includes("retention.ms") && !document.querySelector("#error").hidden`, 5*time.Second)
	tb.ExpectLoadErrors(400)

	// Groups: a classic group with commits and a share group, deleted
	// from the groups page.
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "payments", Partition: 0, At: 2, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "old-billing", offs); err != nil {
		t.Fatal(err)
	}
	if code := httpJSON(t, "POST", base+"/v1/share-groups/sg-1/receive", `{"topics":["jobs"],"max":1,"waitMs":100}`, nil); code != 200 {
		t.Fatalf("share receive: %d", code)
	}
	if code := httpJSON(t, "POST", base+"/v1/share-groups/sg-1/receive", `{"topics":["jobs"],"max":1,"waitMs":100}`, nil); code != 200 {
		t.Fatalf("share receive: %d", code)
	}
	tb.Open("/ui/groups", `document.querySelector("#groups tbody").innerText.includes("old-billing") && document.querySelector("#share-groups tbody").innerText.includes("sg-1")`)
	tb.Run(chromedp.Click(chromedp.CSS(`button[aria-label="Delete group old-billing"]`)))
	confirm(tb, `Delete consumer group "old-billing" (0 member(s), lag`)
	tb.WaitJS(`!document.querySelector("#groups tbody").innerText.includes("old-billing")`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS(`button[aria-label="Delete share group sg-1"]`)))
	confirm(tb, `Delete share group "sg-1"`)
	tb.WaitJS(`!document.querySelector("#share-groups tbody").innerText.includes("sg-1")`, 5*time.Second)
	if code := httpJSON(t, "GET", base+"/v1/groups/old-billing", "", nil); code != 404 {
		t.Errorf("old-billing after delete: %d", code)
	}

	// Bulk redrive: 2,000 dead letters over two partitions.
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "bulk"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "dlq.bulk"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 2000 {
		p := fmt.Sprint(i % 2)
		recs = append(recs, &kgo.Record{Topic: "dlq.bulk", Partition: int32(i % 2), Value: []byte(fmt.Sprintf(`{"i":%d}`, i)), Headers: []kgo.RecordHeader{
			{Key: "__dlq.errors.topic", Value: []byte("bulk")}, {Key: "__dlq.errors.partition", Value: []byte(p)}, {Key: "__dlq.errors.reason", Value: []byte("rejected")}}})
	}
	cl2, err := kgo.NewClient(kgo.SeedBrokers(f.p.KafkaAddr()), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if err := cl2.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tb.Open("/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("dlq.bulk")`)
	tb.Run(chromedp.Click(chromedp.CSS(`#dlqs tbody tr:first-child button`)))
	tb.WaitJS(`document.querySelector("#dl-h").textContent === "Dead letters in dlq.bulk" && !document.querySelector("#dl-redrive-all").disabled`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#dl-redrive-all")))
	confirm(tb, "Redrive all 2,000 dead letter(s) of dlq.bulk (2 partition(s))")
	// The progress bar moves through intermediate values.
	tb.WaitJS(`!document.querySelector("#dl-progress").hidden`, 3*time.Second)
	tb.WaitJS(`document.querySelector("#dl-result").textContent === "redriven 2,000 of 2,000"`, 30*time.Second)
	if v := browsertest.Eval[float64](tb, `document.querySelector("#dl-progress").value`); v != 2000 {
		t.Errorf("progress bar at %v, want 2000", v)
	}
	var bulk struct{ Records int64 }
	httpJSON(t, "GET", base+"/v1/topics/bulk", "", &bulk)
	if bulk.Records != 2000 {
		t.Errorf("bulk holds %d records after redriving 2,000", bulk.Records)
	}

	// Offset reset over 250 partitions: applied in slices with progress.
	if _, err := adm.CreateTopic(ctx, 250, 1, nil, "wide"); err != nil {
		t.Fatal(err)
	}
	if code := httpJSON(t, "POST", base+"/v1/groups/wide-readers/offsets/reset", `{"to":"latest","topic":"wide"}`, nil); code != 200 {
		t.Fatalf("seed wide-readers: %d", code)
	}
	tb.Open("/ui/groups/wide-readers", `document.querySelector("#offsets tbody").rows.length === 250`)
	tb.Run(chromedp.SetValue(chromedp.CSS("#r-to"), "earliest"), chromedp.Click(chromedp.CSS("#r-preview")))
	tb.WaitJS(`document.querySelector("#r-summary").textContent.startsWith("preview: 250 partition(s)")`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#r-apply")))
	confirm(tb, `Reset the offsets of group "wide-readers" on 250 partition(s) to earliest?`)
	tb.WaitJS(`document.querySelector("#r-summary").textContent === "reset 250 partition(s)" && document.querySelector("#r-progress").value === 250`, 10*time.Second)
	// Group delete from its page.
	tb.Run(chromedp.Click(chromedp.CSS("#group-delete")))
	confirm(tb, `Delete consumer group "wide-readers"`)
	time.Sleep(time.Second) // the page goes to the group list
	tb.WaitJS(`location.pathname === "/ui/groups" && document.readyState === "complete"`, 5*time.Second)
	if code := httpJSON(t, "GET", base+"/v1/groups/wide-readers", "", nil); code != 404 {
		t.Errorf("wide-readers after delete: %d", code)
	}
	tb.NoErrors("manage")
}

// testErrorWords checks how errors are put: a 401 and a 403 (what an
// authenticating server answers) tell the user to sign in again or ask for
// an ACL; a read-only server's 403 names --console-write.
func testErrorWords(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/topics", `document.querySelector("#topic-count").textContent !== ""`)
	got := browsertest.Eval[[]string](tb, `[
		explain(401, "unauthorized", "authentication required", "GET", "/v1/topics?limit=50"),
		explain(403, "forbidden", "user ann may not Describe topic orders", "GET", "/v1/topics/orders"),
		explain(403, "forbidden", "writes through the HTTP admin routes are off; restart eddy serve with --console-write", "POST", "/v1/topics"),
	]`)
	for i, want := range []string{"Reload the page and sign in", "Ask an administrator for an ACL", "This server is read-only"} {
		if !strings.Contains(got[i], want) {
			t.Errorf("explained error %d: %q lacks %q", i, got[i], want)
		}
	}
	tb.NoErrors("error words")

	// A server that authorizes with ACLs and has none: the overview's
	// status call is refused for the (anonymous) user, and the page says
	// so in words; the topic list shows no topic it may not describe.
	p := eddytest.Start(t, eddytest.Args("--authorizer", "acl", "--console-write"))
	if code := httpJSON(t, "POST", p.HTTPURL()+"/v1/topics", `{"name":"secret"}`, nil); code != 403 {
		t.Fatalf("create topic without an ACL: %d, want 403", code)
	}
	az := browsertest.NewTab(t, bctx, p.HTTPURL())
	az.Open("/ui/", `!document.querySelector("#error").hidden`)
	msg := browsertest.Eval[string](az, `document.querySelector("#error").textContent`)
	if !strings.HasPrefix(msg, "Your user may not do this (403 on GET /v1/overview") || !strings.Contains(msg, "DESCRIBE on the cluster") || !strings.Contains(msg, "Ask an administrator for an ACL") {
		t.Errorf("overview refused by ACLs says %q", msg)
	}
	az.ExpectLoadErrors(403)
	az.NoErrors("authorizing server")
}

// testSchemaWrites registers a new version of orders-value from the
// schemas page once its compatibility check passes (an incompatible
// schema cannot be registered), then soft-deletes it, each after a
// confirmation naming what it does, and checks both through the
// registry's REST API.
func testSchemaWrites(t *testing.T, bctx context.Context, f *fixture) {
	sr := f.p.HTTPURL() + "/schema-registry/subjects/orders-value/versions"
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/schemas?subject=orders-value", `document.querySelector("#sc-summary").textContent === "orders-value: 2 version(s)" && document.querySelector("#sc-new").value !== ""`)
	if !browsertest.Eval[bool](tb, `document.querySelector("#sc-register").disabled`) {
		t.Error("register is enabled before any compatibility check")
	}
	// A required field without a default breaks BACKWARD: not offered.
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-new"), `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0},{"name":"region","type":"string"}]}`),
		chromedp.Click(chromedp.CSS("#sc-check-go")))
	tb.WaitJS(`document.querySelector("#sc-check-result").textContent.startsWith("not compatible")`, 5*time.Second)
	if !browsertest.Eval[bool](tb, `document.querySelector("#sc-register").disabled`) {
		t.Error("register is enabled after a failed compatibility check")
	}
	// With a default it passes; editing the text after the check takes
	// the offer back until it is checked again.
	v3 := `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0},{"name":"region","type":"string","default":"eu"}]}`
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-new"), v3), chromedp.Click(chromedp.CSS("#sc-check-go")))
	tb.WaitJS(`document.querySelector("#sc-check-result").textContent === "compatible with orders-value" && !document.querySelector("#sc-register").disabled`, 5*time.Second)
	tb.Run(chromedp.SendKeys(chromedp.CSS("#sc-new"), " "))
	tb.WaitJS(`document.querySelector("#sc-register").disabled`, 3*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#sc-check-go")))
	tb.WaitJS(`!document.querySelector("#sc-register").disabled`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#sc-register")))
	confirm(tb, `Register this AVRO schema as a new version of subject "orders-value" (now at v2)?`)
	tb.WaitJS(`document.querySelector("#sc-check-result").textContent.startsWith("registered orders-value v3 (id ") && document.querySelector("#sc-summary").textContent === "orders-value: 3 version(s)" && document.querySelector("#subjects tbody").innerText.includes("3")`, 5*time.Second)
	var vs []int
	if code := httpJSON(t, "GET", sr, "", &vs); code != 200 || fmt.Sprint(vs) != "[1 2 3]" {
		t.Fatalf("versions after register: %d %v, want [1 2 3]", code, vs)
	}
	var latest struct{ Schema string }
	httpJSON(t, "GET", sr+"/3", "", &latest)
	if !strings.Contains(latest.Schema, `"region"`) {
		t.Errorf("v3 is %s", latest.Schema)
	}

	// Soft delete of v3: cancel keeps it, confirm deletes it.
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-del-v"), "3"), chromedp.Click(chromedp.CSS("#sc-delete")))
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-cancel")))
	time.Sleep(200 * time.Millisecond)
	if httpJSON(t, "GET", sr, "", &vs); len(vs) != 3 {
		t.Fatalf("versions after a cancelled delete: %v", vs)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-del-v"), "3"), chromedp.Click(chromedp.CSS("#sc-delete")))
	confirm(tb, `Delete version 3 of subject "orders-value" (schema id `)
	tb.WaitJS(`document.querySelector("#sc-summary").textContent === "orders-value: 2 version(s), 1 soft-deleted; deleted v3"`, 5*time.Second)
	if code := httpJSON(t, "GET", sr, "", &vs); code != 200 || fmt.Sprint(vs) != "[1 2]" {
		t.Errorf("versions after delete: %d %v, want [1 2]", code, vs)
	}
	if code := httpJSON(t, "GET", sr+"?deleted=true", "", &vs); code != 200 || fmt.Sprint(vs) != "[1 2 3]" {
		t.Errorf("versions with deleted=true: %d %v, want [1 2 3] (a soft delete)", code, vs)
	}
	tb.NoErrors("schema writes")
}

// testRedriveTo redrives dead letters of dlq.jobs to jobs-retry instead
// of their original topic, selected ones and then all, each confirmed
// naming the target; a target that does not exist is the server's 404 in
// words.
func testRedriveTo(t *testing.T, bctx context.Context, f *fixture) {
	base := f.p.HTTPURL()
	if code := httpJSON(t, "POST", base+"/v1/topics", `{"name":"jobs-retry","partitions":1}`, nil); code != 201 {
		t.Fatalf("create jobs-retry: %d", code)
	}
	records := func(topic string) int64 {
		var r struct{ Records int64 }
		httpJSON(t, "GET", base+"/v1/topics/"+topic, "", &r)
		return r.Records
	}
	jobsBefore := records("jobs")
	tb := browsertest.NewTab(t, bctx, base)
	tb.Open("/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("dlq.jobs") && document.querySelectorAll("#dl-topics option").length > 0`)
	tb.Run(chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll("#dlqs tbody button")].find((b) => b.textContent === "dlq.jobs").click()`))
	tb.WaitJS(`document.querySelectorAll("#deadletters input[type=checkbox]").length === 3`, 5*time.Second)
	if browsertest.Eval[bool](tb, `[...document.querySelectorAll("#dl-topics option")].some((o) => o.value.startsWith("dlq."))`) {
		t.Error("the target suggestions list a dead-letter topic")
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#dl-to"), "jobs-retry"), chromedp.Click(chromedp.CSS(`#deadletters input[data-offset="1"]`)), chromedp.Click(chromedp.CSS("#dl-redrive")))
	confirm(tb, `Redrive 1 dead letter(s) from dlq.jobs to topic "jobs-retry" instead of jobs/0`)
	tb.WaitJS(`document.querySelector("#dl-result").textContent === "redriven 1: dlq.jobs/1 → jobs-retry/0@0"`, 5*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#dl-redrive-all")))
	confirm(tb, `Redrive all 3 dead letter(s) of dlq.jobs (1 partition(s)) to topic "jobs-retry" instead of the topics they came from`)
	tb.WaitJS(`document.querySelector("#dl-result").textContent === "redriven 3 of 3"`, 10*time.Second)
	if n := records("jobs-retry"); n != 4 {
		t.Errorf("jobs-retry holds %d records after redriving 1 and then 3, want 4", n)
	}
	if n := records("jobs"); n != jobsBefore {
		t.Errorf("jobs went from %d to %d records; the redrives named jobs-retry", jobsBefore, n)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#dl-to"), "nowhere"), chromedp.Click(chromedp.CSS("#dl-redrive")))
	confirm(tb, `to topic "nowhere"`)
	tb.WaitJS(`!document.querySelector("#error").hidden && document.querySelector("#error").textContent.includes("nowhere")`, 5*time.Second)
	tb.ExpectLoadErrors(404)
	tb.NoErrors("redrive to")
}

// testShareReset resets a share group's start offsets from the groups
// page: the preview lists the start before and after and moves nothing;
// the reset, confirmed naming group, topic and target, makes the group
// deliver the records before its old start.
func testShareReset(t *testing.T, bctx context.Context, f *fixture) {
	base := f.p.HTTPURL()
	if code := httpJSON(t, "POST", base+"/v1/topics", `{"name":"sq","partitions":1}`, nil); code != 201 {
		t.Fatalf("create sq: %d", code)
	}
	for i := range 4 {
		if code := httpJSON(t, "POST", base+"/v1/topics/sq/messages", fmt.Sprintf(`{"value":{"n":%d}}`, i), nil); code != 201 {
			t.Fatalf("produce to sq: %d", code)
		}
	}
	var got struct{ Records []struct{ Offset int64 } }
	receive := func() int {
		t.Helper()
		got.Records = nil
		if code := httpJSON(t, "POST", base+"/v1/share-groups/sq-workers/receive", `{"topics":["sq"],"max":10,"waitMs":200}`, &got); code != 200 {
			t.Fatalf("share receive: %d", code)
		}
		return len(got.Records)
	}
	if n := receive(); n != 0 {
		t.Fatalf("a new share group got %d records, want 0 (it starts at latest)", n)
	}
	tb := browsertest.NewTab(t, bctx, base)
	tb.Open("/ui/groups", `[...document.querySelectorAll("#sr-groups option")].some((o) => o.value === "sq-workers")`)
	if !browsertest.Eval[bool](tb, `document.querySelector("#sr-apply").disabled`) {
		t.Error("Reset is enabled before a preview")
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sr-group"), "sq-workers"), chromedp.SetValue(chromedp.CSS("#sr-topic"), "sq"),
		chromedp.SetValue(chromedp.CSS("#sr-to"), "earliest"), chromedp.Click(chromedp.CSS("#sr-preview")))
	tb.WaitJS(`document.querySelector("#sr-summary").textContent === "preview: 1 partition(s) of sq for share group sq-workers" && !document.querySelector("#sr-apply").disabled`, 5*time.Second)
	if row := browsertest.Eval[string](tb, `document.querySelector("#sr-result tbody tr").innerText`); row != "sq\t0\t4\t0" {
		t.Errorf("preview row %q, want sq 0 4 0", row)
	}
	if n := receive(); n != 0 {
		t.Fatalf("the preview moved the start: %d records delivered", n)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#sr-apply")))
	confirm(tb, `Reset the start offsets of share group "sq-workers" on 1 partition(s) of sq to earliest?`)
	tb.WaitJS(`document.querySelector("#sr-summary").textContent === "reset 1 partition(s)" && document.querySelector("#sr-apply").disabled`, 5*time.Second)
	if n := receive(); n != 4 {
		t.Errorf("after the reset to earliest the group got %d records, want 4", n)
	}
	// A topic that does not exist is the server's 404, in words.
	tb.Run(chromedp.SetValue(chromedp.CSS("#sr-topic"), "nowhere"), chromedp.Click(chromedp.CSS("#sr-preview")))
	tb.WaitJS(`!document.querySelector("#error").hidden && document.querySelector("#error").textContent.includes("nowhere")`, 5*time.Second)
	tb.ExpectLoadErrors(404)
	tb.NoErrors("share reset")
}

// phoneW, phoneH is the phone-sized viewport (an iPhone 12-14's CSS size).
const phoneW, phoneH = 390, 844

// testPhone loads every page at phone size: nothing is wider than the
// screen (tables scroll inside themselves), and screenshots are saved as
// docs/console/phone-*.png.
func testPhone(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Run(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	for _, pg := range []struct{ name, path, ready string }{
		{"overview", "/", `document.querySelector("#st-ready").textContent === "ready"`},
		{"topics", "/ui/topics", `document.querySelector("#topics tbody").innerText.includes("payments")`},
		{"topic", "/ui/topics/orders", `document.querySelector("#partitions tbody").rows.length === 2`},
		{"messages", "/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length >= 20`},
		{"groups", "/ui/groups", `document.querySelector("#groups tbody").innerText.includes("billing")`},
		{"group", "/ui/groups/billing", `document.querySelector("#offsets tbody").rows.length >= 1`},
		{"streams", "/ui/streams?topic=shop&prefix=order-&stream=order-1", `document.querySelectorAll("#timeline li").length >= 2`},
		{"dlq", "/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("dlq.jobs")`},
		{"schemas", "/ui/schemas?subject=orders-value", `document.querySelector("#sc-right-text").textContent !== ""`},
	} {
		tb.Open(pg.path, pg.ready)
		if w := browsertest.Eval[int](tb, `document.documentElement.scrollWidth`); w > phoneW {
			over := browsertest.Eval[string](tb, `[...document.querySelectorAll("body *")].filter(e => e.getBoundingClientRect().right > innerWidth + 1).slice(0, 3).map(e => e.tagName + "#" + e.id + "." + e.className + " " + Math.round(e.getBoundingClientRect().right)).join(" ") + " | iw " + innerWidth + " cw " + document.documentElement.clientWidth + " " + [...document.querySelectorAll("body > *, main > *, main table")].map(e => e.tagName + "." + e.className + "#" + e.id + ":" + e.scrollWidth + "/" + e.clientWidth + "/" + getComputedStyle(e).display + "/" + getComputedStyle(e).overflowX).join(" ")`)
			t.Errorf("%s at %d px wide is %d px wide (wider: %s)", pg.name, phoneW, w, over)
		}
		time.Sleep(100 * time.Millisecond)
		tb.NoErrors("phone " + pg.name)
		tb.Screenshot(shot("phone-" + pg.name))
	}
}

// testKeyboardManage tabs through the controls this file's features
// added: each is reached in document order.
func testKeyboardManage(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	reach := func(path, ready string, want []string) { reachPage(tb, path, ready, want) }
	reach("/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length >= 20`,
		[]string{"m-topic", "m-go", "tail-toggle", "p-topic", "p-partition", "p-key", "p-headers", "p-value", "p-send"})
	reach("/ui/topics/orders", `document.querySelector("#partitions tbody").rows.length === 2`,
		[]string{"topic-browse", "topic-delete", "c-name", "c-value", "c-set"})
	reach("/ui/groups", `document.querySelector("#groups tbody").innerText.includes("billing")`,
		[]string{"/ui/groups/billing", "Delete group billing"})
	reach("/ui/groups/billing", `document.querySelector("#offsets tbody").rows.length >= 1`,
		[]string{"group-delete", "r-to", "r-topic", "r-time", "r-offset", "r-preview"})
	reach("/ui/streams?topic=shop&prefix=order-&stream=order-1", `document.querySelectorAll("#timeline li").length >= 2`,
		[]string{"s-topic", "s-prefix", "s-search", "order-1", "s-stream", "s-from", "s-read"})
	reach("/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("dlq.jobs")`,
		[]string{"dlq.jobs"})
	reach("/ui/schemas?subject=orders-value", `document.querySelector("#sc-right-text").textContent !== ""`,
		[]string{"sc-show-deleted", "orders-value", "sc-left", "sc-right", "sc-show", "sc-del-v", "sc-delete", "sc-subj-del",
			"sc-compat", "sc-compat-set", "sc-mode", "sc-mode-set", "sc-type", "sc-new", "sc-check-go", "sg-compat", "sg-compat-set", "sg-mode", "sg-mode-set"})
	tb.NoErrors("keyboard")
}

// reach opens path, waits for ready, then presses Tab 120 times from the
// top of the page: the focused controls (by id, aria-label, href or text)
// must include want in that order.
func reachPage(tb *browsertest.Tab, path, ready string, want []string) {
	tb.T.Helper()
	tb.Open(path, ready)
	tb.Run(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	var seen []string
	for range 120 {
		tb.Run(chromedp.KeyEvent("\t"))
		seen = append(seen, browsertest.Eval[string](tb, `(() => { const a = document.activeElement; return a.id || a.getAttribute("aria-label") || a.getAttribute("href") || a.textContent.trim(); })()`))
	}
	pos := 0
	for _, s := range seen {
		if pos < len(want) && s == want[pos] {
			pos++
		}
	}
	if pos < len(want) {
		tb.T.Errorf("%s: tabbing reached %v; missing %q (in order: %v)", path, seen, want[pos], want)
	}
}

// fitsPhone loads path at phone size (390x844, mobile emulation) and
// fails when the page is wider than the screen; it saves the screenshot
// phone-name, then restores the desktop size.
func fitsPhone(tb *browsertest.Tab, name, path, ready string) {
	tb.T.Helper()
	tb.Run(chromedp.EmulateViewport(phoneW, phoneH, chromedp.EmulateScale(2), chromedp.EmulateMobile))
	defer tb.Run(chromedp.EmulateViewport(browsertest.ViewW, browsertest.ViewH))
	tb.Open(path, ready)
	if w := browsertest.Eval[int](tb, `document.documentElement.scrollWidth`); w > phoneW {
		tb.T.Errorf("%s at %d px wide is %d px wide", name, phoneW, w)
	}
	tb.Screenshot(shot("phone-" + name))
}
