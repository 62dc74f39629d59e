package console_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/console/browsertest"
)

// testBrowseTime browses a topic whose records are a minute apart by
// time: from 00:05:00 UTC oldest first shows the records of minutes 5, 6
// and 7 in that order (the time column in UTC); newest first without a
// time starts at the last record.
func testBrowseTime(t *testing.T, bctx context.Context, f *fixture) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var recs []*kgo.Record
	for i := range 10 {
		recs = append(recs, &kgo.Record{Topic: "timed", Timestamp: base.Add(time.Duration(i) * time.Minute), Value: []byte(fmt.Sprintf(`{"minute":%d}`, i))})
	}
	if err := f.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
	tb := browsertest.NewTab(t, bctx, f.p.HTTPURL())
	tb.Open("/ui/messages?topic=timed", `document.querySelector("#messages tbody").rows.length === 10`)
	if first := browsertest.Eval[string](tb, `document.querySelector("#messages tbody tr td:nth-child(3)").textContent`); first != "2026-01-01 00:09:00.000" {
		t.Errorf("newest first starts at %q, want 2026-01-01 00:09:00.000", first)
	}
	// The datetime-local input gets its value from script (chromedp's
	// SetValue refuses that node).
	tb.Run(chromedp.Evaluate[chromedp.Void](`document.querySelector("#m-time").value = "2026-01-01T00:05:00"`),
		chromedp.SetValue(chromedp.CSS("#m-order"), "oldest"), chromedp.SetValue(chromedp.CSS("#m-limit"), "3"), chromedp.Click(chromedp.CSS("#m-go")))
	tb.WaitJS(`document.querySelector("#messages tbody").rows.length === 3 && document.querySelector("#messages tbody tr td:nth-child(2)").textContent === "5"`, 5*time.Second)
	times := browsertest.Eval[[]string](tb, `[...document.querySelectorAll("#messages tbody tr td:nth-child(3)")].map((td) => td.textContent)`)
	if fmt.Sprint(times) != "[2026-01-01 00:05:00.000 2026-01-01 00:06:00.000 2026-01-01 00:07:00.000]" {
		t.Errorf("from 00:05 oldest first: %v, want minutes 5, 6, 7", times)
	}
	tb.NoErrors("browse by time")
}
