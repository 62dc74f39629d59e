// Package queues tests Eddy's share groups (KIP-932), dead-letter topics
// and retry backoff end to end with franz-go's share consumer.
package queues

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/eddytest"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/share"
)

const childEnv = "EDDY_QUEUES_CHILD_ADDR"

func TestMain(m *testing.M) {
	if addr := os.Getenv(childEnv); addr != "" {
		runChild(addr)
		return
	}
	os.Exit(eddytest.BuildBinary(m))
}

// runChild is a share consumer that polls until it holds records, prints
// "got <partition> <offset> <delivery>" for each and then hangs without
// acknowledging, to be killed with SIGKILL.
func runChild(addr string) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ShareGroup("g"), kgo.ConsumeTopics("t"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	w := bufio.NewWriter(os.Stdout)
	for {
		fs := cl.PollFetches(context.Background())
		n := 0
		fs.EachRecord(func(r *kgo.Record) {
			fmt.Fprintf(w, "got %d %d %d\n", r.Partition, r.Offset, r.DeliveryCount())
			n++
		})
		if n > 0 {
			fmt.Fprintln(w, "held")
			w.Flush()
			select {}
		}
	}
}

func setGroupConfigs(t testing.TB, cl *kgo.Client, group string, kv ...string) {
	t.Helper()
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	res := kmsg.NewIncrementalAlterConfigsRequestResource()
	res.ResourceType = kmsg.ConfigResourceTypeGroupConfig
	res.ResourceName = group
	for i := 0; i < len(kv); i += 2 {
		c := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		c.Name = kv[i]
		v := kv[i+1]
		c.Value = &v
		res.Configs = append(res.Configs, c)
	}
	req.Resources = append(req.Resources, res)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if code := resp.Resources[0].ErrorCode; code != 0 {
		t.Fatalf("alter group configs: code %d %v", code, strOr(resp.Resources[0].ErrorMessage))
	}
}

func strOr(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func produce(t testing.TB, cl *kgo.Client, topic string, n int, part func(i int) int32) {
	t.Helper()
	recs := make([]*kgo.Record, n)
	for i := range recs {
		recs[i] = &kgo.Record{Topic: topic, Partition: part(i), Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))}
	}
	if err := cl.ProduceSync(context.Background(), recs...).FirstErr(); err != nil {
		t.Fatal(err)
	}
}

func newTopic(t testing.TB, cl *kgo.Client, name string, parts int32, configs map[string]*string) {
	t.Helper()
	adm := kadm.NewClient(cl)
	if _, err := adm.CreateTopic(context.Background(), parts, 1, configs, name); err != nil {
		t.Fatal(err)
	}
}

func manualProducer(t testing.TB, srv *kafkatest.Server) *kgo.Client {
	return srv.Client(t, kgo.RecordPartitioner(kgo.ManualPartitioner()), kgo.DefaultProduceTopic("t"))
}

// TestShareGroupEightMembers delivers 10,000 records on 3 partitions to 8
// share consumers; every record is acknowledged exactly once overall.
func TestShareGroupEightMembers(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 3, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest")
	const total = 10000
	produce(t, admin, "t", total, func(i int) int32 { return int32(i % 3) })

	var (
		mu     sync.Mutex
		seen   = map[string]int{}
		byMemb = map[int]int{}
	)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	done := make(chan struct{})
	var once sync.Once
	for m := range 8 {
		cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200*time.Millisecond))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					cl.FlushAcks(context.Background())
					return
				case <-ctx.Done():
					return
				default:
				}
				pctx, pcancel := context.WithTimeout(ctx, 300*time.Millisecond)
				fs := cl.PollFetches(pctx)
				pcancel()
				var recs []*kgo.Record
				fs.EachRecord(func(r *kgo.Record) { recs = append(recs, r) })
				if len(recs) == 0 {
					continue
				}
				cl.MarkAcks(kgo.AckAccept, recs...)
				mu.Lock()
				for _, r := range recs {
					seen[string(r.Value)]++
					if r.DeliveryCount() != 1 {
						t.Errorf("record %s delivery count %d", r.Value, r.DeliveryCount())
					}
				}
				byMemb[m] += len(recs)
				n := len(seen)
				mu.Unlock()
				if n == total {
					once.Do(func() { close(done) })
				}
			}
		}()
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != total {
		t.Fatalf("consumed %d distinct records, want %d", len(seen), total)
	}
	for v, n := range seen {
		if n != 1 {
			t.Fatalf("record %s delivered %d times", v, n)
		}
	}
	t.Logf("records per member: %v", byMemb)
	// The broker's view: every record acknowledged once, start offsets at
	// the ends.
	deadline := time.Now().Add(10 * time.Second)
	for {
		info, err := srv.Share.Describe("g")
		if err != nil {
			t.Fatal(err)
		}
		var acked int64
		atEnd := len(info.Partitions) == 3
		for _, p := range info.Partitions {
			acked += p.Acknowledged
			if p.StartOffset != int64(total/3)+map[bool]int64{true: 1}[p.Partition == 0] {
				atEnd = false
			}
		}
		if acked == total && atEnd {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("broker: acknowledged %d, partitions %+v", acked, info.Partitions)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestShareGroupKilledMember: a member holding records is killed
// (SIGKILL): its connection closes, which ends its share session and
// releases its records at once, as Kafka does; they are delivered again
// with their delivery count one higher, long before their 30 s lock would
// run out.
func TestShareGroupKilledMember(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigLockDuration, "30000")
	produce(t, admin, "t", 20, func(int) int32 { return 0 })

	cmd, held := startHolder(t, srv)
	killedAt := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	again := redeliver(t, srv, held, 10*time.Second)
	if d := time.Since(killedAt); d > 5*time.Second {
		t.Errorf("records came back %v after the kill; the closed connection should release them at once", d)
	}
	for off, d := range held {
		if again[off] != d+1 {
			t.Errorf("offset %d: first delivery %d, redelivery count %d, want %d", off, d, again[off], d+1)
		}
	}
}

// TestShareGroupFrozenMember: a member holding records stops (SIGSTOP)
// with its connection open: its records are delivered again once their
// 2 s acquisition lock runs out, not before, with the delivery counted.
func TestShareGroupFrozenMember(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigLockDuration, "2000")
	produce(t, admin, "t", 20, func(int) int32 { return 0 })

	cmd, held := startHolder(t, srv)
	stoppedAt := time.Now()
	cmd.Process.Signal(syscall.SIGSTOP)
	defer func() {
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}()
	again := redeliver(t, srv, held, 20*time.Second)
	if d := time.Since(stoppedAt); d < 1500*time.Millisecond {
		t.Errorf("records came back %v after the stop, before the 2 s lock ran out", d)
	}
	for off, d := range held {
		if again[off] != d+1 {
			t.Errorf("offset %d: first delivery %d, redelivery count %d, want %d", off, d, again[off], d+1)
		}
	}
}

// startHolder starts runChild and returns once it holds records, with
// their offsets and delivery counts.
func startHolder(t *testing.T, srv *kafkatest.Server) (*exec.Cmd, map[int64]int32) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+srv.Addr)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	held := map[int64]int32{}
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 1 && f[0] == "held" {
			break
		}
		if len(f) == 4 && f[0] == "got" {
			off, _ := strconv.ParseInt(f[2], 10, 64)
			d, _ := strconv.ParseInt(f[3], 10, 32)
			held[off] = int32(d)
		}
	}
	if len(held) == 0 {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child held nothing; stderr: %s", stderr.String())
	}
	return cmd, held
}

// redeliver consumes with a new member until every held offset came again
// and returns their delivery counts.
func redeliver(t *testing.T, srv *kafkatest.Server, held map[int64]int32, within time.Duration) map[int64]int32 {
	t.Helper()
	cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	again := map[int64]int32{}
	for len(again) < len(held) && ctx.Err() == nil {
		cl.PollFetches(ctx).EachRecord(func(r *kgo.Record) {
			if _, ok := held[r.Offset]; ok {
				again[r.Offset] = r.DeliveryCount()
			}
			r.Ack(kgo.AckAccept)
		})
	}
	cl.FlushAcks(context.Background())
	if len(again) < len(held) {
		t.Fatalf("%d of %d held records delivered again within %v", len(again), len(held), within)
	}
	return again
}

// TestShareSessionCloseReleases: a ShareAcknowledge with epoch -1 closes
// the member's share session and releases what it still holds there
// (KIP-932); another member gets the records at once with delivery 2.
func TestShareSessionCloseReleases(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigLockDuration, "30000")
	produce(t, admin, "t", 5, func(int) int32 { return 0 })
	ctx := context.Background()
	raw := srv.Client(t)
	hb := kmsg.NewPtrShareGroupHeartbeatRequest()
	hb.GroupID, hb.MemberID, hb.MemberEpoch, hb.SubscribedTopicNames = "g", "raw-member-0000000001", 0, []string{"t"}
	hbr, err := hb.RequestWith(ctx, raw)
	if err != nil || hbr.ErrorCode != 0 {
		t.Fatalf("join: %v %+v", err, hbr)
	}
	topicID := topicIDOf(t, raw, "t")
	fetch := kmsg.NewPtrShareFetchRequest()
	g, m := "g", hb.MemberID
	fetch.GroupID, fetch.MemberID, fetch.ShareSessionEpoch, fetch.MaxRecords, fetch.BatchSize = &g, &m, 0, 100, 100
	fetch.MaxWaitMillis, fetch.MaxBytes = 1000, 1<<20
	ft := kmsg.NewShareFetchRequestTopic()
	ft.TopicID = topicID
	fp := kmsg.NewShareFetchRequestTopicPartition()
	ft.Partitions = append(ft.Partitions, fp)
	fetch.Topics = append(fetch.Topics, ft)
	fr, err := fetch.RequestWith(ctx, raw)
	if err != nil || fr.ErrorCode != 0 || len(fr.Topics) != 1 || len(fr.Topics[0].Partitions[0].AcquiredRecords) == 0 {
		t.Fatalf("share fetch: %v %+v", err, fr)
	}
	ack := kmsg.NewPtrShareAcknowledgeRequest()
	ack.GroupID, ack.MemberID, ack.ShareSessionEpoch = &g, &m, -1
	ar, err := ack.RequestWith(ctx, raw)
	if err != nil || ar.ErrorCode != 0 {
		t.Fatalf("close session: %v %+v", err, ar)
	}
	held := map[int64]int32{0: 1, 1: 1, 2: 1, 3: 1, 4: 1}
	start := time.Now()
	again := redeliver(t, srv, held, 10*time.Second)
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("released records came after %v", d)
	}
	for off := range held {
		if again[off] != 2 {
			t.Errorf("offset %d redelivered with count %d, want 2", off, again[off])
		}
	}
}

func topicIDOf(t *testing.T, cl *kgo.Client, topic string) [16]byte {
	t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = &topic
	req.Topics = append(req.Topics, rt)
	resp, err := req.RequestWith(context.Background(), cl)
	if err != nil || len(resp.Topics) != 1 {
		t.Fatalf("metadata: %v", err)
	}
	return resp.Topics[0].TopicID
}

// TestShareFetchAcquireModes checks ShareFetch's two acquire modes with
// franz-go: by default (batch optimized, as Kafka) MaxRecords is soft and
// a fetch takes whole stored batches, so a 1,500-record batch arrives in
// one poll although the consumer asks for 100; with
// ShareMaxRecordsStrict (record limit) no poll holds more than 100. Every
// record is delivered once in both.
func TestShareFetchAcquireModes(t *testing.T) {
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 2, nil)
	const total = 3000
	produce(t, admin, "t", total, func(i int) int32 { return int32(i % 2) }) // one batch per partition
	for _, strict := range []bool{false, true} {
		g := fmt.Sprintf("g-strict-%v", strict)
		setGroupConfigs(t, admin, g, share.ConfigAutoOffsetReset, "earliest")
		opts := []kgo.Opt{kgo.ShareGroup(g), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200 * time.Millisecond), kgo.ShareMaxRecords(100)}
		if strict {
			opts = append(opts, kgo.ShareMaxRecordsStrict())
		}
		cl := srv.Client(t, opts...)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		seen := map[string]bool{}
		largest := 0
		for ctx.Err() == nil && len(seen) < total {
			pctx, pc := context.WithTimeout(ctx, time.Second)
			fs := cl.PollFetches(pctx)
			pc()
			k := 0
			fs.EachRecord(func(r *kgo.Record) {
				k++
				if seen[string(r.Value)] {
					t.Errorf("strict=%v: record %s delivered twice", strict, r.Value)
				}
				seen[string(r.Value)] = true
				r.Ack(kgo.AckAccept)
			})
			largest = max(largest, k)
			if err := cl.FlushAcks(ctx); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
		if len(seen) != total {
			t.Fatalf("strict=%v: got %d of %d records", strict, len(seen), total)
		}
		if strict && largest > 100 {
			t.Errorf("record-limit mode: a poll held %d records, want at most 100", largest)
		}
		if !strict && largest != total/2 {
			t.Errorf("batch-optimized mode: largest poll %d records, want one whole batch of %d", largest, total/2)
		}
		t.Logf("strict=%v: largest poll %d records", strict, largest)
	}
}
