package probes

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/eddytest"
)

func TestMain(m *testing.M) { os.Exit(eddytest.BuildBinary(m)) }

// canaryDeadline is how long the canary may take. The target is 1 s (the
// canary logs its time, typically 40-300 ms, and where it went); the test
// allows 5 s because the CI machine is shared with other test processes
// (load averages of 10-20 on 2 cores were seen), which starve a topic
// creation's fsync far more than any probe does.
const canaryDeadline = 5 * time.Second

// canary produces one record to a fresh topic and consumes it back, both
// within deadline; it fails the test otherwise. Every probe ends with it:
// the server must still serve ordinary clients.
func canary(t *testing.T, p *eddytest.Process, deadline time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	topic := fmt.Sprintf("canary-%d", time.Now().UnixNano())
	start := time.Now()
	// The topic is created first, so that the client never waits out its
	// metadata refresh interval for a topic it saw missing.
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.MetadataMinAge(20*time.Millisecond),
		kgo.RetryBackoffFn(func(int) time.Duration { return 20 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	if res, err := kadm.NewClient(cl).CreateTopic(ctx, 1, 1, nil, topic); err != nil || res.Err != nil {
		t.Fatalf("canary topic after the probe: %v %v\nserver output:\n%s", err, res.Err, tail(p.Output()))
	}
	created := time.Since(start)
	if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("canary")}).FirstErr(); err != nil {
		t.Fatalf("canary produce after the probe: %v\nserver output:\n%s", err, tail(p.Output()))
	}
	produced := time.Since(start)
	for {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			t.Fatalf("canary consume after the probe: %v\nserver output:\n%s", err, tail(p.Output()))
		}
		got := false
		fs.EachRecord(func(r *kgo.Record) { got = got || string(r.Value) == "canary" })
		if got {
			t.Logf("canary produced and consumed in %v (topic created at %v, produced at %v)", time.Since(start).Round(time.Millisecond),
				created.Round(time.Millisecond), produced.Round(time.Millisecond))
			return
		}
	}
}

func tail(s string) string {
	if len(s) > 4000 {
		return "…" + s[len(s)-4000:]
	}
	return s
}

// alive fails the test if the server process exited.
func alive(t *testing.T, p *eddytest.Process) {
	t.Helper()
	if err := syscallKill0(p.PID()); err != nil {
		t.Fatalf("eddy serve is gone: %v\n%s", err, tail(p.Output()))
	}
	resp, err := httpGet("http://" + p.HTTPAddr() + "/healthz")
	if err != nil || resp != 200 {
		t.Fatalf("/healthz = %d, %v", resp, err)
	}
}

// peakRSS returns the child's peak resident set (VmHWM) in bytes.
func peakRSS(t *testing.T, pid int) int64 { return procStatus(t, pid, "VmHWM:") }

// rss returns the child's current resident set (VmRSS) in bytes.
func rss(t *testing.T, pid int) int64 { return procStatus(t, pid, "VmRSS:") }

func procStatus(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), field); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatalf("%s not in /proc/%d/status", field, pid)
	return 0
}

// rawConn is a Kafka connection that sends hand-built frames.
type rawConn struct {
	t    *testing.T
	c    net.Conn
	corr int32
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawConn{t: t, c: c}
}

// frame encodes req as a request frame with a client id.
func frame(req kmsg.Request, corr int32) []byte {
	var b []byte
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(req.GetVersion()))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	id := "probe"
	b = binary.BigEndian.AppendUint16(b, uint16(len(id)))
	b = append(b, id...)
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// send writes req and returns its correlation id.
func (r *rawConn) send(req kmsg.Request) int32 {
	r.corr++
	_ = r.c.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := r.c.Write(frame(req, r.corr)); err != nil {
		r.t.Fatalf("write %s: %v", kmsg.NameForKey(req.Key()), err)
	}
	return r.corr
}

// roundTrip sends req and decodes its response into resp.
func (r *rawConn) roundTrip(req kmsg.Request, resp kmsg.Response) {
	r.t.Helper()
	corr := r.send(req)
	body := r.readFrame()
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		r.t.Fatalf("correlation id %d, want %d", got, corr)
	}
	body = body[4:]
	if resp.IsFlexible() {
		body = body[1:] // header tags (none)
	}
	if err := resp.ReadFrom(body); err != nil {
		r.t.Fatalf("decode %s response: %v", kmsg.NameForKey(req.Key()), err)
	}
}

func (r *rawConn) readFrame() []byte {
	r.t.Helper()
	_ = r.c.SetReadDeadline(time.Now().Add(20 * time.Second))
	var size [4]byte
	if _, err := io.ReadFull(r.c, size[:]); err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	body := make([]byte, binary.BigEndian.Uint32(size[:]))
	if _, err := io.ReadFull(r.c, body); err != nil {
		r.t.Fatalf("read response: %v", err)
	}
	return body
}

// produce sends one Produce v9 request carrying batch to topic-0 and
// returns the partition's answer.
func (r *rawConn) produce(topic string, batch []byte) kmsg.ProduceResponseTopicPartition {
	r.t.Helper()
	req := kmsg.NewPtrProduceRequest()
	req.Version, req.Acks, req.TimeoutMillis = 9, -1, 10000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	resp := kmsg.NewPtrProduceResponse()
	resp.Version = req.Version
	r.roundTrip(req, resp)
	return resp.Topics[0].Partitions[0]
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// rawBatch builds a RecordBatch v2 around records (already encoded, maybe
// compressed) by hand: count records claimed, lastOffsetDelta count-1,
// codec in the attributes, a correct CRC.
func rawBatch(records []byte, count int32, codec int16) []byte {
	b := make([]byte, 61, 61+len(records))
	b = append(b, records...)
	be := binary.BigEndian
	be.PutUint32(b[8:], uint32(len(b)-12))
	b[16] = 2
	be.PutUint16(b[21:], uint16(codec))
	be.PutUint32(b[23:], uint32(count-1))
	ts := time.Now().UnixMilli()
	be.PutUint64(b[27:], uint64(ts))
	be.PutUint64(b[35:], uint64(ts))
	be.PutUint64(b[43:], ^uint64(0))
	be.PutUint16(b[51:], ^uint16(0))
	be.PutUint32(b[53:], ^uint32(0))
	be.PutUint32(b[57:], uint32(count))
	be.PutUint32(b[17:], crc32.Checksum(b[21:], castagnoli))
	return b
}

// rawRecord encodes one record (null key unless given) with offset delta.
func rawRecord(delta int64, key, value []byte) []byte {
	var body []byte
	body = append(body, 0)
	body = binary.AppendVarint(body, 0)
	body = binary.AppendVarint(body, delta)
	if key == nil {
		body = binary.AppendVarint(body, -1)
	} else {
		body = binary.AppendVarint(body, int64(len(key)))
		body = append(body, key...)
	}
	body = binary.AppendVarint(body, int64(len(value)))
	body = append(body, value...)
	body = binary.AppendVarint(body, 0)
	return append(binary.AppendVarint(nil, int64(len(body))), body...)
}

// createTopic creates a topic with kadm.
func createTopic(t *testing.T, p *eddytest.Process, topic string, partitions int32, configs map[string]*string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(p.KafkaAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := kadm.NewClient(cl).CreateTopic(ctx, partitions, 1, configs, topic)
	if err == nil {
		err = res.Err
	}
	if err != nil {
		t.Fatalf("create topic %s: %v", topic, err)
	}
}

// metric returns the value of a Prometheus series (name with labels as
// printed) from /metrics, or -1 when absent.
func metric(t *testing.T, p *eddytest.Process, series string) float64 {
	t.Helper()
	body, err := httpGetBody("http://" + p.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(body, "\n") {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, _ := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v
		}
	}
	return -1
}
