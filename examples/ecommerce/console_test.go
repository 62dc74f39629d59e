package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
	"github.com/eddy-streaming/eddy/internal/eddytest"
)

// TestConsoleShowsTheSystem runs the scenario against a real `eddy serve`
// and looks at what it left in the console, in Chromium: the overview and
// the services' topics, the groups caught up (lag 0, email-vip on the view
// too), the email group's partitions, the payment share group, the poison
// payment in dlq.payments with its reason, the order's stream rebuilt
// after the redrive (OrderCreated, then OrderPaid), the inventory records
// decoded through their schema, and OrderCreated's two schema versions.
// Every page must load without a browser error. EDDY_UPDATE_SCREENSHOTS=1
// saves each page as docs/tutorial/*.png, the pictures docs/tutorial.md
// shows.
func TestConsoleShowsTheSystem(t *testing.T) {
	bctx := browsertest.Start(t)
	p := eddytest.Start(t)
	var out syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	err := run(ctx, []string{"--brokers", p.KafkaAddr(), "--http", p.HTTPURL(), "--registry", p.SchemaRegistryURL(), "--listen", "127.0.0.1:0",
		"--orders", "20", "--eddy", eddytest.Binary(), "--timeout", "45s"}, &out)
	cancel()
	if err != nil {
		t.Fatalf("scenario: %v\n%s", err, out.String())
	}
	m := regexp.MustCompile(`dead-lettered: (order-[0-9a-f]+-[0-9]+)`).FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("the scenario dead-lettered no order:\n%s", out.String())
	}
	poison := m[1]

	tb := browsertest.NewTab(t, bctx, p.HTTPURL())
	pages := []struct{ name, path, ready string }{
		{"overview", "/", `document.querySelector("#st-ready").textContent === "ready" && document.querySelector("#top-topics tbody").innerText.includes("orders")`},
		{"topics", "/ui/topics", `["orders", "orders.vip", "payments", "inventory", "processed", "dlq.payments"].every((n) => [...document.querySelectorAll("#topics tbody tr")].some((r) => r.innerText.split("\t")[0].trim() === n))`},
		{"groups", "/ui/groups", `["email", "email-vip", "inventory"].every((g) => document.querySelector("#groups tbody").innerText.includes(g)) && document.querySelector("#share-groups tbody").innerText.includes("payment")`},
		{"group-email", "/ui/groups/email", `document.querySelector("#g-lag").textContent === "0" && document.querySelector("#offsets tbody").rows.length > 0`},
		{"share-group-payment", "/ui/share-groups/payment", `document.querySelector("#sg-parts tbody").rows.length > 0`},
		{"dlq", "/ui/dlq", `document.querySelector("#dlqs tbody").innerText.includes("dlq.payments") && document.querySelector("#dlqs tbody").innerText.includes("rejected")`},
		{"stream", "/ui/streams?topic=orders&stream=" + poison, `document.querySelector("#events tbody").rows.length === 2`},
		{"messages-inventory", "/ui/messages?topic=inventory", `document.querySelector("#messages tbody").rows.length > 0`},
		{"schemas", "/ui/schemas?subject=orders-OrderCreated", `document.querySelector("#subjects tbody").innerText.includes("orders-OrderCreated") && document.querySelector("#sc-right-text") !== null`},
	}
	for _, pg := range pages {
		tb.Open(pg.path, pg.ready)
		switch pg.name {
		case "groups":
			// Every classic group is caught up, email-vip on the view too:
			// the orders after its last VIP order are not lag.
			if lags := browsertest.Eval[string](tb, `[...document.querySelectorAll("#groups tbody tr")].map((r) => r.cells[0].innerText + "=" + r.cells[r.cells.length - 1].innerText).join(" ")`); !strings.Contains(lags, "email-vip=0") || !strings.Contains(lags, "email=0") || !strings.Contains(lags, "inventory=0") {
				t.Errorf("group lags %s, want email, email-vip and inventory at 0", lags)
			}
		case "dlq":
			tb.Run(chromedp.Click(chromedp.CSS(`#dlqs tbody button`)))
			tb.WaitJS(`document.querySelector("#deadletters tbody").rows.length >= 1`, 5*time.Second)
			if row := browsertest.Eval[string](tb, `document.querySelector("#deadletters tbody tr").innerText`); !strings.Contains(row, poison) || !strings.Contains(row, "rejected") || !strings.Contains(row, "payments") {
				t.Errorf("dead letter row %q: want the poison order %s, rejected, from payments", row, poison)
			}
		case "stream":
			if evs := browsertest.Eval[string](tb, `document.querySelector("#events tbody").innerText`); strings.Index(evs, "OrderCreated") < 0 || strings.Index(evs, "OrderPaid") < strings.Index(evs, "OrderCreated") {
				t.Errorf("stream %s shows:\n%s\nwant OrderCreated, then OrderPaid", poison, evs)
			}
			// The stream's events are below the list of streams.
			browsertest.Eval[bool](tb, `document.querySelector("#stream-h").scrollIntoView(), true`)
		case "messages-inventory":
			// Values in the registry's wire format are shown decoded.
			if v := browsertest.Eval[string](tb, `document.querySelector("#messages tbody").innerText`); !strings.Contains(v, "orderId") {
				t.Errorf("inventory messages are not shown decoded:\n%s", v)
			}
		}
		time.Sleep(100 * time.Millisecond) // late errors of the page's fetches
		tb.NoErrors(pg.name)
		tb.Screenshot(filepath.Join("..", "..", "docs", "tutorial", pg.name+".png"))
	}
}
