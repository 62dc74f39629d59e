package kafka_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

func TestListOffsetsByTime(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("ts", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := srv.Client(t, kgo.DefaultProduceTopic("ts"), kgo.ProducerLinger(0))
	adm := kadm.NewClient(cl)
	ctx := ctxT(t, 20*time.Second)
	base := time.UnixMilli(1_700_000_000_000)
	for i := 0; i < 10; i++ {
		// One record per request so each is its own batch.
		r := &kgo.Record{Value: []byte(fmt.Sprint(i)), Timestamp: base.Add(time.Duration(i) * time.Second)}
		if err := cl.ProduceSync(ctx, r).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	check := func(name string, lo kadm.ListedOffsets, err error, wantOff, wantTS int64) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		o, ok := lo.Lookup("ts", 0)
		if !ok || o.Err != nil || o.Offset != wantOff || (wantTS != 0 && o.Timestamp != wantTS) {
			t.Fatalf("%s: got %+v, want offset %d ts %d", name, o, wantOff, wantTS)
		}
	}
	lo, err := adm.ListStartOffsets(ctx, "ts")
	check("earliest", lo, err, 0, 0)
	lo, err = adm.ListEndOffsets(ctx, "ts")
	check("latest", lo, err, 10, 0)
	lo, err = adm.ListOffsetsAfterMilli(ctx, base.Add(3500*time.Millisecond).UnixMilli(), "ts")
	check("after 3.5s", lo, err, 4, base.Add(4*time.Second).UnixMilli())
	lo, err = adm.ListOffsetsAfterMilli(ctx, base.Add(3*time.Second).UnixMilli(), "ts")
	check("at 3s", lo, err, 3, base.Add(3*time.Second).UnixMilli())
	lo, err = adm.ListMaxTimestampOffsets(ctx, "ts")
	check("max timestamp", lo, err, 9, base.Add(9*time.Second).UnixMilli())
	// Newer than everything: Kafka answers -1 and kadm maps it to the end.
	lo, err = adm.ListOffsetsAfterMilli(ctx, base.Add(time.Hour).UnixMilli(), "ts")
	if err != nil {
		t.Fatal(err)
	}
	if o, _ := lo.Lookup("ts", 0); o.Offset != 10 && o.Offset != -1 {
		t.Fatalf("after the end: %+v", o)
	}
}

func TestRestartMidStream(t *testing.T) {
	srv := kafkatest.Start(t, withDebugLog())
	if _, err := srv.Broker.CreateTopic("rs", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t, kgo.DefaultProduceTopic("rs"), kgo.RecordRetries(100), kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))
	cons := srv.Client(t, kgo.ConsumeTopics("rs"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(200*time.Millisecond))
	ctx := ctxT(t, 40*time.Second)
	seen := map[string]bool{}
	consume := func(n int) {
		for len(seen) < n {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("consumed %d of %d: %v", len(seen), n, ctx.Err())
			}
			fs.EachRecord(func(r *kgo.Record) { seen[string(r.Value)] = true })
		}
	}
	produce := func(from, to int) {
		for i := from; i < to; i++ {
			if err := prod.ProduceSync(ctx, &kgo.Record{Key: []byte(fmt.Sprint(i)), Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
				t.Fatalf("produce %d: %v", i, err)
			}
		}
	}
	produce(0, 50)
	consume(50)
	srv.Restart(t)
	produce(50, 100) // the same clients reconnect
	consume(100)
	for i := 0; i < 100; i++ {
		if !seen[fmt.Sprint(i)] {
			t.Fatalf("record %d missing", i)
		}
	}
	// A fresh admin client: kgo does not retry a request whose first read
	// on a connection the old server closed at shutdown hits EOF
	// (ErrFirstReadEOF), the same against a restarted Kafka.
	adm := kadm.NewClient(srv.Client(t))
	ends, err := adm.ListEndOffsets(ctx, "rs")
	if err != nil {
		t.Fatal(err)
	}
	total := int64(0)
	ends.Each(func(o kadm.ListedOffset) { total += o.Offset })
	if total != 100 {
		t.Fatalf("end offsets sum to %d, want 100 (duplicates or loss)", total)
	}
}
