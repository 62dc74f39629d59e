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

// TestShareGroupKilledMember kills (SIGKILL) a member holding records; its
// records are delivered again after the lock timeout with their delivery
// count one higher.
func TestShareGroupKilledMember(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a process")
	}
	srv := kafkatest.Start(t)
	admin := manualProducer(t, srv)
	newTopic(t, admin, "t", 1, nil)
	setGroupConfigs(t, admin, "g", share.ConfigAutoOffsetReset, "earliest", share.ConfigLockDuration, "2000")
	produce(t, admin, "t", 20, func(int) int32 { return 0 })

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
	killedAt := time.Now()
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()

	cl := srv.Client(t, kgo.ShareGroup("g"), kgo.ConsumeTopics("t"), kgo.FetchMaxWait(200*time.Millisecond))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	again := map[int64]int32{}
	for len(again) < len(held) && ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		fs.EachRecord(func(r *kgo.Record) {
			if _, ok := held[r.Offset]; ok {
				again[r.Offset] = r.DeliveryCount()
				if time.Since(killedAt) < 1500*time.Millisecond {
					t.Errorf("offset %d redelivered %v after the kill, before the 2 s lock ran out", r.Offset, time.Since(killedAt))
				}
			}
			r.Ack(kgo.AckAccept)
		})
	}
	for off, d := range held {
		if again[off] != d+1 {
			t.Errorf("offset %d: first delivery %d, redelivery count %d, want %d", off, d, again[off], d+1)
		}
	}
	cl.FlushAcks(context.Background())
}
