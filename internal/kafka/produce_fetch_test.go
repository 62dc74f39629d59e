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

func TestCodecsAcksAndSizes(t *testing.T) {
	srv := kafkatest.Start(t)
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	big := make([]byte, 1<<20-200) // a 1 MiB record within max.message.bytes
	for i := range big {
		big[i] = byte(i * 7)
	}
	for name, codec := range codecs {
		for _, acks := range []kgo.Acks{kgo.NoAck(), kgo.LeaderAck(), kgo.AllISRAcks()} {
			topic := "c-" + name
			opts := []kgo.Opt{kgo.ProducerBatchCompression(codec), kgo.RequiredAcks(acks), kgo.DefaultProduceTopic(topic),
				kgo.AllowAutoTopicCreation(), kgo.ProducerBatchMaxBytes(2 << 20)}
			if acks != kgo.AllISRAcks() {
				opts = append(opts, kgo.DisableIdempotentWrite())
			}
			cl := srv.Client(t, opts...)
			ctx := ctxT(t, 20*time.Second)
			recs := []*kgo.Record{
				{Key: []byte("k"), Value: []byte("v"), Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(name)}}},
				{Value: nil},
				{Value: []byte{}},
				{Key: []byte("big"), Value: big},
			}
			if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
				t.Fatalf("%s acks %v: produce: %v", name, acks, err)
			}
			cl.Close()
		}
		// Three rounds of four records each; acks=0 gets no answer, so
		// wait on what the consumer sees.
		got := consumeN(t, srv, "c-"+name, 12)
		for i, r := range got {
			switch i % 4 {
			case 0:
				if string(r.Key) != "k" || string(r.Value) != "v" || len(r.Headers) != 1 || string(r.Headers[0].Value) != name {
					t.Fatalf("%s record %d: %+v", name, i, r)
				}
			case 1, 2:
				if len(r.Value) != 0 {
					t.Fatalf("%s record %d: value %q", name, i, r.Value)
				}
			case 3:
				if string(r.Value) != string(big) {
					t.Fatalf("%s record %d: big value differs", name, i)
				}
			}
		}
		// Stored as sent: the codec in the log is the producer's.
		res, err := srv.Broker.Fetch("c-"+name, 0, 0, 1)
		if err != nil {
			t.Fatal(err)
		}
		wantCodec := map[string]byte{"none": 0, "gzip": 1, "snappy": 2, "lz4": 3, "zstd": 4}[name]
		if got := res.Batches[22] & 7; got != wantCodec {
			t.Fatalf("%s: stored codec %d", name, got)
		}
	}
}

func TestLongPollWakesOnProduce(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("lp", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	cons := srv.Client(t, kgo.ConsumeTopics("lp"), kgo.FetchMaxWait(10*time.Second))
	prod := srv.Client(t, kgo.DefaultProduceTopic("lp"))
	ctx := ctxT(t, 20*time.Second)
	// Let the consumer park on an empty partition first.
	got := make(chan time.Time, 1)
	go func() {
		for {
			fs := cons.PollFetches(ctx)
			if ctx.Err() != nil || len(fs.Records()) > 0 {
				got <- time.Now()
				return
			}
		}
	}()
	// Wait until the consumer's fetch is parked on the partition.
	for deadline := time.Now().Add(5 * time.Second); parkedFetches(srv) == 0; {
		if time.Now().After(deadline) {
			t.Fatal("consumer fetch never parked")
		}
		time.Sleep(5 * time.Millisecond)
	}
	sent := time.Now()
	if err := prod.ProduceSync(ctx, &kgo.Record{Value: []byte("wake")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	at := <-got
	if d := at.Sub(sent); d > 2*time.Second {
		t.Fatalf("consumer woke %v after produce; long-poll did not wake", d)
	}
}

func parkedFetches(srv *kafkatest.Server) int { return srv.Broker.Waiting() }
