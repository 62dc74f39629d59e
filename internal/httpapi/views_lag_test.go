package httpapi_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/httpapi"
)

// TestGroupLagOnView: a group that read a view to its end and committed
// after its last matching record has lag 0 in GET /v1/groups/{group}, not
// the count of the source records after that record; non-matching records
// produced later do not raise it, a matching one does.
func TestGroupLagOnView(t *testing.T) {
	e := startAdmin(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(e.cl)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "orders"); err != nil {
		t.Fatal(err)
	}
	produce := func(from, n int, big func(i int) bool) {
		t.Helper()
		var recs []*kgo.Record
		for i := from; i < from+n; i++ {
			total := 10
			if big(i) {
				total = 5000
			}
			recs = append(recs, &kgo.Record{Topic: "orders", Partition: int32(i % 2), Value: []byte(fmt.Sprintf(`{"n":%d,"total":%d}`, i, total))})
		}
		if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	// 100 records per partition; the big ones at the even offsets 0..38,
	// so the last match is at 38 and 61 small records follow it.
	produce(0, 200, func(i int) bool { return i < 80 && i%4 < 2 })
	if _, err := adm.CreateTopic(ctx, 2, 1, map[string]*string{"eddy.view.source": kadm.StringPtr("orders"), "eddy.view.filter": kadm.StringPtr("value.total > 1000")}, "orders.big"); err != nil {
		t.Fatal(err)
	}

	// Read the view to its end in group vip; commit what was consumed,
	// as franz-go does: each partition's last matching record + 1.
	cons, err := kgo.NewClient(kgo.SeedBrokers(e.kafka), kgo.ConsumeTopics("orders.big"), kgo.ConsumerGroup("vip"),
		kgo.DisableAutoCommit(), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for got := 0; got < 40; {
		fs := cons.PollFetches(ctx)
		if err := fs.Err0(); err != nil {
			t.Fatal(err)
		}
		got += fs.NumRecords()
	}
	if err := cons.CommitUncommittedOffsets(ctx); err != nil {
		t.Fatal(err)
	}
	lag := func() (total, committed int64) {
		t.Helper()
		var d httpapi.GroupDetail
		if code := e.call(t, "GET", "/v1/groups/vip", "", &d); code != 200 {
			t.Fatalf("GET /v1/groups/vip: %d", code)
		}
		for _, o := range d.Offsets {
			if o.Topic != "orders.big" {
				t.Fatalf("offset %+v", o)
			}
			total += o.Lag
			committed += o.Committed
		}
		return total, committed
	}
	if l, c := lag(); l != 0 || c != 2*39 {
		t.Fatalf("caught up on the view: lag %d (committed %d in all, want 78), want 0; the 61 small records after each partition's last match are not lag", l, c)
	}
	produce(200, 20, func(int) bool { return false })
	if l, _ := lag(); l != 0 {
		t.Fatalf("after 20 more small records: lag %d, want 0", l)
	}
	produce(220, 2, func(int) bool { return true })
	// Offsets 100..109 small, 110 big on each partition: lag runs from
	// the committed 39 to the end, 111.
	if l, _ := lag(); l != 2*(111-39) {
		t.Fatalf("after one more big record per partition: lag %d, want %d", l, 2*(111-39))
	}
}
