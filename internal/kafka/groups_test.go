package kafka_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/group"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// groupServer is an in-process node whose group coordinator has short
// session timeouts and no initial rebalance delay.
type groupServer struct {
	*kafkatest.Server
}

// Coord returns the running node's coordinator (a new one after Restart).
func (g *groupServer) Coord() *group.Coordinator { return g.Groups }

func startGroupServer(t *testing.T, opts ...kafkatest.Option) *groupServer {
	t.Helper()
	tune := kafkatest.WithNodeConfig(func(c *node.Config) {
		c.Groups.MinSessionTimeout = 100 * time.Millisecond
		c.Groups.InitialRebalanceDelay = -1
		c.Logger = testLogger()
	})
	return &groupServer{Server: kafkatest.Start(t, append([]kafkatest.Option{tune}, opts...)...)}
}

func produceValues(t *testing.T, cl *kgo.Client, topic string, from, to int) {
	t.Helper()
	ctx := ctxT(t, 30*time.Second)
	var recs []*kgo.Record
	for i := from; i < to; i++ {
		recs = append(recs, &kgo.Record{Topic: topic, Key: []byte(strconv.Itoa(i)), Value: []byte(strconv.Itoa(i))})
	}
	if err := cl.ProduceSync(ctx, recs...).FirstErr(); err != nil {
		t.Fatalf("produce: %v", err)
	}
}

// member is one group consumer with its current assignment and what it saw.
type member struct {
	name     string
	cl       *kgo.Client
	mu       sync.Mutex
	assigned map[int32]bool
	revoked  int
	done     chan struct{}
}

func (m *member) owned() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.assigned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// seen counts every delivery of every value.
type seen struct {
	mu sync.Mutex
	n  map[string]int
}

func (s *seen) add(v string) { s.mu.Lock(); s.n[v]++; s.mu.Unlock() }
func (s *seen) counts() (distinct, total int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.n {
		distinct++
		total += c
	}
	return
}

func startMember(t *testing.T, srv *groupServer, name, groupID, topic string, sn *seen, extra ...kgo.Opt) *member {
	t.Helper()
	m := &member{name: name, assigned: map[int32]bool{}, done: make(chan struct{})}
	opts := append([]kgo.Opt{
		kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.SessionTimeout(1500 * time.Millisecond), kgo.HeartbeatInterval(100 * time.Millisecond),
		kgo.RebalanceTimeout(5 * time.Second), kgo.AutoCommitInterval(200 * time.Millisecond),
		kgo.ClientID(name),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, a map[string][]int32) {
			m.mu.Lock()
			for _, p := range a[topic] {
				m.assigned[p] = true
			}
			m.mu.Unlock()
		}),
		kgo.OnPartitionsRevoked(func(ctx context.Context, cl *kgo.Client, r map[string][]int32) {
			// Commit what we processed before giving partitions away,
			// as kgo's default revoke does.
			_ = cl.CommitMarkedOffsets(ctx)
			m.mu.Lock()
			for _, p := range r[topic] {
				delete(m.assigned, p)
			}
			m.revoked++
			m.mu.Unlock()
		}),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, l map[string][]int32) {
			m.mu.Lock()
			for _, p := range l[topic] {
				delete(m.assigned, p)
			}
			m.mu.Unlock()
		}),
		kgo.AutoCommitMarks(),
	}, extra...)
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(srv.Addr)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	m.cl = cl
	go func() {
		defer close(m.done)
		for {
			fs := cl.PollFetches(context.Background())
			if fs.IsClientClosed() {
				return
			}
			fs.EachRecord(func(r *kgo.Record) {
				sn.add(string(r.Value))
				cl.MarkCommitRecords(r)
			})
		}
	}()
	return m
}

func (m *member) close() {
	m.cl.Close()
	<-m.done
}

func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func splitIs(ms []*member, want ...int) func() bool {
	return func() bool {
		all := map[int32]string{}
		for i, m := range ms {
			ps := m.owned()
			if len(ps) != want[i] {
				return false
			}
			for _, p := range ps {
				if _, dup := all[p]; dup {
					return false
				}
				all[p] = m.name
			}
		}
		return true
	}
}

func TestGroupBalancersRebalanceWithoutLoss(t *testing.T) {
	for _, bal := range []struct {
		name string
		b    kgo.GroupBalancer
	}{
		{"range", kgo.RangeBalancer()},
		{"roundrobin", kgo.RoundRobinBalancer()},
		{"cooperative-sticky", kgo.CooperativeStickyBalancer()},
	} {
		t.Run(bal.name, func(t *testing.T) {
			srv := startGroupServer(t)
			topic := "bal-" + bal.name
			if _, err := srv.Broker.CreateTopic(topic, 6, nil, false); err != nil {
				t.Fatal(err)
			}
			prod := srv.Client(t)
			produceValues(t, prod, topic, 0, 300)
			sn := &seen{n: map[string]int{}}
			g := "g-" + bal.name
			m1 := startMember(t, srv, "m1", g, topic, sn, kgo.Balancers(bal.b))
			m2 := startMember(t, srv, "m2", g, topic, sn, kgo.Balancers(bal.b), kgo.InstanceID("m2-static"))
			m3 := startMember(t, srv, "m3", g, topic, sn, kgo.Balancers(bal.b))
			ms := []*member{m1, m2, m3}
			defer func() {
				for _, m := range ms {
					m.close()
				}
			}()
			waitUntil(t, 20*time.Second, "even 2/2/2 split", splitIs(ms, 2, 2, 2))
			produceValues(t, prod, topic, 300, 400)

			// m3 leaves: its partitions go to m1 and m2.
			m3.close()
			ms = ms[:2]
			waitUntil(t, 20*time.Second, "3/3 split after leave", splitIs(ms, 3, 3))
			produceValues(t, prod, topic, 400, 500)

			// m2 (static, so closing does not leave) stops heartbeating:
			// after its session timeout everything goes to m1.
			m2.close()
			ms = ms[:1]
			waitUntil(t, 20*time.Second, "6 partitions on m1 after m2's session expired", splitIs(ms, 6))
			produceValues(t, prod, topic, 500, 600)

			waitUntil(t, 20*time.Second, "all 600 records seen", func() bool { d, _ := sn.counts(); return d == 600 })
			d, total := sn.counts()
			if d != 600 {
				t.Fatalf("distinct %d, want 600", d)
			}
			// At least once: redeliveries only of what was in flight when
			// partitions moved, never a whole second pass.
			if total-d > 300 {
				t.Fatalf("%d duplicate deliveries out of %d", total-d, total)
			}
			t.Logf("%s: %d records, %d deliveries", bal.name, d, total)
		})
	}
}

func TestStaticMemberRestartWithoutRebalance(t *testing.T) {
	srv := startGroupServer(t)
	const topic = "static"
	if _, err := srv.Broker.CreateTopic(topic, 4, nil, false); err != nil {
		t.Fatal(err)
	}
	sn := &seen{n: map[string]int{}}
	// Range, with both members static, gives a plan that depends only on
	// instance ids: a KIP-814 leader restart recomputes the same plan and
	// has no reason to rejoin. (With cooperative-sticky, the leader's
	// recomputation from the members' last join metadata can differ and
	// kgo then rejoins on purpose, against Kafka as well.)
	long := []kgo.Opt{kgo.SessionTimeout(10 * time.Second), kgo.InstanceID("s-1"), kgo.Balancers(kgo.RangeBalancer())}
	s1 := startMember(t, srv, "s1", "sg", topic, sn, long...)
	d1 := startMember(t, srv, "d1", "sg", topic, sn, kgo.SessionTimeout(10*time.Second), kgo.InstanceID("s-2"), kgo.Balancers(kgo.RangeBalancer()))
	defer d1.close()
	ms := []*member{s1, d1}
	waitUntil(t, 20*time.Second, "2/2 split", splitIs(ms, 2, 2))
	desc := func() group.Description {
		ds, err := srv.Coord().Describe(ctxT(t, 5*time.Second), []string{"sg"})
		if err != nil {
			t.Fatal(err)
		}
		return ds[0]
	}
	before := desc()
	if before.State != group.Stable {
		t.Fatalf("state %v", before.State)
	}
	owned := fmt.Sprint(s1.owned())
	d1.mu.Lock()
	d1Revoked := d1.revoked
	d1.mu.Unlock()

	s1.close() // static: no LeaveGroup
	s1b := startMember(t, srv, "s1b", "sg", topic, sn, long...)
	defer s1b.close()
	waitUntil(t, 20*time.Second, "restarted static member assigned", func() bool { return len(s1b.owned()) == 2 })
	after := desc()
	if after.Generation != before.Generation || after.State != group.Stable {
		t.Fatalf("restart rebalanced: generation %d -> %d, state %v", before.Generation, after.Generation, after.State)
	}
	if got := fmt.Sprint(s1b.owned()); got != owned {
		t.Fatalf("restarted static member got %s, had %s", got, owned)
	}
	d1.mu.Lock()
	defer d1.mu.Unlock()
	if d1.revoked != d1Revoked {
		t.Fatalf("the other member saw a revocation")
	}
}

func TestCommittedOffsetsSurviveRestart(t *testing.T) {
	srv := startGroupServer(t)
	const topic = "resume"
	if _, err := srv.Broker.CreateTopic(topic, 3, nil, false); err != nil {
		t.Fatal(err)
	}
	prod := srv.Client(t)
	produceValues(t, prod, topic, 0, 90)

	// Two groups commit different positions with manual commits.
	commit := func(groupID string, n int) map[int32]int64 {
		cl, err := kgo.NewClient(kgo.SeedBrokers(srv.Addr), kgo.ConsumerGroup(groupID), kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(), kgo.FetchMaxPartitionBytes(100))
		if err != nil {
			t.Fatal(err)
		}
		defer cl.Close()
		ctx := ctxT(t, 20*time.Second)
		var got []*kgo.Record
		for len(got) < n {
			fs := cl.PollRecords(ctx, n-len(got))
			if ctx.Err() != nil {
				t.Fatalf("poll: %v", ctx.Err())
			}
			got = append(got, fs.Records()...)
		}
		if err := cl.CommitRecords(ctx, got...); err != nil {
			t.Fatalf("commit: %v", err)
		}
		next := map[int32]int64{}
		for _, r := range got {
			if r.Offset+1 > next[r.Partition] {
				next[r.Partition] = r.Offset + 1
			}
		}
		return next
	}
	c1 := commit("resume-a", 20)
	c2 := commit("resume-b", 50)

	srv.Restart(t)

	adm := kadm.NewClient(srv.Client(t))
	for g, want := range map[string]map[int32]int64{"resume-a": c1, "resume-b": c2} {
		fo, err := adm.FetchOffsets(ctxT(t, 10*time.Second), g)
		if err != nil {
			t.Fatal(err)
		}
		for p, off := range want {
			o, ok := fo.Lookup(topic, p)
			if !ok || o.At != off {
				t.Fatalf("group %s partition %d: committed %+v after restart, want %d", g, p, o, off)
			}
		}
		// Resume: every partition starts exactly at its committed offset
		// and the group sees exactly the rest.
		cl := srv.Client(t, kgo.ConsumerGroup(g), kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
		ctx := ctxT(t, 20*time.Second)
		first := map[int32]int64{}
		var n int64
		var total int64
		for _, off := range want {
			total += off
		}
		for n < 90-total {
			fs := cl.PollFetches(ctx)
			if ctx.Err() != nil {
				t.Fatalf("group %s resumed %d of %d records", g, n, 90-total)
			}
			fs.EachRecord(func(r *kgo.Record) {
				if _, ok := first[r.Partition]; !ok {
					first[r.Partition] = r.Offset
				}
				n++
			})
		}
		for p, off := range first {
			if off != want[p] {
				t.Fatalf("group %s partition %d resumed at %d, committed %d", g, p, off, want[p])
			}
		}
		if n != 90-total {
			t.Fatalf("group %s got %d records, want %d", g, n, 90-total)
		}
	}
}

// dropProxy forwards Kafka connections to the server and, every nth
// produce response, closes both sides instead of forwarding it: the write
// is stored but the producer never hears so, and retries.
type dropProxy struct {
	ln      net.Listener
	target  atomic.Value // string: the server's address
	every   int64
	n       atomic.Int64
	dropped atomic.Int64
	wg      sync.WaitGroup
	mu      sync.Mutex
	conns   map[net.Conn]bool
}

func newDropProxy(t *testing.T, every int64) *dropProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &dropProxy{ln: ln, every: every, conns: map[net.Conn]bool{}}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *dropProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *dropProxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}

func (p *dropProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		target, _ := p.target.Load().(string)
		s, err := net.Dial("tcp", target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c) || !p.track(s) {
			c.Close()
			s.Close()
			continue
		}
		var mu sync.Mutex
		produces := map[int32]bool{}
		p.wg.Add(2)
		go func() { // client -> server
			defer p.wg.Done()
			defer s.Close()
			for {
				f, err := readFrame(c)
				if err != nil {
					return
				}
				if len(f) >= 12 && binary.BigEndian.Uint16(f[4:]) == 0 {
					mu.Lock()
					produces[int32(binary.BigEndian.Uint32(f[8:]))] = true
					mu.Unlock()
				}
				if _, err := s.Write(f); err != nil {
					return
				}
			}
		}()
		go func() { // server -> client
			defer p.wg.Done()
			defer c.Close()
			for {
				f, err := readFrame(s)
				if err != nil {
					return
				}
				mu.Lock()
				isProduce := len(f) >= 8 && produces[int32(binary.BigEndian.Uint32(f[4:]))]
				mu.Unlock()
				if isProduce && p.n.Add(1)%p.every == 0 {
					p.dropped.Add(1)
					s.Close()
					return
				}
				if _, err := c.Write(f); err != nil {
					return
				}
			}
		}()
	}
}

// readFrame reads one size-prefixed Kafka frame, prefix included.
func readFrame(r io.Reader) ([]byte, error) {
	var sz [4]byte
	if _, err := io.ReadFull(r, sz[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(sz[:])
	if n > 64<<20 {
		return nil, errors.New("frame too large")
	}
	f := make([]byte, 4+n)
	copy(f, sz[:])
	_, err := io.ReadFull(r, f[4:])
	return f, err
}

func TestIdempotentProducerExactlyOnceAcrossDroppedResponses(t *testing.T) {
	testIdempotentExactlyOnce(t, false)
}

// TestIdempotentProducerExactlyOnceAcrossRestart adds a server restart in
// the middle: retries of batches written before it are recognised from the
// producer state rebuilt out of the log.
func TestIdempotentProducerExactlyOnceAcrossRestart(t *testing.T) {
	testIdempotentExactlyOnce(t, true)
}

func testIdempotentExactlyOnce(t *testing.T, restart bool) {
	proxy := newDropProxy(t, 3)
	srv := startGroupServer(t, kafkatest.WithServerConfig(func(c *kafka.Config) {
		c.AdvertisedAddr = proxy.ln.Addr().String()
	}))
	proxy.target.Store(srv.Addr)
	const topic, n = "idem", 3000
	if _, err := srv.Broker.CreateTopic(topic, 3, nil, false); err != nil {
		t.Fatal(err)
	}
	prod, err := kgo.NewClient(kgo.SeedBrokers(proxy.ln.Addr().String()), kgo.DefaultProduceTopic(topic),
		kgo.ProducerLinger(0), kgo.MaxBufferedRecords(200), kgo.RequestRetries(100),
		kgo.RetryBackoffFn(func(int) time.Duration { return 10 * time.Millisecond }))
	if err != nil {
		t.Fatal(err)
	}
	defer prod.Close()
	ctx := ctxT(t, 60*time.Second)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	var acked atomic.Int64
	for i := 0; i < n; i++ {
		if restart && i == n/2 {
			// Restart once about a third of the records are acknowledged,
			// with produce requests in flight.
			waitUntil(t, 30*time.Second, "a third acknowledged", func() bool { return acked.Load() >= n/3 })
			srv.Restart(t)
		}
		wg.Add(1)
		prod.Produce(ctx, &kgo.Record{Key: []byte(strconv.Itoa(i % 7)), Value: []byte(strconv.Itoa(i))}, func(_ *kgo.Record, err error) {
			if err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
			acked.Add(1)
			wg.Done()
		})
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		t.Fatalf("produce: %v", err)
	}
	if proxy.dropped.Load() == 0 {
		t.Fatal("no produce response was dropped; the test tested nothing")
	}
	got := consumeN(t, srv.Server, topic, n)
	count := map[string]int{}
	for _, r := range got {
		count[string(r.Value)]++
	}
	for i := 0; i < n; i++ {
		if c := count[strconv.Itoa(i)]; c != 1 {
			t.Fatalf("value %d stored %d times (%d responses dropped)", i, c, proxy.dropped.Load())
		}
	}
	var end int64
	for p := int32(0); p < 3; p++ {
		_, hw, _, _ := srv.Broker.Offsets(topic, p)
		end += hw
	}
	if end != n {
		t.Fatalf("partitions hold %d records, want %d", end, n)
	}
	t.Logf("%d records exactly once across %d dropped produce responses", n, proxy.dropped.Load())
}

func TestGroupAdminAndErrors(t *testing.T) {
	srv := startGroupServer(t)
	const topic = "adm"
	if _, err := srv.Broker.CreateTopic(topic, 2, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := srv.Client(t)
	adm := kadm.NewClient(cl)
	ctx := ctxT(t, 20*time.Second)
	produceValues(t, cl, topic, 0, 10)

	// Simple (generation -1) commits, including errors per partition.
	oc := kmsg.NewPtrOffsetCommitRequest()
	oc.Group, oc.Generation, oc.MemberID = "simple", -1, ""
	for _, tc := range []struct {
		topic string
		p     int32
		md    string
	}{{topic, 0, "m"}, {topic, 5, ""}, {"nope", 0, ""}, {topic, 1, string(make([]byte, 5000))}} {
		rt := kmsg.NewOffsetCommitRequestTopic()
		rt.Topic = tc.topic
		rp := kmsg.NewOffsetCommitRequestTopicPartition()
		rp.Partition, rp.Offset, rp.Metadata = tc.p, 4, kmsg.StringPtr(tc.md)
		rt.Partitions = append(rt.Partitions, rp)
		oc.Topics = append(oc.Topics, rt)
	}
	ocr, err := oc.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	wantCodes := []int16{0, kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicOrPartition.Code, kerr.OffsetMetadataTooLarge.Code}
	for i, rt := range ocr.Topics {
		if rt.Partitions[0].ErrorCode != wantCodes[i] {
			t.Errorf("commit %d: code %d, want %d", i, rt.Partitions[0].ErrorCode, wantCodes[i])
		}
	}
	// Member commit to an unknown group: GROUP_ID_NOT_FOUND from v9,
	// ILLEGAL_GENERATION before (Kafka 4).
	oc2 := kmsg.NewPtrOffsetCommitRequest()
	oc2.Group, oc2.Generation, oc2.MemberID = "ghost", 3, "m"
	oc2.Topics = oc.Topics[:1]
	if r, err := oc2.RequestWith(ctx, cl); err != nil || r.Version != 9 || r.Topics[0].Partitions[0].ErrorCode != kerr.GroupIDNotFound.Code {
		t.Fatalf("ghost commit v9: %+v %v", r, err)
	}
	if r := dialRaw(t, srv.Addr).roundTrip(oc2, 2).(*kmsg.OffsetCommitResponse); r.Topics[0].Partitions[0].ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("ghost commit v2: %+v", r)
	}
	// Lag through the coordinator.
	lag, err := srv.Coord().Lag(ctx, "simple")
	if err != nil || len(lag) != 1 || lag[0].Lag != lag[0].HighWatermark-4 {
		t.Fatalf("lag %+v %v", lag, err)
	}
	// Heartbeat / sync for unknown members.
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "simple", "who", 1
	if r, err := hb.RequestWith(ctx, cl); err != nil || r.ErrorCode != kerr.UnknownMemberID.Code {
		t.Fatalf("heartbeat: %+v %v", r, err)
	}
	// Join with an unknown protocol type mix.
	jg := kmsg.NewPtrJoinGroupRequest()
	jg.Group, jg.SessionTimeoutMillis, jg.RebalanceTimeoutMillis, jg.ProtocolType = "j", 5000, 5000, "consumer"
	if r, err := jg.RequestWith(ctx, cl); err != nil || r.ErrorCode != kerr.InconsistentGroupProtocol.Code {
		t.Fatalf("join without protocols: %+v %v", r, err)
	}
	p := kmsg.NewJoinGroupRequestProtocol()
	p.Name, p.Metadata = "range", (&kmsg.ConsumerMemberMetadata{Topics: []string{topic}}).AppendTo(nil)
	jg.Protocols = append(jg.Protocols, p)
	r, err := jg.RequestWith(ctx, cl)
	if err != nil || r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
		t.Fatalf("first join: %+v %v", r, err)
	}
	jg.MemberID = r.MemberID
	if r, err = jg.RequestWith(ctx, cl); err != nil || r.ErrorCode != 0 || r.LeaderID != jg.MemberID {
		t.Fatalf("second join: %+v %v", r, err)
	}
	gen := r.Generation
	sg := kmsg.NewPtrSyncGroupRequest()
	sg.Group, sg.MemberID, sg.Generation = "j", jg.MemberID, gen+1
	if r, err := sg.RequestWith(ctx, cl); err != nil || r.ErrorCode != kerr.IllegalGeneration.Code {
		t.Fatalf("stale sync: %+v %v", r, err)
	}
	sg.Generation = gen
	if r, err := sg.RequestWith(ctx, cl); err != nil || r.ErrorCode != 0 {
		t.Fatalf("sync: %+v %v", r, err)
	}

	// kadm view: list, describe, delete refused while members remain.
	ls, err := adm.ListGroups(ctx)
	if err != nil || len(ls) != 2 {
		t.Fatalf("list %v %v", ls, err)
	}
	dg, err := adm.DescribeGroups(ctx, "j")
	if err != nil || dg["j"].State != "Stable" || len(dg["j"].Members) != 1 || dg["j"].Members[0].ClientHost != "/127.0.0.1" {
		t.Fatalf("describe %+v %v", dg, err)
	}
	dr, err := adm.DeleteGroups(ctx, "j", "simple", "missing")
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(dr["j"].Err, kerr.NonEmptyGroup) || dr["simple"].Err != nil || !errors.Is(dr["missing"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("delete %+v", dr)
	}
	// Leave, then the group can go.
	lg := kmsg.NewPtrLeaveGroupRequest()
	lg.Group = "j"
	lm := kmsg.NewLeaveGroupRequestMember()
	lm.MemberID = jg.MemberID
	lg.Members = append(lg.Members, lm)
	if r, err := lg.RequestWith(ctx, cl); err != nil || r.ErrorCode != 0 || r.Members[0].ErrorCode != 0 {
		t.Fatalf("leave %+v %v", r, err)
	}
	// Transactions: a clear, immediate refusal.
	ip := kmsg.NewPtrInitProducerIDRequest()
	ip.TransactionalID = kmsg.StringPtr("tx")
	// (franz-go looks up the transaction coordinator first, which refuses.)
	if r, err := ip.RequestWith(ctx, cl); !errors.Is(err, kerr.TransactionalIDAuthorizationFailed) {
		t.Fatalf("transactional InitProducerId %+v %v", r, err)
	}
	// FindCoordinator, batched form.
	fc := kmsg.NewPtrFindCoordinatorRequest()
	fc.CoordinatorKeys = []string{"a", "b"}
	if r, err := fc.RequestWith(ctx, cl); err != nil || len(r.Coordinators) != 2 || r.Coordinators[1].NodeID != kafka.NodeID || r.Coordinators[1].ErrorCode != 0 {
		t.Fatalf("find coordinator %+v %v", r, err)
	}
}

func testLogger() *slog.Logger {
	if os.Getenv("EDDY_TEST_LOG") == "" {
		return nil
	}
	return slog.New(slog.NewTextHandler(os.Stderr, nil))
}

// TestOffsetsGoWithDeletedTopic: offsets committed for a topic that is
// deleted and created again do not apply to the new topic, as in Kafka.
func TestOffsetsGoWithDeletedTopic(t *testing.T) {
	srv := startGroupServer(t)
	cl := srv.Client(t)
	adm := kadm.NewClient(cl)
	ctx := ctxT(t, 20*time.Second)
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "again"); err != nil {
		t.Fatal(err)
	}
	os := kadm.Offsets{}
	os.Add(kadm.Offset{Topic: "again", Partition: 0, At: 3, LeaderEpoch: -1})
	if r, err := adm.CommitOffsets(ctx, "g-again", os); err != nil || r.Error() != nil {
		t.Fatalf("commit: %v %v", err, r.Error())
	}
	if _, err := adm.DeleteTopics(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "again"); err != nil {
		t.Fatal(err)
	}
	got, err := adm.FetchOffsets(ctx, "g-again")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("again", 0); ok && o.At >= 0 {
		t.Fatalf("offset of the deleted topic still applies: %+v", o)
	}
}

// TestGroupAdminAPIsThroughKadm checks the admin paths the CLI uses:
// batched OffsetFetch (v8+) over several groups, ListGroups filters,
// DescribeGroups of unknown groups, OffsetDelete.
func TestGroupAdminAPIsThroughKadm(t *testing.T) {
	srv := startGroupServer(t)
	cl := srv.Client(t)
	adm := kadm.NewClient(cl)
	ctx := ctxT(t, 20*time.Second)
	if _, err := adm.CreateTopic(ctx, 2, 1, nil, "k"); err != nil {
		t.Fatal(err)
	}
	for i, g := range []string{"ka", "kb"} {
		os := kadm.Offsets{}
		os.Add(kadm.Offset{Topic: "k", Partition: 0, At: int64(10 + i), LeaderEpoch: -1, Metadata: g})
		os.Add(kadm.Offset{Topic: "k", Partition: 1, At: int64(20 + i), LeaderEpoch: -1})
		if r, err := adm.CommitOffsets(ctx, g, os); err != nil || r.Error() != nil {
			t.Fatalf("commit %s: %v %v", g, err, r.Error())
		}
	}
	// One OffsetFetch request for both groups (v8 batching).
	req := kmsg.NewPtrOffsetFetchRequest()
	for _, g := range []string{"ka", "kb", "kc"} {
		rg := kmsg.NewOffsetFetchRequestGroup()
		rg.Group = g
		req.Groups = append(req.Groups, rg)
	}
	resp, err := req.RequestWith(ctx, cl)
	if err != nil || resp.Version < 8 || len(resp.Groups) != 3 {
		t.Fatalf("batched fetch: %+v %v", resp, err)
	}
	for i, g := range resp.Groups[:2] {
		if g.ErrorCode != 0 || len(g.Topics) != 1 || len(g.Topics[0].Partitions) != 2 || g.Topics[0].Partitions[0].Offset != int64(10+i) {
			t.Fatalf("group %s: %+v", g.Group, g)
		}
	}
	if g := resp.Groups[2]; g.ErrorCode != 0 || len(g.Topics) != 0 {
		t.Fatalf("unknown group: %+v", g)
	}
	// ListGroups with filters.
	ls, err := adm.ListGroups(ctx, "Empty")
	if err != nil || len(ls) != 2 {
		t.Fatalf("list Empty: %v %v", ls, err)
	}
	if ls, err = adm.ListGroups(ctx, "Stable"); err != nil || len(ls) != 0 {
		t.Fatalf("list Stable: %v %v", ls, err)
	}
	// DescribeGroups of an unknown group: GROUP_ID_NOT_FOUND at v6.
	dg, err := adm.DescribeGroups(ctx, "nope")
	if err != nil || !errors.Is(dg["nope"].Err, kerr.GroupIDNotFound) {
		t.Fatalf("describe unknown: %+v %v", dg, err)
	}
	// OffsetDelete on an Empty group.
	ds := make(kadm.TopicsSet)
	ds.Add("k", 0)
	dr, err := adm.DeleteOffsets(ctx, "ka", ds)
	if err != nil || dr.Error() != nil {
		t.Fatalf("offset delete: %v %v", err, dr.Error())
	}
	got, err := adm.FetchOffsets(ctx, "ka")
	if err != nil {
		t.Fatal(err)
	}
	if o, ok := got.Lookup("k", 0); ok && o.At >= 0 {
		t.Fatalf("deleted offset still there: %+v", o)
	}
	if o, ok := got.Lookup("k", 1); !ok || o.At != 20 {
		t.Fatalf("other offset: %+v", o)
	}
	// Lag as the CLI computes it (kadm): end offsets minus commits.
	lag, err := adm.Lag(ctx, "kb")
	if err != nil {
		t.Fatal(err)
	}
	if l := lag["kb"]; l.Error() != nil || l.State != "Empty" || l.Lag.Total() != 0 {
		// Both partitions are empty (end 0) and commits are past the end:
		// kadm clamps to 0.
		t.Fatalf("lag: %+v", l)
	}
}

// TestGroupSurvivesServerRestart: a Stable group's members, generation and
// assignments are durable, so after a server restart kgo consumers keep
// heartbeating in the same generation (no rebalance) and keep consuming.
func TestGroupSurvivesServerRestart(t *testing.T) {
	srv := startGroupServer(t)
	const topic = "survive"
	if _, err := srv.Broker.CreateTopic(topic, 4, nil, false); err != nil {
		t.Fatal(err)
	}
	sn := &seen{n: map[string]int{}}
	// The session outlasts a restart under -race on a loaded machine (the
	// members' heartbeats resume once they find the new coordinator).
	opts := []kgo.Opt{kgo.SessionTimeout(30 * time.Second), kgo.Balancers(kgo.RangeBalancer())}
	m1 := startMember(t, srv, "m1", "sv", topic, sn, opts...)
	m2 := startMember(t, srv, "m2", "sv", topic, sn, opts...)
	defer m1.close()
	defer m2.close()
	ms := []*member{m1, m2}
	waitUntil(t, 20*time.Second, "2/2 split", splitIs(ms, 2, 2))
	ds, err := srv.Coord().Describe(ctxT(t, 5*time.Second), []string{"sv"})
	if err != nil {
		t.Fatal(err)
	}
	gen := ds[0].Generation
	revoked := func() int {
		var n int
		for _, m := range ms {
			m.mu.Lock()
			n += m.revoked
			m.mu.Unlock()
		}
		return n
	}
	before := revoked()

	srv.Restart(t)
	prod := srv.Client(t)
	produceValues(t, prod, topic, 0, 100)
	waitUntil(t, 20*time.Second, "records consumed after the restart", func() bool { d, _ := sn.counts(); return d == 100 })
	ds, err = srv.Coord().Describe(ctxT(t, 5*time.Second), []string{"sv"})
	if err != nil {
		t.Fatal(err)
	}
	if ds[0].State != group.Stable || ds[0].Generation != gen || len(ds[0].Members) != 2 {
		t.Fatalf("after restart: %+v (generation before %d)", ds[0], gen)
	}
	if revoked() != before {
		t.Fatal("members saw a rebalance across the restart")
	}
}
