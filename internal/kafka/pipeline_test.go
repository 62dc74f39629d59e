package kafka_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
)

// TestPipelinedRequestsInOneWrite sends many requests in a single TCP
// write (the reader's buffered read takes several frames, and frames that
// straddle its buffer, at once): produces to an fsync=always topic (their
// durability waits run in order on the writer) mixed with Metadata and
// ApiVersions. Every request is answered, in order, and the produces get
// consecutive offsets.
func TestPipelinedRequestsInOneWrite(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("pipe", 1, map[string]string{"eddy.fsync": "always"}, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	var buf []byte
	type sent struct {
		corr int32
		req  kmsg.Request
		ver  int16
	}
	var reqs []sent
	for i := 0; i < 60; i++ {
		rc.corr++
		switch i % 3 {
		case 0, 1:
			// Values from tiny to larger than the reader's 8 KiB buffer.
			val := make([]byte, 1+i*300)
			buf = append(buf, produceFrameAcks(t, "pipe", makeBatch(time.Now().UnixMilli(), string(val)), rc.corr, -1)...)
			reqs = append(reqs, sent{rc.corr, kmsg.NewPtrProduceRequest(), 7})
		default:
			m := kmsg.NewPtrMetadataRequest()
			buf = append(buf, frame(m, 4, rc.corr)...)
			reqs = append(reqs, sent{rc.corr, kmsg.NewPtrMetadataRequest(), 4})
		}
	}
	rc.write(buf)
	next := int64(0)
	for _, s := range reqs {
		resp := rc.read(s.req, s.ver, s.corr)
		pr, ok := resp.(*kmsg.ProduceResponse)
		if !ok {
			continue
		}
		p := pr.Topics[0].Partitions[0]
		if p.ErrorCode != 0 || p.BaseOffset != next {
			t.Fatalf("produce corr %d: error %d, base offset %d, want %d", s.corr, p.ErrorCode, p.BaseOffset, next)
		}
		next++
	}
	if _, hw, _, err := srv.Broker.Offsets("pipe", 0); err != nil || hw != next {
		t.Fatalf("high watermark %d (%v), want %d (acknowledged means durable and visible)", hw, err, next)
	}
}

// produceFrameAcks is produceFrame with the given acks.
func produceFrameAcks(t *testing.T, topic string, batch []byte, corr int32, acks int16) []byte {
	t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = acks, 30000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return frame(req, 7, corr)
}

// TestRepliesKeepOrderAcrossKinds: a parked fetch (Defer, answered by its
// own goroutine), an immediate Metadata and an fsync=always produce
// (DeferInOrder, answered by the writer) pipelined on one connection are
// answered in request order, the fetch only after its MaxWait.
func TestRepliesKeepOrderAcrossKinds(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("kinds", 1, map[string]string{"eddy.fsync": "always"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.Broker.CreateTopic("empty", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	fetch := func() kmsg.Request {
		f := kmsg.NewPtrFetchRequest()
		f.ReplicaID, f.MaxWaitMillis, f.MinBytes, f.MaxBytes = -1, 300, 1, 1<<20
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "empty"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.PartitionMaxBytes = 1 << 20
		ft.Partitions = append(ft.Partitions, fp)
		f.Topics = append(f.Topics, ft)
		return f
	}
	var buf []byte
	type sent struct {
		corr int32
		req  kmsg.Request
		ver  int16
	}
	var reqs []sent
	add := func(req kmsg.Request, ver int16, b []byte) {
		buf = append(buf, b...)
		reqs = append(reqs, sent{rc.corr, req, ver})
	}
	start := time.Now()
	for i := 0; i < 3; i++ {
		rc.corr++
		add(fetch(), 4, frame(fetch(), 4, rc.corr))
		rc.corr++
		add(kmsg.NewPtrMetadataRequest(), 4, frame(kmsg.NewPtrMetadataRequest(), 4, rc.corr))
		rc.corr++
		add(kmsg.NewPtrProduceRequest(), 7, produceFrameAcks(t, "kinds", makeBatch(time.Now().UnixMilli(), "v"), rc.corr, -1))
	}
	rc.write(buf)
	for i, s := range reqs {
		rc.read(s.req, s.ver, s.corr) // fails on a correlation id out of order
		if i == 0 && time.Since(start) < 250*time.Millisecond {
			t.Fatalf("parked fetch answered after %v, before its 300 ms MaxWait", time.Since(start))
		}
	}
	if _, hw, _, err := srv.Broker.Offsets("kinds", 0); err != nil || hw != 3 {
		t.Fatalf("high watermark %d (%v), want 3", hw, err)
	}
}

// TestParkedFetchReleasedOnDisconnect: a fetch parked without a goroutine
// (DeferCallback) stops watching its partitions as soon as its client goes
// away, long before its MaxWait, and a later write to the partition finds
// nobody to call back.
func TestParkedFetchReleasedOnDisconnect(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("gone", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	rc.send(longPollFetch("gone", 2, 60000, 1<<20), 12)
	waitParked(t, srv.Broker, 2)
	rc.c.Close()
	waitParked(t, srv.Broker, 0) // released after the client left
	if _, err := srv.Broker.Append("gone", 1, makeBatch(time.Now().UnixMilli(), "late")); err != nil {
		t.Fatal(err)
	}
}

// TestParkedFetchSlowReaderDoesNotBlockProducer: a parked fetch answered
// by a producer's write makes one non-blocking write attempt on the
// producer's goroutine; a client that is not reading gets what did not
// fit in the socket buffers (a 12 MiB response is more than loopback
// buffers take) from its own writer goroutine, so the producer returns at
// once and the client still receives the whole, intact response.
func TestParkedFetchSlowReaderDoesNotBlockProducer(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("slow", 1, map[string]string{"max.message.bytes": "16777216"}, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	fr := longPollFetch("slow", 1, 20000, 16<<20)
	corr := rc.send(fr, 12)
	waitParked(t, srv.Broker, 1)
	big := makeBatch(time.Now().UnixMilli(), string(make([]byte, 12<<20)))
	start := time.Now()
	if _, err := srv.Broker.Append("slow", 0, big); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("producer held %v by a consumer that does not read", d)
	}
	time.Sleep(100 * time.Millisecond) // the client still is not reading
	resp := rc.read(fr, 12, corr).(*kmsg.FetchResponse)
	p := resp.Topics[0].Partitions[0]
	if p.ErrorCode != 0 || len(p.RecordBatches) != len(big) || p.HighWatermark != 1 {
		t.Fatalf("fetch answered error %d, %d bytes of batches (want %d), high watermark %d", p.ErrorCode, len(p.RecordBatches), len(big), p.HighWatermark)
	}
}

// TestProduceBehindParkedFetchOnOneConnection: a produce sent on the
// connection where a fetch is parked on the same fsync=always partition
// has its durability wait run without waiting for the fetch (which waits
// for exactly that data): the fetch returns the record long before its
// MaxWait, then the produce is acknowledged, in request order.
func TestProduceBehindParkedFetchOnOneConnection(t *testing.T) {
	srv := kafkatest.Start(t)
	if _, err := srv.Broker.CreateTopic("shared", 1, map[string]string{"eddy.fsync": "always"}, false); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, srv.Addr)
	fr := longPollFetch("shared", 1, 10000, 1<<20)
	fcorr := rc.send(fr, 12)
	waitParked(t, srv.Broker, 1)
	start := time.Now()
	rc.corr++
	pcorr := rc.corr
	rc.write(produceFrameAcks(t, "shared", makeBatch(time.Now().UnixMilli(), "both"), pcorr, -1))
	resp := rc.read(fr, 12, fcorr).(*kmsg.FetchResponse)
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("fetch answered after %v: the produce's fsync waited behind it", d)
	}
	if p := resp.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.HighWatermark != 1 || len(p.RecordBatches) == 0 {
		t.Fatalf("fetch: error %d, high watermark %d, %d bytes", p.ErrorCode, p.HighWatermark, len(p.RecordBatches))
	}
	pr := rc.read(kmsg.NewPtrProduceRequest(), 7, pcorr).(*kmsg.ProduceResponse)
	if p := pr.Topics[0].Partitions[0]; p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("produce: error %d, base offset %d", p.ErrorCode, p.BaseOffset)
	}
}
