package share

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

func TestMain(m *testing.M) {
	if runChildIfRequested() {
		return
	}
	os.Exit(m.Run())
}

type env struct {
	dir string
	m   *meta.Store
	st  *LogStore
	b   *broker.Broker
	c   *Coordinator
}

func openEnv(t testing.TB, dir string, cfg Config) *env {
	t.Helper()
	e, err := openEnvErr(dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.close)
	return e
}

func openEnvErr(dir string, cfg Config) (*env, error) {
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		return nil, err
	}
	bc := broker.DefaultConfig()
	bc.DataDir = dir
	bc.Meta = m
	b, err := broker.Open(bc)
	if err != nil {
		return nil, err
	}
	st, err := OpenLogStore(StateLogDir(dir), m)
	if err != nil {
		return nil, err
	}
	cfg.Broker = b
	cfg.Store = st
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 10 * time.Millisecond
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	return &env{dir: dir, m: m, st: st, b: b, c: c}, nil
}

func (e *env) close() {
	if e.c == nil {
		return
	}
	e.c.Close()
	e.st.Close()
	e.b.Close()
	e.m.Close()
	e.c = nil
}

func (e *env) produce(t testing.TB, topic string, part int32, values ...string) {
	t.Helper()
	var recs []BatchRecord
	for _, v := range values {
		recs = append(recs, BatchRecord{Key: []byte("k"), Value: []byte(v), Timestamp: time.Now()})
	}
	wr, err := e.b.Write(topic, part, BuildBatch(recs), broker.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := wr.Wait(); err != nil {
		t.Fatal(err)
	}
}

func (e *env) join(t testing.TB, group, member string, topics ...string) {
	t.Helper()
	if _, err := e.c.Heartbeat(context.Background(), HeartbeatRequest{Group: group, MemberID: member, Topics: topics}); err != nil {
		t.Fatal(err)
	}
}

func (e *env) setConfig(t testing.TB, group string, kv ...string) {
	t.Helper()
	var ops []ConfigOp
	for i := 0; i < len(kv); i += 2 {
		ops = append(ops, ConfigOp{Name: kv[i], Value: kv[i+1]})
	}
	if err := e.c.AlterConfigs(group, ops, false); err != nil {
		t.Fatal(err)
	}
}

func TestAssignment(t *testing.T) {
	e := openEnv(t, t.TempDir(), Config{})
	if _, err := e.b.CreateTopic("t", 3, nil, false); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string][]int32{}
	for i := range 8 {
		id := fmt.Sprintf("m%d", i)
		e.join(t, "g", id, "t")
	}
	for i := range 8 {
		id := fmt.Sprintf("m%d", i)
		g := e.c.group("g")
		g.mu.Lock()
		ep := g.members[id].epoch
		g.mu.Unlock()
		resp, err := e.c.Heartbeat(context.Background(), HeartbeatRequest{Group: "g", MemberID: id, MemberEpoch: ep})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Assignment != nil {
			got[id] = resp.Assignment
		}
	}
	seen := map[int32]int{}
	for id, a := range got {
		if len(a["t"]) != 1 {
			t.Fatalf("member %s got %v, want one partition each (8 members, 3 partitions)", id, a)
		}
		seen[a["t"][0]]++
	}
	if len(seen) != 3 {
		t.Fatalf("partitions covered = %v, want all 3", seen)
	}
	// Unknown member and fenced epochs.
	if _, err := e.c.Heartbeat(context.Background(), HeartbeatRequest{Group: "g", MemberID: "nobody", MemberEpoch: 3}); err == nil {
		t.Fatal("unknown member heartbeat accepted")
	}
	if _, err := e.c.Heartbeat(context.Background(), HeartbeatRequest{Group: "g", MemberID: "m0", MemberEpoch: 999}); err == nil {
		t.Fatal("fenced epoch accepted")
	}
}

func TestFetchAckDurable(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir, Config{})
	e.b.CreateTopic("t", 1, nil, false)
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest")
	e.produce(t, "t", 0, "a", "b", "c", "d")
	e.join(t, "g", "m1", "t")
	res, err := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: []TP{{"t", 0}}, MaxRecords: 10})
	if err != nil || len(res) != 1 || res[0].Err != nil {
		t.Fatalf("fetch = %+v, %v", res, err)
	}
	if got := res[0].Acquired; len(got) != 1 || got[0] != (Range{0, 3, 1}) {
		t.Fatalf("acquired = %v", got)
	}
	recs, _ := decodeRecords(res[0].Batches)
	if len(recs) != 4 || string(recs[3].Value) != "d" {
		t.Fatalf("records = %d", len(recs))
	}
	if err := e.c.Ack(context.Background(), "g", "m1", TP{"t", 0}, []AckBatch{{0, 1, []AckType{AckAccept}}}); err != nil {
		t.Fatal(err)
	}
	e.close()

	// Restart: 0-1 acknowledged, 2-3 were acquired → available with the
	// delivery counted.
	e = openEnv(t, dir, Config{})
	e.join(t, "g", "m2", "t")
	res, _ = e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m2", Partitions: []TP{{"t", 0}}, MaxRecords: 10})
	if got := res[0].Acquired; len(got) != 1 || got[0] != (Range{2, 3, 2}) {
		t.Fatalf("after restart acquired = %v, want [2,3] with delivery 2", got)
	}
}

func TestFetchWaitsForRecords(t *testing.T) {
	e := openEnv(t, t.TempDir(), Config{})
	e.b.CreateTopic("t", 1, nil, false)
	e.join(t, "g", "m1", "t")
	// latest: initialize at the empty end first.
	e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: []TP{{"t", 0}}})
	go func() {
		time.Sleep(50 * time.Millisecond)
		e.produce(t, "t", 0, "x")
	}()
	start := time.Now()
	res, _ := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m1", Partitions: []TP{{"t", 0}}, MaxWait: 5 * time.Second})
	if len(res[0].Acquired) != 1 || time.Since(start) > 3*time.Second {
		t.Fatalf("long poll got %v after %v", res[0].Acquired, time.Since(start))
	}
}

func TestDeadLetter(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir, Config{})
	e.b.CreateTopic("t", 1, nil, false)
	e.b.CreateTopic("dlq.t", 1, map[string]string{TopicConfigDLQEnable: "true"}, false)
	if err := e.c.AlterConfigs("g", []ConfigOp{{Name: ConfigDLQTopic, Value: "t2"}}, false); err == nil {
		t.Fatal("DLQ topic without the dlq. prefix accepted")
	}
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest", ConfigDLQTopic, "dlq.t", ConfigDeliveryLimit, "2")
	e.produce(t, "t", 0, "good", "poison", "good2")
	e.join(t, "g", "m", "t")
	ctx := context.Background()
	for attempt := 1; attempt <= 2; attempt++ {
		res, _ := e.c.Fetch(ctx, FetchRequest{Group: "g", MemberID: "m", Partitions: []TP{{"t", 0}}, MaxWait: time.Second})
		for _, rg := range res[0].Acquired {
			for off := rg.First; off <= rg.Last; off++ {
				ty := AckAccept
				if off == 1 {
					ty = AckRelease
				}
				if err := e.c.Ack(ctx, "g", "m", TP{"t", 0}, []AckBatch{{off, off, []AckType{ty}}}); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	var recs []*Record
	for time.Now().Before(deadline) {
		recs = readTopic(t, e, "dlq.t")
		if len(recs) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(recs) != 1 {
		t.Fatalf("dlq has %d records, want 1", len(recs))
	}
	r := recs[0]
	for k, want := range map[string]string{HeaderGroup: "g", HeaderTopic: "t", HeaderPartition: "0", HeaderOffset: "1", HeaderDeliveryCount: "2", HeaderReason: "delivery_limit"} {
		if got := hdr(r, k); got != want {
			t.Errorf("header %s = %q, want %q", k, got, want)
		}
	}
	if string(r.Value) != "poison" || string(r.Key) != "k" || hdr(r, HeaderTimestamp) == "" {
		t.Errorf("dlq record = key %q value %q", r.Key, r.Value)
	}
	info, _ := e.c.Describe("g")
	if p := info.Partitions[0]; p.StartOffset != 3 || p.DeadLettered != 1 {
		t.Fatalf("partition after dlq = %+v", p)
	}
}

// TestDeadLetterExactlyOnceAfterCrash simulates a crash between the
// dead-letter write and the archive: the state says Archiving with its
// noted position, the record is already on the DLQ; recovery must not
// write it again.
func TestDeadLetterExactlyOnceAfterCrash(t *testing.T) {
	dir := t.TempDir()
	e := openEnv(t, dir, Config{SweepInterval: time.Hour})
	e.b.CreateTopic("t", 1, nil, false)
	e.b.CreateTopic("dlq.t", 1, map[string]string{TopicConfigDLQEnable: "true"}, false)
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest", ConfigDLQTopic, "dlq.t")
	e.produce(t, "t", 0, "p0", "p1")
	e.join(t, "g", "m", "t")
	ctx := context.Background()
	e.c.Fetch(ctx, FetchRequest{Group: "g", MemberID: "m", Partitions: []TP{{"t", 0}}})
	if err := e.c.Ack(ctx, "g", "m", TP{"t", 0}, []AckBatch{{0, 1, []AckType{AckReject}}}); err != nil {
		t.Fatal(err)
	}
	g := e.c.group("g")
	sp := g.part("t", 0)
	// Note the position and write offset 0's record only, as a crash
	// after the write of a first attempt would leave it.
	sp.mu.Lock()
	sp.p.NoteDLQFrom(0, 0)
	sp.p.NoteDLQFrom(1, 0)
	sp.mu.Unlock()
	if err := e.c.persist(sp); err != nil {
		t.Fatal(err)
	}
	orig, _ := e.c.readRecords("t", 0, []Pending{{Offset: 0}})
	wr, err := e.b.Write("dlq.t", 0, buildDLQBatch(time.Now(), "g", sp.key, []Pending{{Offset: 0, Deliveries: 1, Reason: ReasonRejected}}, orig, true), broker.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wr.Wait()
	e.close()

	e = openEnv(t, dir, Config{})
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		info, _ := e.c.Describe("g")
		if info.Partitions[0].StartOffset == 2 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	recs := readTopic(t, e, "dlq.t")
	var offs []string
	for _, r := range recs {
		offs = append(offs, hdr(r, HeaderOffset))
	}
	if strings.Join(offs, ",") != "0,1" {
		t.Fatalf("dlq offsets = %v, want 0,1 once each", offs)
	}
}

func TestAlterAndDeleteOffsets(t *testing.T) {
	e := openEnv(t, t.TempDir(), Config{})
	e.b.CreateTopic("t", 1, nil, false)
	e.produce(t, "t", 0, "a", "b", "c")
	if err := e.c.AlterOffset("g", TP{"t", 0}, 2); err != nil {
		t.Fatal(err)
	}
	e.join(t, "g", "m", "t")
	if err := e.c.AlterOffset("g", TP{"t", 0}, 0); err == nil {
		t.Fatal("alter with members accepted")
	}
	res, _ := e.c.Fetch(context.Background(), FetchRequest{Group: "g", MemberID: "m", Partitions: []TP{{"t", 0}}})
	if got := res[0].Acquired; len(got) != 1 || got[0].First != 2 {
		t.Fatalf("after alter acquired %v", got)
	}
	if err := e.c.Delete("g"); err == nil {
		t.Fatal("delete of non-empty group accepted")
	}
	e.c.Heartbeat(context.Background(), HeartbeatRequest{Group: "g", MemberID: "m", MemberEpoch: -1})
	if err := e.c.DeleteOffsets("g", "t"); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Delete("g"); err != nil {
		t.Fatal(err)
	}
	if e.c.Exists("g") {
		t.Fatal("group still exists")
	}
}

const childEnv = "EDDY_SHARE_KILL_CHILD"

// runChildIfRequested runs the kill -9 child: it fetches and acknowledges
// forever (accepting even offsets, releasing odd ones once), printing
// "acq <offset> <delivery>" after each durable acquisition and "ack
// <offset>" after each durable accept.
func runChildIfRequested() bool {
	dir := os.Getenv(childEnv)
	if dir == "" {
		return false
	}
	e, err := openEnvErr(dir, Config{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(3)
	}
	ctx := context.Background()
	w := bufio.NewWriter(os.Stdout)
	member := fmt.Sprintf("m%d", os.Getpid())
	e.c.Heartbeat(ctx, HeartbeatRequest{Group: "g", MemberID: member, Topics: []string{"t"}})
	for {
		res, err := e.c.Fetch(ctx, FetchRequest{Group: "g", MemberID: member, Partitions: []TP{{"t", 0}}, MaxRecords: 7, MaxWait: 100 * time.Millisecond})
		if err != nil || res[0].Err != nil {
			fmt.Fprintln(os.Stderr, "child fetch:", err, res)
			os.Exit(4)
		}
		for _, rg := range res[0].Acquired {
			for off := rg.First; off <= rg.Last; off++ {
				fmt.Fprintf(w, "acq %d %d\n", off, rg.Deliveries)
			}
		}
		w.Flush()
		for _, rg := range res[0].Acquired {
			for off := rg.First; off <= rg.Last; off++ {
				ty := AckAccept
				if off%2 == 1 && rg.Deliveries == 1 {
					ty = AckRelease
				}
				if off%5 == 4 {
					continue // held: left acquired
				}
				if err := e.c.Ack(ctx, "g", member, TP{"t", 0}, []AckBatch{{off, off, []AckType{ty}}}); err != nil {
					fmt.Fprintln(os.Stderr, "child ack:", err)
					os.Exit(5)
				}
				if ty == AckAccept {
					fmt.Fprintf(w, "ack %d\n", off)
				}
			}
		}
		w.Flush()
	}
}

// TestKill9 kills a child that acquires and acknowledges at random
// moments, then checks in the recovered state that no acknowledged record
// is delivered again and every acquisition the child saw is counted.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	func() {
		e := openEnv(t, dir, Config{})
		defer e.close()
		e.b.CreateTopic("t", 1, nil, false)
		e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest", ConfigDeliveryLimit, "10", ConfigLockDuration, "3600000")
		for i := range 40 {
			vals := make([]string, 25)
			for j := range vals {
				vals[j] = fmt.Sprint(i*25 + j)
			}
			e.produce(t, "t", 0, vals...)
		}
	}()
	seed := uint64(time.Now().UnixNano())
	t.Logf("kill timing seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 9))
	acked := map[int64]bool{}
	seen := map[int64]int16{} // highest delivery seen
	for round := 0; round < 5; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+dir)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var mu sync.Mutex
		n := 0
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				mu.Lock()
				switch {
				case len(f) == 3 && f[0] == "acq":
					off, _ := strconv.ParseInt(f[1], 10, 64)
					d, _ := strconv.ParseInt(f[2], 10, 16)
					if acked[off] {
						t.Errorf("round %d: acknowledged offset %d delivered again", round, off)
					}
					if int16(d) <= seen[off] {
						t.Errorf("round %d: offset %d delivery %d, earlier delivery %d not counted", round, off, d, seen[off])
					}
					seen[off] = int16(d)
					n++
				case len(f) == 2 && f[0] == "ack":
					off, _ := strconv.ParseInt(f[1], 10, 64)
					acked[off] = true
				}
				mu.Unlock()
			}
		}()
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			k := n
			mu.Unlock()
			if k >= 20 || time.Now().After(deadline) {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		<-done
		cmd.Wait()
		if n < 20 {
			t.Fatalf("round %d: child acquired only %d; stderr: %s", round, n, stderr.String())
		}
	}
	if len(acked) == 0 {
		t.Fatal("nothing acknowledged")
	}
}

// readTopic returns every record of partition 0 of topic.
func readTopic(t testing.TB, e *env, topic string) []*Record {
	t.Helper()
	var out []*Record
	off := int64(0)
	for {
		res, err := e.b.Fetch(topic, 0, off, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Batches) == 0 {
			return out
		}
		recs, next := decodeRecords(res.Batches)
		out = append(out, recs...)
		off = next
	}
}

// TestDeadLetterWriteFailureRetries: while the dead-letter topic refuses
// writes (not enabled for groups), the rejected record stays in flight
// and is not redelivered, other partitions keep flowing, and once the
// topic is enabled the record is written.
func TestDeadLetterWriteFailureRetries(t *testing.T) {
	e := openEnv(t, t.TempDir(), Config{})
	e.b.CreateTopic("t", 2, nil, false)
	e.b.CreateTopic("dlq.t", 1, nil, false) // not enabled yet
	e.setConfig(t, "g", ConfigAutoOffsetReset, "earliest", ConfigDLQTopic, "dlq.t")
	e.produce(t, "t", 0, "poison", "x")
	e.join(t, "g", "m", "t")
	ctx := context.Background()
	res, _ := e.c.Fetch(ctx, FetchRequest{Group: "g", MemberID: "m", Partitions: []TP{{"t", 0}}})
	if len(res[0].Acquired) != 1 {
		t.Fatalf("acquired %v", res[0].Acquired)
	}
	if err := e.c.Ack(ctx, "g", "m", TP{"t", 0}, []AckBatch{{0, 0, []AckType{AckReject}}, {1, 1, []AckType{AckAccept}}}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // several failed write rounds
	info, _ := e.c.Describe("g")
	if p := info.Partitions[0]; p.Archiving != 1 || p.StartOffset != 0 {
		t.Fatalf("partition 0 while the DLQ refuses: %+v", p)
	}
	// Partition 1 flows meanwhile, and the dead letter is not redelivered.
	e.produce(t, "t", 1, "y")
	res, _ = e.c.Fetch(ctx, FetchRequest{Group: "g", MemberID: "m", Partitions: []TP{{"t", 0}, {"t", 1}}})
	if len(res[0].Acquired) != 0 || len(res[1].Acquired) != 1 {
		t.Fatalf("fetch while DLQ refuses: p0 %v p1 %v", res[0].Acquired, res[1].Acquired)
	}
	if err := e.b.SetTopicConfigs("dlq.t", map[string]string{TopicConfigDLQEnable: "true"}, false); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if recs := readTopic(t, e, "dlq.t"); len(recs) == 1 {
			info, _ := e.c.Describe("g")
			if info.Partitions[0].StartOffset == 2 {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("dead letter not written after the topic was enabled: %d records", len(readTopic(t, e, "dlq.t")))
}
