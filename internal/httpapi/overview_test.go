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

// TestAdminOverview checks GET /v1/overview: totals without top lists at
// top=0; at top=N the N topics by produce rate (measured between two
// requests) then records, and the N groups by lag; bad top values are
// 400s naming the parameter.
func TestAdminOverview(t *testing.T) {
	e := startAdmin(t, true)
	ctx := context.Background()
	adm := kadm.NewClient(e.cl)
	for i, parts := range []int32{1, 2, 3} {
		if _, err := adm.CreateTopic(ctx, parts, 1, nil, fmt.Sprintf("ov-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	produce := func(topic string, n int) {
		t.Helper()
		var recs []*kgo.Record
		for i := range n {
			recs = append(recs, &kgo.Record{Topic: topic, Value: []byte(fmt.Sprint(i))})
		}
		if err := e.cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce("ov-0", 5)
	produce("ov-1", 3)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "ov-0", Partition: 0, At: 1, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "lagging", offs); err != nil {
		t.Fatal(err)
	}
	offs = kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: "ov-0", Partition: 0, At: 5, LeaderEpoch: -1})
	if _, err := adm.CommitOffsets(ctx, "caught-up", offs); err != nil {
		t.Fatal(err)
	}

	var ov httpapi.Overview
	if code := e.call(t, "GET", "/v1/overview?top=0", "", &ov); code != 200 {
		t.Fatalf("overview: %d", code)
	}
	if ov.TopicCount != 3 || ov.PartitionCount != 6 || ov.GroupCount != 2 || ov.RecordsIn != 8 || ov.ProduceRequests < 2 || ov.ProduceSeconds <= 0 || !ov.Ready {
		t.Errorf("totals %+v, want 3 topics, 6 partitions, 2 groups, 8 records in, 2+ produce requests with their time", ov)
	}
	if ov.TopTopics != nil || ov.TopLag != nil {
		t.Errorf("top=0 lists %v %v", ov.TopTopics, ov.TopLag)
	}
	// A request with top lists keeps the counters rates are measured
	// against; a second later ov-1 gets 40 records: it leads by rate,
	// then ov-0 (5 records, no rate) before ov-2 (none).
	if code := e.call(t, "GET", "/v1/overview?top=1", "", &ov); code != 200 || len(ov.TopTopics) != 1 || ov.TopTopics[0].Name != "ov-0" || ov.TopTopics[0].RecordsPerSecond != 0 {
		t.Fatalf("overview top=1: %d %+v, want ov-0 (most records, no rate yet)", code, ov.TopTopics)
	}
	time.Sleep(1100 * time.Millisecond)
	produce("ov-1", 40)
	ov = httpapi.Overview{}
	if code := e.call(t, "GET", "/v1/overview?top=2", "", &ov); code != 200 {
		t.Fatalf("overview top=2: %d", code)
	}
	if len(ov.TopTopics) != 2 || ov.TopTopics[0].Name != "ov-1" || ov.TopTopics[0].RecordsPerSecond <= 0 || ov.TopTopics[0].Records != 43 || ov.TopTopics[1].Name != "ov-0" || ov.TopTopics[1].RecordsPerSecond != 0 {
		t.Errorf("top topics %+v, want ov-1 (43 records, a rate) then ov-0 (no rate)", ov.TopTopics)
	}
	if len(ov.TopLag) != 2 || ov.TopLag[0].Group != "lagging" || ov.TopLag[0].Lag != 4 || ov.TopLag[1].Lag != 0 {
		t.Errorf("top lag %+v, want lagging (4) then caught-up (0)", ov.TopLag)
	}
	for _, q := range []string{"top=101", "top=-1", "top=x"} {
		var eb errBody
		if code := e.call(t, "GET", "/v1/overview?"+q, "", &eb); code != 400 || eb.Error.Message == "" {
			t.Errorf("overview?%s: %d %+v, want 400 naming top", q, code, eb)
		}
	}
	// Unknown share groups are 404s.
	var eb errBody
	if code := e.call(t, "GET", "/v1/share-groups/none", "", &eb); code != 404 || eb.Error.Code != "share_group_not_found" {
		t.Errorf("unknown share group: %d %+v", code, eb)
	}
	// decode= takes only schema.
	if code := e.call(t, "GET", "/v1/topics/ov-0/subscribe?decode=avro", "", &eb); code != 400 {
		t.Errorf("subscribe decode=avro: %d, want 400", code)
	}
}
