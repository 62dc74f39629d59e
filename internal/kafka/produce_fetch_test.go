package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// consumeN reads n records from the start of topic with a fresh client.
func consumeN(t *testing.T, srv *kafkatest.Server, topic string, n int, opts ...kgo.Opt) []*kgo.Record {
	t.Helper()
	cl := srv.Client(t, append([]kgo.Opt{kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart())}, opts...)...)
	ctx := ctxT(t, 20*time.Second)
	var out []*kgo.Record
	for len(out) < n {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatalf("consumed %d of %d records: %v", len(out), n, ctx.Err())
		}
		fs.EachError(func(tp string, p int32, err error) { t.Fatalf("fetch %s/%d: %v", tp, p, err) })
		out = append(out, fs.Records()...)
	}
	return out
}

func TestProduceConsumeBasic(t *testing.T) {
	srv := kafkatest.Start(t)
	cl := srv.Client(t, kgo.AllowAutoTopicCreation(), kgo.DefaultProduceTopic("orders"))
	ctx := ctxT(t, 20*time.Second)
	var recs []*kgo.Record
	for i := 0; i < 100; i++ {
		recs = append(recs, &kgo.Record{Key: []byte{byte(i)}, Value: []byte("hello"), Headers: []kgo.RecordHeader{{Key: "h", Value: []byte("v")}}})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
	got := consumeN(t, srv, "orders", 100)
	for i, r := range got {
		if r.Offset != int64(i) || string(r.Value) != "hello" || r.Key[0] != byte(i) || len(r.Headers) != 1 || r.Headers[0].Key != "h" {
			t.Fatalf("record %d: %+v", i, r)
		}
	}
}
