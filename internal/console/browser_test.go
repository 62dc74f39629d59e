package console_test

// Browser tests: Debian's Chromium, headless, driven by chromedp (through
// browsertest) against a real `eddy serve` (built from this tree by
// eddytest). They skip when no Chromium is installed, unless
// EDDY_REQUIRE_CLIENTS=1 (CI), where that is a failure.
// EDDY_UPDATE_SCREENSHOTS=1 rewrites docs/console/*.png.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
)

func TestMain(m *testing.M) { os.Exit(eddytest.BuildBinary(m)) }

// shot is the path of the console screenshot name under docs/console
// (written by Tab.Screenshot when EDDY_UPDATE_SCREENSHOTS=1).
func shot(name string) string { return filepath.Join("..", "..", "docs", "console", name+".png") }

// fixture is a server with data on it: topic orders (2 partitions, 20
// JSON records with n = 0..19), topic tail with one record, topic payments with 10 records of which
// group billing committed 4 (lag 6), an event-store stream order-1 in
// topic shop, and a dead-letter topic dlq.jobs.
type fixture struct {
	p  *eddytest.Process
	cl *kgo.Client
}

func newFixture(t *testing.T, args ...string) *fixture {
	p := eddytest.Start(t, eddytest.Args(args...))
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.DefaultProduceTopic("orders"), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	var recs []*kgo.Record
	for i := range 20 {
		recs = append(recs, &kgo.Record{Topic: "orders", Partition: int32(i % 2), Key: []byte(fmt.Sprintf("order-%d", i)),
			Value:   []byte(fmt.Sprintf(`{"n":%d,"item":"widget"}`, i)),
			Headers: []kgo.RecordHeader{{Key: "ce_type", Value: []byte("OrderPlaced")}, {Key: "trace", Value: []byte("abc")}}})
	}
	recs = append(recs, &kgo.Record{Topic: "tail", Value: []byte(`{"first":true}`)}, &kgo.Record{Topic: "jobs", Value: []byte(`{"job":1}`)})
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "payments", Value: []byte(fmt.Sprintf(`{"payment":%d}`, i))})
	}
	for i, reason := range []string{"rejected", "delivery_limit", "rejected"} {
		recs = append(recs, &kgo.Record{Topic: "dlq.jobs", Key: []byte(fmt.Sprintf("job-%d", i)), Value: []byte{0xff, 0xfe, byte(i)}, Headers: []kgo.RecordHeader{
			{Key: "__dlq.errors.group", Value: []byte("workers")}, {Key: "__dlq.errors.topic", Value: []byte("jobs")},
			{Key: "__dlq.errors.partition", Value: []byte("0")}, {Key: "__dlq.errors.offset", Value: []byte(fmt.Sprint(i))},
			{Key: "__dlq.errors.delivery.count", Value: []byte("5")}, {Key: "__dlq.errors.reason", Value: []byte(reason)}}})
	}
	cl2, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.AllowAutoTopicCreation())
	if err != nil {
		t.Fatal(err)
	}
	defer cl2.Close()
	if err := cl2.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce fixture records: %v", err)
	}
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "payments", Partition: 0, At: 4, LeaderEpoch: -1})
	if resp, err := adm.CommitOffsets(ctx, "billing", offs); err != nil || resp.Error() != nil {
		t.Fatalf("commit billing offsets: %v %v", err, resp.Error())
	}
	for _, schema := range []string{
		`{"type":"record","name":"Order","fields":[{"name":"id","type":"string"}]}`,
		`{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0}]}`,
	} {
		b, _ := json.Marshal(map[string]string{"schema": schema})
		res, err := http.Post(p.HTTPURL()+"/schema-registry/subjects/orders-value/versions", "application/vnd.schemaregistry.v1+json", strings.NewReader(string(b)))
		if err != nil || res.StatusCode != 200 {
			t.Fatalf("register schema: %v %v", err, res)
		}
		res.Body.Close()
	}
	body := `{"events":[{"id":"e1","type":"OrderCreated","data":{"total":10}},{"id":"e2","type":"OrderPaid","data":{"paid":true}}]}`
	res, err := http.Post(p.HTTPURL()+"/v1/topics/shop/streams/order-1", "application/json", strings.NewReader(body))
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("append stream: %v %v", err, res)
	}
	res.Body.Close()
	return &fixture{p: p, cl: cl}
}

// TestConsole runs the browser tests against one read-write server with
// the fixture's data, in one Chromium. Subtests run in order: the ones
// that produce use topics of their own (tail) or run after the pages
// that check counts (payments).
func TestConsole(t *testing.T) {
	start := time.Now()
	bctx := browsertest.Start(t)
	f := newFixture(t, "--console-write")
	t.Logf("browser and server ready in %v", time.Since(start).Round(time.Millisecond))
	t.Run("Pages", func(t *testing.T) { testPages(t, bctx, f) })
	t.Run("LiveTail", func(t *testing.T) { testLiveTail(t, bctx, f) })
	t.Run("Filter", func(t *testing.T) { testFilter(t, bctx, f) })
	t.Run("BrowseTime", func(t *testing.T) { testBrowseTime(t, bctx, f) })
	t.Run("GroupLag", func(t *testing.T) { testGroupLag(t, bctx, f) })
	t.Run("Produce", func(t *testing.T) { testProduce(t, bctx, f) })
	t.Run("Streams", func(t *testing.T) { testStreams(t, bctx, f) })
	t.Run("SchemaDecode", func(t *testing.T) { testSchemaDecode(t, bctx, f) })
	t.Run("TailDecode", func(t *testing.T) { testTailDecode(t, bctx, f) })
	t.Run("SchemaDiff", func(t *testing.T) { testSchemaDiff(t, bctx, f) })
	t.Run("ErrorWords", func(t *testing.T) { testErrorWords(t, bctx, f) })
	t.Run("Phone", func(t *testing.T) { testPhone(t, bctx, f) })
	t.Run("Keyboard", func(t *testing.T) { testKeyboard(t, bctx, f) })
	t.Run("KeyboardManage", func(t *testing.T) { testKeyboardManage(t, bctx, f) })
	t.Run("Writes", func(t *testing.T) { testWrites(t, bctx, f) })
	t.Run("Manage", func(t *testing.T) { testManage(t, bctx, f) })
	t.Run("SchemaWrites", func(t *testing.T) { testSchemaWrites(t, bctx, f) })
	t.Run("SchemaManage", func(t *testing.T) { testSchemaManage(t, bctx, f) })
	t.Run("RedriveTo", func(t *testing.T) { testRedriveTo(t, bctx, f) })
	t.Run("ShareReset", func(t *testing.T) { testShareReset(t, bctx, f) })
	t.Run("ShareGroupPage", func(t *testing.T) { testShareGroupPage(t, bctx, f) })
}

// testPages loads every page, checks it shows its data without any
// browser error, and saves the screenshots.
func testPages(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	pages := []struct{ name, path, ready string }{
		{"overview", "/", `document.querySelector("#st-ready").textContent === "ready" && document.querySelector("#top-topics tbody").rows.length >= 3 && Number(document.querySelector("#chart-disk").dataset.points) >= 2 && Number(document.querySelector("#chart-latency").dataset.points) >= 1`},
		{"topics", "/ui/topics", `document.querySelector("#topics tbody").innerText.includes("payments")`},
		{"topic", "/ui/topics/orders", `document.querySelector("#partitions tbody").rows.length === 2 && document.querySelector("#t-records").textContent === "20"`},
		{"messages", "/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length === 20`},
		{"groups", "/ui/groups", `document.querySelector("#groups tbody").innerText.includes("billing")`},
		{"group", "/ui/groups/billing", `document.querySelector("#g-lag").textContent === "6"`},
		{"streams", "/ui/streams?topic=shop&stream=order-1", `document.querySelector("#events tbody").rows.length === 2`},
		{"dlq", "/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("rejected: 2")`},
		{"schemas", "/ui/schemas?subject=orders-value", `document.querySelector("#subjects tbody").innerText.includes("BACKWARD") && Number(document.querySelector("#sc-right-text").dataset.changed) >= 4`},
	}
	for _, pg := range pages {
		tb.Open(pg.path, pg.ready)
		if pg.name == "overview" && os.Getenv("EDDY_UPDATE_SCREENSHOTS") == "1" {
			// Varying traffic for a few polls, so the chart has a shape.
			ctx := context.Background()
			for i := range 16 {
				for j := range 5 + (i%4)*10 {
					f.cl.Produce(ctx, &kgo.Record{Topic: "clicks", Value: []byte(fmt.Sprintf(`{"click":%d}`, j))}, nil)
				}
				time.Sleep(500 * time.Millisecond)
			}
			if err := f.cl.Flush(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if pg.name == "group" && os.Getenv("EDDY_UPDATE_SCREENSHOTS") == "1" {
			tb.WaitJS(`Number(document.querySelector("#chart-lag").dataset.points) >= 3`, 10*time.Second)
		}
		if pg.name == "dlq" {
			tb.Run(chromedp.Click(chromedp.CSS(`#dlqs tbody button`)))
			tb.WaitJS(`document.querySelector("#deadletters tbody").rows.length === 3`, 5*time.Second)
		}
		var title string
		title = browsertest.Eval[string](tb, `document.title`)
		if !strings.HasSuffix(title, "· Eddy") {
			t.Errorf("%s: title %q", pg.name, title)
		}
		time.Sleep(100 * time.Millisecond) // late errors of the page's fetches
		tb.NoErrors(pg.name)
		tb.Screenshot(shot(pg.name))
	}
	// Schemas: the diff marks the added field's lines only on the right;
	// a compatible and an incompatible candidate are told apart.
	if left := browsertest.Eval[string](tb, `document.querySelector("#sc-left-text").dataset.changed`); left != "0" {
		t.Errorf("left (v1) has %s changed lines, want 0 (v2 only adds)", left)
	}
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-new"), `{"type":"record","name":"Order","fields":[{"name":"id","type":"int"}]}`), chromedp.Click(chromedp.CSS("#sc-check-go")))
	tb.WaitJS(`document.querySelector("#sc-check-result").textContent.startsWith("not compatible")`, 5*time.Second)
	tb.Run(chromedp.SetValue(chromedp.CSS("#sc-new"), `{"type":"record","name":"Order","fields":[{"name":"id","type":"string"},{"name":"total","type":"double","default":0},{"name":"note","type":"string","default":""}]}`), chromedp.Click(chromedp.CSS("#sc-check-go")))
	tb.WaitJS(`document.querySelector("#sc-check-result").textContent === "compatible with orders-value"`, 5*time.Second)
	tb.NoErrors("schemas")

	// The CloudEvents attribute is shown as such, the other header plainly.
	tb.Open("/ui/messages?topic=orders&partition=0&limit=1", `document.querySelector("#messages tbody").rows.length === 1`)
	var cells string
	cells = browsertest.Eval[string](tb, `document.querySelector("#messages tbody tr").innerText`)
	for _, want := range []string{"CloudEvent", "type OrderPlaced", "trace abc", `"n": 18`, "order-18"} {
		if !strings.Contains(cells, want) {
			t.Errorf("message row %q lacks %q", cells, want)
		}
	}
	// Not-UTF-8 values are hex.
	tb.Open("/ui/messages?topic=dlq.jobs&partition=0&order=oldest", `document.querySelector("#messages tbody").rows.length === 3`)
	cells = browsertest.Eval[string](tb, `document.querySelector("#messages tbody tr pre.hex").textContent`)
	if cells != "ff fe 00" {
		t.Errorf("binary value shown as %q, want hex ff fe 00", cells)
	}
	tb.NoErrors("browse")
}

// testLiveTail produces while the messages page tails: each record
// must appear within 2 s; pausing holds records back and resuming shows
// them, none lost.
func testLiveTail(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/messages?topic=tail", `document.querySelector("#messages tbody").rows.length === 1`)
	tb.Run(chromedp.Click(chromedp.CSS("#tail-toggle")))
	tb.WaitJS(`document.querySelector("#tail-state").textContent.startsWith("live")`, 5*time.Second)
	produce := func(marker string) time.Time {
		start := time.Now()
		if err := f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "tail", Key: []byte(marker), Value: []byte(`{"marker":"` + marker + `"}`)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
		return start
	}
	has := func(marker string) string {
		return fmt.Sprintf(`document.querySelector("#messages tbody").innerText.includes(%q)`, marker)
	}
	start := produce("tail-1")
	tb.WaitJS(has("tail-1"), 2*time.Second)
	t.Logf("produced record shown in live tail after %v", time.Since(start).Round(time.Millisecond))
	var rows int
	rows = browsertest.Eval[int](tb, `document.querySelector("#messages tbody").rows.length`)
	if rows != 1 {
		t.Errorf("live tail shows %d rows, want only the new record", rows)
	}

	tb.Run(chromedp.Click(chromedp.CSS("#tail-toggle")))
	tb.WaitJS(`document.querySelector("#tail-state").textContent.startsWith("paused")`, 2*time.Second)
	produce("tail-2")
	time.Sleep(500 * time.Millisecond)
	var shown bool
	shown = browsertest.Eval[bool](tb, has("tail-2"))
	if shown {
		t.Error("a record produced while paused is shown before resume")
	}
	tb.Run(chromedp.Click(chromedp.CSS("#tail-toggle")))
	tb.WaitJS(has("tail-2"), 2*time.Second)
	tb.WaitJS(`document.querySelector("#tail-rate").dataset.count === "2"`, 3*time.Second)
	rows = browsertest.Eval[int](tb, `document.querySelector("#messages tbody").rows.length`)
	if rows != 2 {
		t.Errorf("after resume the tail shows %d rows, want 2 (none lost, none repeated)", rows)
	}
	tb.NoErrors("live tail")
}

// testFilter narrows a browse with a CEL filter.
func testFilter(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length === 20`)
	tb.Run(
		chromedp.SetValue(chromedp.CSS("#m-filter"), `value.n < 3 || key == "order-11"`),
		chromedp.Click(chromedp.CSS("#m-go")),
	)
	tb.WaitJS(`document.querySelector("#messages tbody").rows.length === 4`, 5*time.Second)
	var keys []string
	keys = browsertest.Eval[[]string](tb, `[...document.querySelectorAll("#messages tbody tr td:nth-child(4)")].map(td => td.textContent).sort()`)
	if strings.Join(keys, ",") != "order-0,order-1,order-11,order-2" {
		t.Errorf("filtered keys %v", keys)
	}
	// A filter that does not compile is shown in words, from the server.
	tb.Run(chromedp.SetValue(chromedp.CSS("#m-filter"), `value.n <`), chromedp.Click(chromedp.CSS("#m-go")))
	tb.WaitJS(`!document.querySelector("#error").hidden && document.querySelector("#error").textContent.includes("filter")`, 5*time.Second)
	tb.ExpectLoadErrors(400)
	tb.NoErrors("filter")
}

// testGroupLag checks the group page shows the committed offsets'
// lag and that the lag chart draws as it polls.
func testGroupLag(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/groups/billing", `document.querySelector("#offsets td[data-lag]") !== null`)
	var lag, committed string
	lag = browsertest.Eval[string](tb, `document.querySelector("#offsets td[data-lag]").textContent`)
	committed = browsertest.Eval[string](tb, `document.querySelector("#offsets tbody tr td:nth-child(3)").textContent`)
	if lag != "6" || committed != "4" {
		t.Errorf("payments/0: lag %q committed %q, want 6 and 4", lag, committed)
	}
	// Produce 5 more: the lag becomes 11 at the next poll, and the chart
	// has at least two points.
	for i := range 5 {
		f.cl.ProduceSync(context.Background(), &kgo.Record{Topic: "payments", Value: []byte(fmt.Sprint(i))})
	}
	tb.WaitJS(`document.querySelector("#g-lag").textContent === "11"`, 5*time.Second)
	tb.WaitJS(`Number(document.querySelector("#chart-lag").dataset.points) >= 2`, 5*time.Second)
	// The chart drew non-background pixels.
	var drawn bool
	drawn = browsertest.Eval[bool](tb, `(() => { const c = document.querySelector("#chart-lag"); const d = c.getContext("2d").getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; return n > 500; })()`)
	if !drawn {
		t.Error("lag chart is empty")
	}
	// Reset to earliest: the preview shows the new lag and changes
	// nothing; applying asks first, then the lag becomes 15.
	tb.Run(chromedp.SetValue(chromedp.CSS("#r-to"), "earliest"), chromedp.Click(chromedp.CSS("#r-preview")))
	tb.WaitJS(`document.querySelector("#reset-preview td[data-lag-after]")?.textContent === "15"`, 5*time.Second)
	time.Sleep(2500 * time.Millisecond) // a poll after the preview
	if lag := browsertest.Eval[string](tb, `document.querySelector("#g-lag").textContent`); lag != "11" {
		t.Errorf("lag after preview %q, want 11 (a preview changes nothing)", lag)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#r-apply")))
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	if text := browsertest.Eval[string](tb, `document.querySelector("#confirm-text").textContent`); text != `Reset the offsets of group "billing" on 1 partition(s) to earliest? Lag goes from 11 to 15.` {
		t.Errorf("reset confirmation says %q", text)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-ok")))
	tb.WaitJS(`document.querySelector("#g-lag").textContent === "15"`, 5*time.Second)
	tb.NoErrors("group")
}

// testWrites creates and deletes a topic through the pages (each
// after a confirmation naming it) on a --console-write server, and checks
// a read-only server hides the controls and refuses the routes with 403.
func testWrites(t *testing.T, bctx context.Context, f *fixture) {
	rw := f.p
	tb := browsertest.NewTab(t, bctx, rw.HTTPURL())
	tb.Open("/ui/topics", `document.querySelector("#topic-count").textContent !== ""`)
	tb.Run(
		chromedp.SetValue(chromedp.CSS("#create-name"), "made-in-ui"),
		chromedp.SetValue(chromedp.CSS("#create-partitions"), "3"),
		chromedp.Click(chromedp.CSS(`#topic-create button[type=submit]`)),
	)
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	var text string
	text = browsertest.Eval[string](tb, `document.querySelector("#confirm-text").textContent`)
	if text != `Create topic "made-in-ui" with 3 partition(s)?` {
		t.Errorf("create confirmation says %q", text)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-ok")))
	tb.WaitJS(`document.querySelector("#topics tbody").innerText.includes("made-in-ui")`, 5*time.Second)
	// Delete: cancelling keeps the topic, confirming deletes it.
	tb.Run(chromedp.Click(chromedp.CSS(`button[aria-label="Delete topic made-in-ui"]`)))
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	text = browsertest.Eval[string](tb, `document.querySelector("#confirm-text").textContent`)
	if !strings.Contains(text, `Delete topic "made-in-ui" with its 3 partition(s)`) {
		t.Errorf("delete confirmation says %q", text)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-cancel")))
	time.Sleep(200 * time.Millisecond)
	if res, err := http.Get(rw.HTTPURL() + "/v1/topics/made-in-ui"); err != nil || res.StatusCode != 200 {
		t.Fatalf("topic gone after cancel: %v %v", err, res)
	}
	tb.Run(chromedp.Click(chromedp.CSS(`button[aria-label="Delete topic made-in-ui"]`)))
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-ok")))
	tb.WaitJS(`!document.querySelector("#topics tbody").innerText.includes("made-in-ui")`, 5*time.Second)
	if res, err := http.Get(rw.HTTPURL() + "/v1/topics/made-in-ui"); err != nil || res.StatusCode != 404 {
		t.Fatalf("topic still there after delete: %v %v", err, res)
	}
	// Redrive two of the three dead letters back to jobs/0.
	tb.Open("/ui/dlq", `document.querySelector("#dlqs tbody button") !== null`)
	tb.Run(chromedp.Click(chromedp.CSS(`#dlqs tbody button`)))
	tb.WaitJS(`document.querySelectorAll("#deadletters input[type=checkbox]").length === 3`, 5*time.Second)
	tb.Run(
		chromedp.Click(chromedp.CSS(`#deadletters input[data-offset="0"]`)),
		chromedp.Click(chromedp.CSS(`#deadletters input[data-offset="2"]`)),
		chromedp.Click(chromedp.CSS("#dl-redrive")),
	)
	tb.WaitJS(`document.querySelector("#confirm").open`, 3*time.Second)
	if text := browsertest.Eval[string](tb, `document.querySelector("#confirm-text").textContent`); !strings.HasPrefix(text, "Redrive 2 dead letter(s) from dlq.jobs back to jobs/0?") {
		t.Errorf("redrive confirmation says %q", text)
	}
	tb.Run(chromedp.Click(chromedp.CSS("#confirm-ok")))
	tb.WaitJS(`document.querySelector("#dl-result").textContent.startsWith("redriven 2:")`, 5*time.Second)
	var jobs struct{ Records int64 }
	if res, err := http.Get(rw.HTTPURL() + "/v1/topics/jobs"); err != nil {
		t.Fatal(err)
	} else {
		_ = json.NewDecoder(res.Body).Decode(&jobs)
		res.Body.Close()
	}
	if jobs.Records != 3 {
		t.Errorf("jobs holds %d records after redriving 2, want 3", jobs.Records)
	}
	tb.NoErrors("read-write")

	ro := newFixture(t)
	tb = browsertest.NewTab(t, bctx, ro.p.HTTPURL())
	tb.Open("/ui/topics", `document.querySelector("#topics tbody").innerText.includes("orders")`)
	var controls int
	controls = browsertest.Eval[int](tb, `document.querySelectorAll("#topic-create, #topics button.danger").length`)
	if controls != 0 {
		t.Errorf("read-only topics page shows %d write controls", controls)
	}
	text = browsertest.Eval[string](tb, `document.querySelector(".mode").textContent`)
	if text != "read-only" {
		t.Errorf("mode badge %q", text)
	}
	// The server refuses the write routes even when called from the page.
	var answers []string
	answers = browsertest.Eval[[]string](tb, `Promise.all([
		fetch("/v1/topics", {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify({name: "nope"})}),
		fetch("/v1/topics/orders", {method: "DELETE"}),
	].map(p => p.then(async r => r.status + " " + (await r.json()).error.message)))`)
	for _, a := range answers {
		if !strings.HasPrefix(a, "403 ") || !strings.Contains(a, "--console-write") {
			t.Errorf("read-only write answered %q, want 403 naming --console-write", a)
		}
	}
	tb.ExpectLoadErrors(403)
	if res, err := http.Get(ro.p.HTTPURL() + "/v1/topics/orders"); err != nil || res.StatusCode != 200 {
		t.Fatalf("orders after refused delete: %v %v", err, res)
	}
	tb.Open("/ui/topics/orders", `document.querySelector("#t-records").textContent === "20"`)
	controls = browsertest.Eval[int](tb, `document.querySelectorAll("#topic-delete").length`)
	if controls != 0 {
		t.Error("read-only topic page shows a delete button")
	}
	tb.Open("/ui/dlq", `document.querySelector("#dlqs tbody button") !== null`)
	tb.Run(chromedp.Click(chromedp.CSS(`#dlqs tbody button`)))
	tb.WaitJS(`document.querySelector("#deadletters tbody").rows.length === 3`, 5*time.Second)
	if n := browsertest.Eval[int](tb, `document.querySelectorAll("#dl-redrive, #dl-redrive-all, #dl-to, #deadletters input").length`); n != 0 {
		t.Errorf("read-only dead-letter page shows %d redrive controls", n)
	}
	for _, pg := range []struct{ path, ready, controls string }{
		{"/ui/messages?topic=orders", `document.querySelector("#messages tbody").rows.length === 20`, "#produce, #p-send"},
		{"/ui/topics/orders", `document.querySelector("#t-records").textContent === "20"`, "#config-set, #configs button"},
		{"/ui/groups", `document.querySelector("#groups tbody").innerText.includes("billing")`, "#groups button, #share-groups button, #sr-apply"},
		{"/ui/groups/billing", `document.querySelector("#offsets tbody").rows.length === 1`, "#group-delete, #r-apply"},
		{"/ui/schemas?subject=orders-value", `document.querySelector("#sc-right-text").textContent !== ""`, "#sc-register, #sc-del, #sc-delete, #sc-del-perm, #sc-subject, #sc-settings, #sg-settings"},
	} {
		tb.Open(pg.path, pg.ready)
		if n := browsertest.Eval[int](tb, fmt.Sprintf(`document.querySelectorAll(%q).length`, pg.controls)); n != 0 {
			t.Errorf("read-only %s shows %d write controls (%s)", pg.path, n, pg.controls)
		}
	}
	// A write refused by the read-only server is put in words.
	msg := browsertest.Eval[string](tb, `api("/v1/topics/orders/messages", {method: "POST", headers: {"Content-Type": "application/json"}, body: "{}"}).then(() => "accepted", (e) => e.message)`)
	if !strings.HasPrefix(msg, "This server is read-only") || !strings.Contains(msg, "--console-write") {
		t.Errorf("read-only produce explained as %q", msg)
	}
	tb.ExpectLoadErrors(403)
	tb.NoErrors("read-only")
}

// testKeyboard tabs through the messages and topics pages: the
// skip link, every navigation entry and the main controls are reached
// in document order.
func testKeyboard(t *testing.T, bctx context.Context, f *fixture) {
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	reach := func(path string, want []string) {
		tb.Open(path, `document.readyState === "complete"`)
		var seen []string
		for range 40 {
			tb.Run(chromedp.KeyEvent(kb.Tab))
			var id string
			id = browsertest.Eval[string](tb, `(() => { const a = document.activeElement; return a.id || a.getAttribute("href") || a.textContent.trim(); })()`)
			seen = append(seen, id)
		}
		pos := 0
		for _, s := range seen {
			if pos < len(want) && s == want[pos] {
				pos++
			}
		}
		if pos < len(want) {
			t.Errorf("%s: tabbing reached %v; missing %q (in order: %v)", path, seen, want[pos], want)
		}
	}
	nav := []string{"#main", "/ui/", "/ui/topics", "/ui/messages", "/ui/groups", "/ui/streams", "/ui/dlq", "/ui/schemas"}
	reach("/ui/messages", append(nav, "m-topic", "m-partition", "m-offset", "m-time", "m-order", "m-limit", "m-filter", "m-go", "tail-toggle"))
	reach("/ui/topics", append(nav, "topic-prefix", "create-name", "create-partitions", "create-retention"))
	tb.NoErrors("keyboard")
}
