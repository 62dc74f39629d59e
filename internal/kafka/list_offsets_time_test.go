package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/record"
)

// TestListOffsetsByTimeInsideBatches: a lookup by time answers the first
// record (by offset) whose timestamp is at or after the target, with that
// record's own timestamp, inside batches of every codec, with timestamps
// that are not in order within a batch (franz-go compresses by default,
// so a consumer seeking by time would otherwise re-read earlier records).
// ListOffsets -3 (max timestamp) answers the record holding it.
func TestListOffsetsByTimeInsideBatches(t *testing.T) {
	srv := kafkatest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	codecs := map[string]kgo.CompressionCodec{
		"none": kgo.NoCompression(), "gzip": kgo.GzipCompression(), "snappy": kgo.SnappyCompression(),
		"lz4": kgo.Lz4Compression(), "zstd": kgo.ZstdCompression(),
	}
	ids := map[string]record.Codec{"none": record.CodecNone, "gzip": record.CodecGzip, "snappy": record.CodecSnappy,
		"lz4": record.CodecLZ4, "zstd": record.CodecZstd}
	// One batch of two records first, so the batch under test does not
	// start at offset 0; then one batch of six records whose timestamps
	// go back and forth.
	first := []int64{100, 200}
	stamps := []int64{1000, 3000, 2000, 5000, 4000, 6000}
	for name, codec := range codecs {
		t.Run(name, func(t *testing.T) {
			// kgo may still split a buffered group into two batches (records
			// it holds until the topic's metadata arrives are moved into the
			// partition one by one while Flush drains): the layout under test
			// needs each group whole, so a split layout is tried again on a
			// new topic.
			var topic string
			var cl *kgo.Client
			for attempt := 0; ; attempt++ {
				topic = fmt.Sprintf("time-%s-%d", name, attempt)
				var hs []record.BatchHeader
				cl, hs = produceGroups(ctx, t, srv, topic, codec, first, stamps)
				if len(hs) == 2 && hs[1].RecordCount == 6 && hs[1].Codec() == ids[name] {
					break
				}
				if attempt == 4 {
					t.Fatalf("stored batches %+v; want 2, the second with 6 records in %s", hs, name)
				}
			}
			adm := kadm.NewClient(cl)
			for _, c := range []struct {
				target, offset, ts int64
			}{
				{50, 0, 100},
				{150, 1, 200},
				{500, 2, 1000},
				{1000, 2, 1000},
				{1500, 3, 3000}, // the first by offset at or after 1500, not the smallest timestamp
				{2500, 3, 3000},
				{3001, 5, 5000},
				{4500, 5, 5000},
				{5001, 7, 6000},
				{6000, 7, 6000},
				{6001, 8, -1}, // none that new: Eddy answers -1, which kadm turns into the end offset
			} {
				l, err := adm.ListOffsetsAfterMilli(ctx, c.target, topic)
				if err != nil {
					t.Fatal(err)
				}
				o, ok := l.Lookup(topic, 0)
				if !ok || o.Err != nil || o.Offset != c.offset || o.Timestamp != c.ts {
					t.Errorf("after %d: offset %d timestamp %d (%v); want %d, %d", c.target, o.Offset, o.Timestamp, o.Err, c.offset, c.ts)
				}
			}
			l, err := adm.ListMaxTimestampOffsets(ctx, topic)
			if err != nil {
				t.Fatal(err)
			}
			if o, _ := l.Lookup(topic, 0); o.Offset != 7 || o.Timestamp != 6000 {
				t.Errorf("max timestamp: offset %d timestamp %d; want 7, 6000", o.Offset, o.Timestamp)
			}
		})
	}
}

// produceGroups produces each group of timestamps to topic as one flush of
// a client of its own (one that has just flushed may still be draining and
// take the next group's first record into a batch of its own), and returns
// the last client and the headers of the batches stored.
func produceGroups(ctx context.Context, t *testing.T, srv *kafkatest.Server, topic string, codec kgo.CompressionCodec, groups ...[]int64) (*kgo.Client, []record.BatchHeader) {
	t.Helper()
	var cl *kgo.Client
	for _, group := range groups {
		cl = srv.Client(t, kgo.ProducerBatchCompression(codec), kgo.DefaultProduceTopic(topic),
			kgo.AllowAutoTopicCreation(), kgo.ManualFlushing())
		errs := make(chan error, len(group))
		for _, ts := range group {
			cl.Produce(ctx, &kgo.Record{Value: bytes.Repeat([]byte("v"), 300), Timestamp: time.UnixMilli(ts)},
				func(_ *kgo.Record, err error) { errs <- err })
		}
		if err := cl.Flush(ctx); err != nil {
			t.Fatal(err)
		}
		for range group {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	}
	res, err := srv.Broker.Fetch(topic, 0, 0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	var hs []record.BatchHeader
	for b := res.Batches; len(b) > 0; {
		h, err := record.ParseBatchHeader(b)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
		b = b[h.Size():]
	}
	return cl, hs
}
