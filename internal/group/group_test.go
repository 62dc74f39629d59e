package group

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// staticTopics is a fixed topic table standing in for the broker.
type staticTopics struct {
	mu    sync.Mutex
	parts map[string]int32
	hw    map[string]int64
	gen   map[string]int // bumped to simulate delete + re-create (new topic id)
}

func (s *staticTopics) Partitions(t string) (int32, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, ok := s.parts[t]
	return n, ok
}

func (s *staticTopics) TopicID(t string) ([16]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.parts[t]; !ok {
		return [16]byte{}, false
	}
	return [16]byte{1, byte(s.gen[t])}, true
}

func (s *staticTopics) HighWatermark(t string, p int32) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hw[fmt.Sprintf("%s/%d", t, p)], nil
}

type env struct {
	t      testing.TB
	dir    string
	store  *meta.Store
	topics *staticTopics
	c      *Coordinator
	cfg    Config
}

func newEnv(t testing.TB, mod func(*Config)) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), topics: &staticTopics{parts: map[string]int32{"t": 6, "u": 2}, hw: map[string]int64{}, gen: map[string]int{}}}
	e.cfg = Config{
		Topics:                e.topics,
		MinSessionTimeout:     time.Millisecond,
		InitialRebalanceDelay: -1,
	}
	if mod != nil {
		mod(&e.cfg)
	}
	e.open()
	t.Cleanup(func() { e.close() })
	return e
}

func (e *env) open() {
	e.t.Helper()
	s, err := meta.Open(filepath.Join(e.dir, "meta.db"))
	if err != nil {
		e.t.Fatal(err)
	}
	e.store = s
	cfg := e.cfg
	cfg.Meta = s
	c, err := New(cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	e.c = c
}

func (e *env) close() {
	if e.c != nil {
		e.c.Close()
		e.store.Close()
		e.c = nil
	}
}

func (e *env) reopen() { e.close(); e.open() }

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func consumerMeta(topics ...string) []byte {
	m := kmsg.NewConsumerMemberMetadata()
	m.Topics = topics
	return m.AppendTo(nil)
}

func joinReq(member string, protos ...string) JoinRequest {
	if len(protos) == 0 {
		protos = []string{"range"}
	}
	r := JoinRequest{
		Group: "g", MemberID: member, ClientID: "c", ClientHost: "/127.0.0.1",
		ProtocolType: "consumer", SessionTimeout: 5 * time.Second, RebalanceTimeout: 5 * time.Second,
		RequireKnownMemberID: true,
	}
	for _, p := range protos {
		r.Protocols = append(r.Protocols, Protocol{Name: p, Metadata: consumerMeta("t")})
	}
	return r
}

// joinFull does the KIP-394 two-step join.
func (e *env) joinFull(req JoinRequest) JoinResult {
	e.t.Helper()
	res, err := e.c.Join(ctx(e.t), req)
	if errors.Is(err, ErrMemberIDRequired) {
		req.MemberID = res.MemberID
		res, err = e.c.Join(ctx(e.t), req)
	}
	if err != nil {
		e.t.Fatalf("join: %v", err)
	}
	return res
}

type asyncJoin struct {
	res JoinResult
	err error
}

func (e *env) joinAsync(req JoinRequest) chan asyncJoin {
	ch := make(chan asyncJoin, 1)
	go func() {
		res, err := e.c.Join(ctx(e.t), req)
		if errors.Is(err, ErrMemberIDRequired) {
			req.MemberID = res.MemberID
			res, err = e.c.Join(ctx(e.t), req)
		}
		ch <- asyncJoin{res, err}
	}()
	return ch
}

func recv[T any](t testing.TB, ch chan T) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal("timed out")
		panic("unreachable")
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (e *env) describe(name string) Description {
	e.t.Helper()
	ds, err := e.c.Describe(ctx(e.t), []string{name})
	if err != nil {
		e.t.Fatal(err)
	}
	return ds[0]
}

func (e *env) sync(res JoinResult, assign map[string][]byte) ([]byte, error) {
	r, err := e.c.Sync(ctx(e.t), SyncRequest{Group: "g", MemberID: res.MemberID, Generation: res.Generation, Assignments: assign})
	return r.Assignment, err
}

func TestSingleMemberLifecycle(t *testing.T) {
	e := newEnv(t, nil)
	res, err := e.c.Join(ctx(t), joinReq(""))
	if !errors.Is(err, ErrMemberIDRequired) || res.MemberID == "" {
		t.Fatalf("first v4 join: got %v id %q, want MEMBER_ID_REQUIRED with an id", err, res.MemberID)
	}
	if d := e.describe("g"); d.State != Empty {
		t.Fatalf("pending member must not change state; got %v", d.State)
	}
	req := joinReq(res.MemberID)
	res = e.joinFull(req)
	if res.Generation != 1 || res.LeaderID != res.MemberID || res.Protocol != "range" || len(res.Members) != 1 {
		t.Fatalf("join result %+v", res)
	}
	if d := e.describe("g"); d.State != CompletingRebalance {
		t.Fatalf("state %v, want CompletingRebalance", d.State)
	}
	// Commits during CompletingRebalance are refused.
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: res.MemberID, Generation: 1, Offsets: []CommitOffset{{Topic: "t", Partition: 0, Offset: 1}}})
	if err != nil || !errors.Is(errs[0], ErrRebalanceInProgress) {
		t.Fatalf("commit in CompletingRebalance: %v %v", errs, err)
	}
	a, err := e.sync(res, map[string][]byte{res.MemberID: []byte("A")})
	if err != nil || string(a) != "A" {
		t.Fatalf("sync: %q %v", a, err)
	}
	d := e.describe("g")
	if d.State != Stable || d.Protocol != "range" || len(d.Members) != 1 || string(d.Members[0].Assignment) != "A" {
		t.Fatalf("describe %+v", d)
	}
	if err := e.c.Heartbeat(ctx(t), "g", res.MemberID, "", 1); err != nil {
		t.Fatal(err)
	}
	if err := e.c.Heartbeat(ctx(t), "g", res.MemberID, "", 0); !errors.Is(err, ErrIllegalGeneration) {
		t.Fatalf("stale generation heartbeat: %v", err)
	}
	if err := e.c.Heartbeat(ctx(t), "g", "nobody", "", 1); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown member heartbeat: %v", err)
	}
	if err := e.c.Heartbeat(ctx(t), "nogroup", "x", "", 1); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown group heartbeat: %v", err)
	}
	if err := e.c.Heartbeat(ctx(t), "", "x", "", 1); !errors.Is(err, ErrInvalidGroupID) {
		t.Fatalf("empty group heartbeat: %v", err)
	}
	errs, err = e.c.Leave(ctx(t), "g", []LeaveMember{{MemberID: res.MemberID}, {MemberID: "nobody"}})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], ErrUnknownMember) {
		t.Fatalf("leave: %v %v", errs, err)
	}
	d = e.describe("g")
	if d.State != Empty || d.Generation != 2 {
		t.Fatalf("after leave: %+v", d)
	}
}

func TestJoinValidation(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MinSessionTimeout = time.Second; c.MaxSessionTimeout = time.Minute })
	r := joinReq("")
	r.SessionTimeout = time.Millisecond
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInvalidSessionTimeout) {
		t.Fatalf("short session: %v", err)
	}
	r = joinReq("")
	r.Group = ""
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInvalidGroupID) {
		t.Fatalf("empty group: %v", err)
	}
	r = joinReq("")
	r.ProtocolType = ""
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInconsistentProtocol) {
		t.Fatalf("empty protocol type: %v", err)
	}
	r = joinReq("")
	r.Protocols = nil
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInconsistentProtocol) {
		t.Fatalf("no protocols: %v", err)
	}
	if _, err := e.c.Join(ctx(t), joinReq("made-up")); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("unknown member id: %v", err)
	}
	// Failed joins leave no group behind.
	if ls, _ := e.c.List(ctx(t), nil, nil); len(ls) != 0 {
		t.Fatalf("failed joins created groups: %v", ls)
	}
	first := e.joinFull(joinReq(""))
	if _, err := e.sync(first, nil); err != nil {
		t.Fatal(err)
	}
	// Another protocol type, or no protocol in common, is inconsistent.
	r = joinReq("")
	r.ProtocolType = "connect"
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInconsistentProtocol) {
		t.Fatalf("other protocol type: %v", err)
	}
	if _, err := e.c.Join(ctx(t), joinReq("", "roundrobin")); !errors.Is(err, ErrInconsistentProtocol) {
		t.Fatalf("no common protocol: %v", err)
	}
	// Sync naming another protocol is inconsistent (SyncGroup v5+).
	if _, err := e.c.Sync(ctx(t), SyncRequest{Group: "g", MemberID: first.MemberID, Generation: first.Generation, Protocol: "roundrobin"}); !errors.Is(err, ErrInconsistentProtocol) {
		t.Fatalf("sync with other protocol: %v", err)
	}
	// v0-v3 joins (no KIP-394) join at once.
	r = joinReq("", "range")
	r.RequireKnownMemberID = false
	ch := e.joinAsync(r)
	waitFor(t, "rebalance started", func() bool { return e.describe("g").State == PreparingRebalance })
	// The leader must rejoin to complete the rebalance.
	lj := e.joinAsync(joinReq(first.MemberID))
	a, b := recv(t, ch), recv(t, lj)
	if a.err != nil || b.err != nil || a.res.Generation != 2 || b.res.Generation != 2 {
		t.Fatalf("v0 join: %+v %+v", a, b)
	}
}

func TestThreeMembersProtocolSelectionAndSync(t *testing.T) {
	e := newEnv(t, nil)
	// Members prefer different protocols; only "range" and "roundrobin"
	// are common to all, and "roundrobin" gets the most first votes.
	reqs := []JoinRequest{
		joinReq("", "sticky", "roundrobin", "range"),
		joinReq("", "roundrobin", "range"),
		joinReq("", "roundrobin", "sticky", "range"),
	}
	// The first member forms generation 1 alone; the others then join,
	// which rebalances; the first member rejoins when its heartbeat says so.
	lead := e.joinFull(reqs[0])
	if _, err := e.sync(lead, nil); err != nil {
		t.Fatal(err)
	}
	c1, c2 := e.joinAsync(reqs[1]), e.joinAsync(reqs[2])
	// Both newcomers must be waiting in the join before the leader rejoins,
	// or the rebalance could complete with the leader and one of them.
	waitFor(t, "both newcomers joining", func() bool {
		var n int
		g, _ := e.c.lookup("g", false)
		_ = g.run(ctx(t), func() { n = len(g.members) })
		return n == 3
	})
	if err := e.c.Heartbeat(ctx(t), "g", lead.MemberID, "", lead.Generation); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("heartbeat during rebalance: %v", err)
	}
	// Sync of the old generation during the rebalance.
	if _, err := e.sync(lead, nil); !errors.Is(err, ErrRebalanceInProgress) {
		t.Fatalf("sync while preparing: %v", err)
	}
	r0 := reqs[0]
	r0.MemberID = lead.MemberID
	c0 := e.joinAsync(r0)
	j := []asyncJoin{recv(t, c0), recv(t, c1), recv(t, c2)}
	var leader JoinResult
	for i, x := range j {
		if x.err != nil {
			t.Fatalf("join %d: %v", i, x.err)
		}
		if x.res.Generation != j[0].res.Generation || x.res.Protocol != "roundrobin" || x.res.LeaderID != lead.MemberID {
			t.Fatalf("join %d: %+v", i, x.res)
		}
		if x.res.MemberID == x.res.LeaderID {
			leader = x.res
			if len(x.res.Members) != 3 {
				t.Fatalf("leader sees %d members", len(x.res.Members))
			}
		} else if len(x.res.Members) != 0 {
			t.Fatalf("follower got member list")
		}
	}
	// Followers park in sync until the leader's assignment arrives.
	type so struct {
		a   []byte
		err error
	}
	out := make(chan so, 2)
	for _, x := range j {
		if x.res.MemberID == leader.MemberID {
			continue
		}
		go func(r JoinResult) { a, err := e.sync(r, nil); out <- so{a, err} }(x.res)
	}
	waitFor(t, "followers parked", func() bool {
		var parked int
		g, _ := e.c.lookup("g", false)
		_ = g.run(ctx(t), func() {
			for _, m := range g.members {
				if m.syncReply != nil {
					parked++
				}
			}
		})
		return parked == 2
	})
	assign := map[string][]byte{}
	for _, x := range j {
		assign[x.res.MemberID] = []byte(x.res.MemberID)
	}
	if a, err := e.sync(leader, assign); err != nil || string(a) != leader.MemberID {
		t.Fatalf("leader sync %q %v", a, err)
	}
	for range 2 {
		r := recv(t, out)
		if r.err != nil || len(r.a) == 0 {
			t.Fatalf("follower sync %q %v", r.a, r.err)
		}
	}
	// A member the leader left out gets a decodable empty assignment.
	if d := e.describe("g"); d.State != Stable || len(d.Members) != 3 {
		t.Fatalf("describe %+v", d)
	}
}

func TestEmptyAssignmentIsDecodable(t *testing.T) {
	e := newEnv(t, nil)
	res := e.joinFull(joinReq(""))
	a, err := e.sync(res, nil)
	if err != nil {
		t.Fatal(err)
	}
	var ca kmsg.ConsumerMemberAssignment
	if err := ca.ReadFrom(a); err != nil || len(ca.Topics) != 0 {
		t.Fatalf("empty assignment %x: %v", a, err)
	}
}

// TestSessionTimeoutRemovesMember: a member that stops heartbeating is
// removed after its session timeout and the others are told to rejoin.
// It runs in a synctest bubble: the coordinator's timers use the bubble's
// clock, so the timeout fires exactly when due, whatever the machine's load.
func TestSessionTimeoutRemovesMember(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		r := joinReq("")
		r.SessionTimeout = 150 * time.Millisecond
		a := e.joinFull(r)
		if _, err := e.sync(a, nil); err != nil {
			t.Fatal(err)
		}
		// b joins; a keeps heartbeating and rejoins; then a goes silent.
		rb := joinReq("")
		rb.SessionTimeout = 5 * time.Second
		cb := e.joinAsync(rb)
		waitFor(t, "rebalance", func() bool { return e.c.Heartbeat(ctx(t), "g", a.MemberID, "", a.Generation) != nil })
		r.MemberID = a.MemberID
		ca := e.joinAsync(r)
		ja, jb := recv(t, ca), recv(t, cb)
		if ja.err != nil || jb.err != nil {
			t.Fatal(ja.err, jb.err)
		}
		if _, err := e.sync(ja.res, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := e.sync(jb.res, nil); err != nil {
			t.Fatal(err)
		}
		// a stops heartbeating: after its session timeout it is removed and b
		// is told to rejoin.
		waitFor(t, "b told to rejoin", func() bool {
			return errors.Is(e.c.Heartbeat(ctx(t), "g", jb.res.MemberID, "", jb.res.Generation), ErrRebalanceInProgress)
		})
		rb.MemberID = jb.res.MemberID
		j := e.joinFull(rb)
		if j.Generation != jb.res.Generation+1 || j.LeaderID != j.MemberID || len(j.Members) != 1 {
			t.Fatalf("rejoin after expiry %+v", j)
		}
		if err := e.c.Heartbeat(ctx(t), "g", a.MemberID, "", j.Generation); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("expired member heartbeat: %v", err)
		}
	})
}

// TestRebalanceTimeoutDropsMembersThatDoNotRejoin runs in a synctest
// bubble: the coordinator's timers use the bubble's clock, so the
// rebalance completes exactly at its timeout, not before, not later.
func TestRebalanceTimeoutDropsMembersThatDoNotRejoin(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		r := joinReq("")
		r.RebalanceTimeout = 100 * time.Millisecond
		a := e.joinFull(r)
		if _, err := e.sync(a, nil); err != nil {
			t.Fatal(err)
		}
		// b joins; a never rejoins (but keeps its session alive).
		rb := joinReq("")
		rb.RebalanceTimeout = 100 * time.Millisecond
		start := time.Now()
		jb := recv(t, e.joinAsync(rb))
		if jb.err != nil {
			t.Fatal(jb.err)
		}
		if el := time.Since(start); el != 100*time.Millisecond {
			t.Fatalf("rebalance completed after %v, want exactly the 100ms rebalance timeout", el)
		}
		if jb.res.LeaderID != jb.res.MemberID || len(jb.res.Members) != 1 {
			t.Fatalf("b should lead alone: %+v", jb.res)
		}
		if err := e.c.Heartbeat(ctx(t), "g", a.MemberID, "", a.Generation); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("dropped member: %v", err)
		}
	})
}

// TestPendingSyncTimeout: a member that joins and never syncs is removed
// after the rebalance timeout.
// It runs in a synctest bubble: the coordinator's timers use the bubble's
// clock, so the timeout fires exactly when due, whatever the machine's load.
func TestPendingSyncTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		r := joinReq("")
		r.RebalanceTimeout = 100 * time.Millisecond
		a := e.joinFull(r)
		// a never syncs: after the rebalance timeout it is removed.
		waitFor(t, "group empty", func() bool { return e.describe("g").State == Empty })
		if err := e.c.Heartbeat(ctx(t), "g", a.MemberID, "", a.Generation); !errors.Is(err, ErrUnknownMember) {
			t.Fatalf("heartbeat: %v", err)
		}
	})
}

func TestStaticMemberRestartKeepsAssignment(t *testing.T) {
	e := newEnv(t, nil)
	rs := joinReq("")
	rs.InstanceID = "inst-1"
	s := e.joinFull(rs) // static members skip MEMBER_ID_REQUIRED
	if _, err := e.sync(s, map[string][]byte{s.MemberID: []byte("S")}); err != nil {
		t.Fatal(err)
	}
	rd := joinReq("")
	cd := e.joinAsync(rd)
	waitFor(t, "rebalance", func() bool { return e.c.Heartbeat(ctx(t), "g", s.MemberID, "inst-1", s.Generation) != nil })
	rs.MemberID = s.MemberID
	js, jd := recv(t, e.joinAsync(rs)), recv(t, cd)
	if js.err != nil || jd.err != nil {
		t.Fatal(js.err, jd.err)
	}
	leaderRes, follower := js.res, jd.res
	if leaderRes.LeaderID != leaderRes.MemberID {
		leaderRes, follower = jd.res, js.res
	}
	fch := make(chan error, 1)
	go func() { _, err := e.sync(follower, nil); fch <- err }()
	if _, err := e.sync(leaderRes, map[string][]byte{js.res.MemberID: []byte("S2"), jd.res.MemberID: []byte("D2")}); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, fch); err != nil {
		t.Fatal(err)
	}
	gen := js.res.Generation

	// The static member restarts: it joins with its instance id and no
	// member id. No rebalance: same generation, same assignment, stable.
	rs.MemberID = ""
	rs.SupportsSkipAssignment = true
	res, err := e.c.Join(ctx(t), rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Generation != gen || res.MemberID == js.res.MemberID {
		t.Fatalf("restart join %+v (gen %d)", res, gen)
	}
	if d := e.describe("g"); d.State != Stable || d.Generation != gen {
		t.Fatalf("static restart rebalanced: %+v", d)
	}
	a, err := e.sync(res, nil)
	if err != nil || string(a) != "S2" {
		t.Fatalf("restarted static member assignment %q %v", a, err)
	}
	// The dynamic member is not disturbed.
	if err := e.c.Heartbeat(ctx(t), "g", jd.res.MemberID, "", gen); err != nil {
		t.Fatalf("other member heartbeat: %v", err)
	}
	// The old incarnation is fenced.
	if err := e.c.Heartbeat(ctx(t), "g", js.res.MemberID, "inst-1", gen); !errors.Is(err, ErrFencedInstanceID) {
		t.Fatalf("old static member heartbeat: %v", err)
	}
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: js.res.MemberID, InstanceID: "inst-1", Generation: gen, Offsets: []CommitOffset{{Topic: "t", Offset: 1}}})
	if err != nil || !errors.Is(errs[0], ErrFencedInstanceID) {
		t.Fatalf("old static member commit: %v %v", errs, err)
	}
	if _, err := e.c.Join(ctx(t), JoinRequest{Group: "g", MemberID: js.res.MemberID, InstanceID: "inst-1", ProtocolType: "consumer", Protocols: rs.Protocols, SessionTimeout: time.Second}); !errors.Is(err, ErrFencedInstanceID) {
		t.Fatalf("old static member join: %v", err)
	}
	// Leaving by instance id with the wrong member id is fenced; by the
	// right one it works.
	lerrs, err := e.c.Leave(ctx(t), "g", []LeaveMember{{MemberID: js.res.MemberID, InstanceID: "inst-1"}, {InstanceID: "inst-unknown"}})
	if err != nil || !errors.Is(lerrs[0], ErrFencedInstanceID) || !errors.Is(lerrs[1], ErrUnknownMember) {
		t.Fatalf("leave: %v %v", lerrs, err)
	}
	lerrs, err = e.c.Leave(ctx(t), "g", []LeaveMember{{InstanceID: "inst-1"}})
	if err != nil || lerrs[0] != nil {
		t.Fatalf("leave by instance: %v %v", lerrs, err)
	}
	if d := e.describe("g"); d.State != PreparingRebalance {
		t.Fatalf("after static leave: %v", d.State)
	}
}

func TestStaticLeaderRestartBeforeKIP814(t *testing.T) {
	e := newEnv(t, nil)
	rs := joinReq("")
	rs.InstanceID = "lead"
	s := e.joinFull(rs)
	if _, err := e.sync(s, map[string][]byte{s.MemberID: []byte("L")}); err != nil {
		t.Fatal(err)
	}
	res, err := e.c.Join(ctx(t), rs)
	if err != nil {
		t.Fatal(err)
	}
	// The old leader id comes back so the new incarnation acts as follower.
	if res.LeaderID != s.MemberID || res.MemberID == s.MemberID || len(res.Members) != 0 || res.SkipAssignment {
		t.Fatalf("%+v", res)
	}
	if a, err := e.sync(res, nil); err != nil || string(a) != "L" {
		t.Fatalf("%q %v", a, err)
	}
}

func TestChangedMetadataRebalances(t *testing.T) {
	e := newEnv(t, nil)
	a := e.joinFull(joinReq(""))
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	r := joinReq(a.MemberID)
	r.Protocols[0].Metadata = consumerMeta("t", "u")
	j := e.joinFull(r)
	if j.Generation != a.Generation+1 {
		t.Fatalf("generation %d", j.Generation)
	}
}

func TestCommitValidation(t *testing.T) {
	e := newEnv(t, nil)
	off := func(topic string, p int32, o int64, md string) []CommitOffset {
		return []CommitOffset{{Topic: topic, Partition: p, Offset: o, LeaderEpoch: -1, Metadata: md}}
	}
	// Member commit to a group that does not exist: not found (the
	// handler says ILLEGAL_GENERATION before OffsetCommit v9).
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: "m", Generation: 3, Offsets: off("t", 0, 1, "")})
	if err != nil || !errors.Is(errs[0], ErrGroupNotFound) {
		t.Fatalf("%v %v", errs, err)
	}
	if d := e.describe("g"); d.Found {
		t.Fatal("failed commit created the group")
	}
	// Simple consumer commits (generation -1) create the group.
	errs, err = e.c.Commit(ctx(t), CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{
		{Topic: "t", Partition: 0, Offset: 10, LeaderEpoch: 2, Metadata: "md"},
		{Topic: "nope", Partition: 0, Offset: 1},
		{Topic: "t", Partition: 6, Offset: 1},
		{Topic: "t", Partition: 1, Offset: 1, Metadata: string(make([]byte, 4097))},
	}})
	if err != nil || errs[0] != nil || !errors.Is(errs[1], ErrUnknownTopicOrPartition) || !errors.Is(errs[2], ErrUnknownTopicOrPartition) || !errors.Is(errs[3], ErrOffsetMetadataTooLarge) {
		t.Fatalf("simple commit: %v %v", errs, err)
	}
	got, err := e.c.Fetch(ctx(t), "g", []TopicPartitions{{Topic: "t", Partitions: []int32{0, 1}}, {Topic: "zz", Partitions: []int32{0}}})
	if err != nil {
		t.Fatal(err)
	}
	want := []Committed{{"t", 0, 10, 2, "md"}, {"t", 1, -1, -1, ""}, {"zz", 0, -1, -1, ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("fetch %v, want %v", got, want)
	}
	// Generation -1 to an Empty group is a simple commit even with ids.
	errs, err = e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: "someone", Generation: -1, Offsets: off("t", 5, 1, "")})
	if err != nil || errs[0] != nil {
		t.Fatalf("simple commit naming a member: %v %v", errs, err)
	}
	// With members, only members commit.
	a := e.joinFull(joinReq(""))
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		req  CommitRequest
		want error
	}{
		{CommitRequest{Group: "g", Generation: -1}, ErrUnknownMember},
		{CommitRequest{Group: "g", MemberID: "x", Generation: a.Generation}, ErrUnknownMember},
		{CommitRequest{Group: "g", MemberID: a.MemberID, Generation: a.Generation + 1}, ErrIllegalGeneration},
		{CommitRequest{Group: "g", MemberID: a.MemberID, Generation: a.Generation}, nil},
	} {
		tc.req.Offsets = off("t", 2, 5, "")
		errs, err := e.c.Commit(ctx(t), tc.req)
		if err != nil || !errors.Is(errs[0], tc.want) || (tc.want == nil && errs[0] != nil) {
			t.Errorf("commit %+v: %v %v, want %v", tc.req, errs, err, tc.want)
		}
	}
	// Fetch everything.
	all, err := e.c.Fetch(ctx(t), "g", nil)
	if err != nil || len(all) != 3 {
		t.Fatalf("fetch all %v %v", all, err)
	}
	// Unknown group: -1 offsets, nothing for "all".
	got, err = e.c.Fetch(ctx(t), "other", []TopicPartitions{{Topic: "t", Partitions: []int32{0}}})
	if err != nil || len(got) != 1 || got[0].Offset != -1 {
		t.Fatalf("unknown group fetch %v %v", got, err)
	}
	got, err = e.c.Fetch(ctx(t), "other", nil)
	if err != nil || len(got) != 0 {
		t.Fatalf("unknown group fetch all %v %v", got, err)
	}
}

func TestOffsetsSurviveRestart(t *testing.T) {
	e := newEnv(t, nil)
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{{Topic: "t", Partition: 3, Offset: 42, LeaderEpoch: 1, Metadata: "x"}}})
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	// A group left Empty comes back Empty with its generation.
	a := e.joinFull(joinReq(""))
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	if errs, err := e.c.Leave(ctx(t), "g", []LeaveMember{{MemberID: a.MemberID}}); err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	e.reopen()
	got, err := e.c.Fetch(ctx(t), "g", nil)
	if err != nil || fmt.Sprint(got) != fmt.Sprint([]Committed{{"t", 3, 42, 1, "x"}}) {
		t.Fatalf("after restart %v %v", got, err)
	}
	d := e.describe("g")
	if !d.Found || d.State != Empty || d.Generation != a.Generation+1 || d.ProtocolType != "consumer" {
		t.Fatalf("after restart %+v", d)
	}
	if err := e.c.Heartbeat(ctx(t), "g", a.MemberID, "", a.Generation); !errors.Is(err, ErrUnknownMember) {
		t.Fatalf("heartbeat after restart: %v", err)
	}
	// Generations keep increasing.
	if j := e.joinFull(joinReq("")); j.Generation != a.Generation+2 {
		t.Fatalf("generation after restart %d, want %d", j.Generation, a.Generation+2)
	}
}

func TestStableGroupSurvivesRestart(t *testing.T) {
	e := newEnv(t, nil)
	rs := joinReq("")
	rs.InstanceID = "st"
	r1 := joinReq("")
	r1.SessionTimeout = 300 * time.Millisecond
	a := e.joinFull(r1)
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	cs := e.joinAsync(rs)
	waitFor(t, "rebalance", func() bool { return e.c.Heartbeat(ctx(t), "g", a.MemberID, "", a.Generation) != nil })
	r1.MemberID = a.MemberID
	ja, js := recv(t, e.joinAsync(r1)), recv(t, cs)
	if ja.err != nil || js.err != nil {
		t.Fatal(ja.err, js.err)
	}
	leader, follower := ja.res, js.res
	if leader.LeaderID != leader.MemberID {
		leader, follower = js.res, ja.res
	}
	fch := make(chan error, 1)
	go func() { _, err := e.sync(follower, nil); fch <- err }()
	if _, err := e.sync(leader, map[string][]byte{ja.res.MemberID: []byte("A"), js.res.MemberID: []byte("S")}); err != nil {
		t.Fatal(err)
	}
	if err := recv(t, fch); err != nil {
		t.Fatal(err)
	}
	gen := ja.res.Generation

	e.reopen()
	// Members, generation and assignments are back: heartbeats go on and
	// a re-sync returns the same assignment, without a rebalance.
	d := e.describe("g")
	if d.State != Stable || d.Generation != gen || len(d.Members) != 2 || d.Leader != leader.MemberID {
		t.Fatalf("after restart %+v", d)
	}
	if err := e.c.Heartbeat(ctx(t), "g", js.res.MemberID, "st", gen); err != nil {
		t.Fatalf("static member heartbeat after restart: %v", err)
	}
	if a, err := e.sync(js.res, nil); err != nil || string(a) != "S" {
		t.Fatalf("sync after restart %q %v", a, err)
	}
	// The static mapping is back: a restarted static member replaces its
	// old id without a rebalance.
	rs.MemberID = ""
	res, err := e.c.Join(ctx(t), rs)
	if err != nil || res.Generation != gen {
		t.Fatalf("static rejoin after restart %+v %v", res, err)
	}
	// a stops heartbeating after the restart: its fresh session timeout
	// expires it, and the group rebalances.
	waitFor(t, "restored member expired", func() bool { return e.describe("g").State == PreparingRebalance })
}

func TestCompletingGroupRestartsEmpty(t *testing.T) {
	e := newEnv(t, nil)
	a := e.joinFull(joinReq("")) // CompletingRebalance: never synced
	e.reopen()
	d := e.describe("g")
	if d.State != Empty || d.Generation != a.Generation || len(d.Members) != 0 {
		t.Fatalf("after restart %+v", d)
	}
}

type fakeClock struct{ ns atomic.Int64 }

func (f *fakeClock) now() time.Time          { return time.Unix(0, f.ns.Load()) }
func (f *fakeClock) advance(d time.Duration) { f.ns.Add(int64(d)) }

func TestOffsetExpiry(t *testing.T) {
	clk := &fakeClock{}
	clk.ns.Store(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	e := newEnv(t, func(c *Config) { c.Now = clk.now; c.OffsetsRetention = time.Hour })
	commit := func(group string, p int32) {
		errs, err := e.c.Commit(ctx(t), CommitRequest{Group: group, Generation: -1, Offsets: []CommitOffset{{Topic: "t", Partition: p, Offset: 1}}})
		if err != nil || errs[0] != nil {
			t.Fatal(errs, err)
		}
	}
	commit("old", 0)
	commit("old", 1)
	clk.advance(40 * time.Minute)
	commit("old", 1) // refreshed
	commit("young", 0)
	clk.advance(30 * time.Minute)
	if err := e.c.ExpireOffsets(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got, _ := e.c.Fetch(ctx(t), "old", nil)
	if len(got) != 1 || got[0].Partition != 1 {
		t.Fatalf("after first sweep %v", got)
	}
	clk.advance(time.Hour)
	if err := e.c.ExpireOffsets(ctx(t)); err != nil {
		t.Fatal(err)
	}
	ls, _ := e.c.List(ctx(t), nil, nil)
	if len(ls) != 0 {
		t.Fatalf("groups left after expiry: %v", ls)
	}
	e.reopen()
	if ls, _ := e.c.List(ctx(t), nil, nil); len(ls) != 0 {
		t.Fatalf("expired groups came back after restart: %v", ls)
	}
}

func TestStableGroupOffsetsDoNotExpire(t *testing.T) {
	clk := &fakeClock{}
	e := newEnv(t, func(c *Config) {
		c.Now = clk.now
		c.OffsetsRetention = time.Hour
		c.MaxSessionTimeout = 1000 * time.Hour
	})
	r := joinReq("")
	r.SessionTimeout = 100 * time.Hour // the fake clock never expires it
	a := e.joinFull(r)
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: a.MemberID, Generation: a.Generation, Offsets: []CommitOffset{{Topic: "t", Offset: 1}}})
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	// An offset for a topic the group does not subscribe to (u).
	errs, err = e.c.Commit(ctx(t), CommitRequest{Group: "g", MemberID: a.MemberID, Generation: a.Generation, Offsets: []CommitOffset{{Topic: "u", Offset: 1}}})
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	clk.advance(10 * time.Hour)
	if err := e.c.ExpireOffsets(ctx(t)); err != nil {
		t.Fatal(err)
	}
	got, _ := e.c.Fetch(ctx(t), "g", nil)
	if len(got) != 1 || got[0].Topic != "t" {
		t.Fatalf("live group offsets after expiry: %v (want only the subscribed topic's)", got)
	}
}

func TestDeleteGroupsAndOffsets(t *testing.T) {
	e := newEnv(t, nil)
	for _, g := range []string{"a", "b"} {
		errs, err := e.c.Commit(ctx(t), CommitRequest{Group: g, Generation: -1, Offsets: []CommitOffset{{Topic: "t", Offset: 1}, {Topic: "u", Offset: 2}}})
		if err != nil || errs[0] != nil {
			t.Fatal(errs, err)
		}
	}
	r := joinReq("")
	r.Group = "b"
	r.Protocols[0].Metadata = consumerMeta("t")
	m := e.joinFull(r)
	if _, err := e.c.Sync(ctx(t), SyncRequest{Group: "b", MemberID: m.MemberID, Generation: m.Generation}); err != nil {
		t.Fatal(err)
	}
	errs := e.c.Delete(ctx(t), []string{"a", "b", "missing"})
	if errs[0] != nil || !errors.Is(errs[1], ErrNonEmptyGroup) || !errors.Is(errs[2], ErrGroupNotFound) {
		t.Fatalf("delete: %v", errs)
	}
	if d := e.describe("a"); d.Found || d.State != Dead {
		t.Fatalf("deleted group described as %+v", d)
	}
	// OffsetDelete on a consumer group with members: subscribed topics
	// are refused, others deleted.
	perr, err := e.c.DeleteOffsets(ctx(t), "b", []TopicPartitions{{Topic: "t", Partitions: []int32{0}}, {Topic: "u", Partitions: []int32{0}}})
	if err != nil || !errors.Is(perr[0], ErrGroupSubscribedToTopic) || perr[1] != nil {
		t.Fatalf("offset delete: %v %v", perr, err)
	}
	perr, err = e.c.DeleteOffsets(ctx(t), "b", []TopicPartitions{{Topic: "nope", Partitions: []int32{0}}, {Topic: "u", Partitions: []int32{7}}})
	if err != nil || !errors.Is(perr[0], ErrUnknownTopicOrPartition) || !errors.Is(perr[1], ErrUnknownTopicOrPartition) {
		t.Fatalf("offset delete of unknown partitions: %v %v", perr, err)
	}
	if _, err := e.c.DeleteOffsets(ctx(t), "missing", nil); !errors.Is(err, ErrGroupNotFound) {
		t.Fatalf("offset delete unknown group: %v", err)
	}
	got, _ := e.c.Fetch(ctx(t), "b", nil)
	if len(got) != 1 || got[0].Topic != "t" {
		t.Fatalf("b offsets %v", got)
	}
	e.reopen()
	if d := e.describe("a"); d.Found {
		t.Fatal("deleted group came back after restart")
	}
	if got, _ := e.c.Fetch(ctx(t), "b", nil); len(got) != 1 {
		t.Fatalf("b offsets after restart %v", got)
	}
	// A group recreated under a deleted name starts clean.
	if got, _ := e.c.Fetch(ctx(t), "a", nil); len(got) != 0 {
		t.Fatalf("a offsets after delete %v", got)
	}
}

func TestListAndLag(t *testing.T) {
	e := newEnv(t, nil)
	e.topics.hw["t/0"] = 100
	e.topics.hw["t/1"] = 5
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "s", Generation: -1, Offsets: []CommitOffset{{Topic: "t", Partition: 0, Offset: 60}, {Topic: "t", Partition: 1, Offset: 5}}})
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	a := e.joinFull(joinReq(""))
	if _, err := e.sync(a, nil); err != nil {
		t.Fatal(err)
	}
	ls, err := e.c.List(ctx(t), nil, nil)
	if err != nil || fmt.Sprint(ls) != fmt.Sprint([]Listing{{"g", "consumer", Stable}, {"s", "", Empty}}) {
		t.Fatalf("list %v %v", ls, err)
	}
	if ls, _ := e.c.List(ctx(t), []string{"stable"}, nil); len(ls) != 1 || ls[0].Group != "g" {
		t.Fatalf("state filter %v", ls)
	}
	if ls, _ := e.c.List(ctx(t), nil, []string{"consumer"}); len(ls) != 0 {
		t.Fatalf("type filter %v", ls)
	}
	lag, err := e.c.Lag(ctx(t), "s")
	if err != nil || fmt.Sprint(lag) != fmt.Sprint([]PartitionLag{{"t", 0, 60, 100, 40}, {"t", 1, 5, 5, 0}}) {
		t.Fatalf("lag %v %v", lag, err)
	}
}

// TestInitialRebalanceDelayGathersMembers: joins of an empty group within
// the initial rebalance delay form one generation.
// It runs in a synctest bubble: the coordinator's timers use the bubble's
// clock, so the timeout fires exactly when due, whatever the machine's load.
func TestInitialRebalanceDelayGathersMembers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, func(c *Config) { c.InitialRebalanceDelay = 100 * time.Millisecond })
		var chs []chan asyncJoin
		for range 3 {
			chs = append(chs, e.joinAsync(joinReq("")))
		}
		for _, ch := range chs {
			j := recv(t, ch)
			if j.err != nil || j.res.Generation != 1 {
				t.Fatalf("%+v", j)
			}
		}
	})
}

func TestCloseFailsParkedRequests(t *testing.T) {
	e := newEnv(t, nil)
	a := e.joinFull(joinReq(""))
	_ = a
	ch := e.joinAsync(joinReq("")) // parks: a has not rejoined
	waitFor(t, "preparing", func() bool { return e.describe("g").State == PreparingRebalance })
	e.close()
	if j := recv(t, ch); !errors.Is(j.err, ErrCoordinatorNotAvailable) {
		t.Fatalf("parked join after close: %v", j.err)
	}
}

func TestConcurrentGroupsCommit(t *testing.T) {
	e := newEnv(t, nil)
	var wg sync.WaitGroup
	for g := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 10 {
				errs, err := e.c.Commit(ctx(t), CommitRequest{Group: fmt.Sprint("g", g), Generation: -1, Offsets: []CommitOffset{{Topic: "t", Partition: int32(i % 6), Offset: int64(i)}}})
				if err != nil || errs[0] != nil {
					t.Error(errs, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	e.reopen()
	for g := range 20 {
		got, _ := e.c.Fetch(ctx(t), fmt.Sprint("g", g), nil)
		if len(got) != 6 || got[3].Offset != 9 {
			t.Fatalf("group %d: %v", g, got)
		}
	}
}

// TestPendingMemberExpiresAcrossRebalances: a member id handed out by a
// KIP-394 join and never used holds a rebalance only until its session
// timeout, and later rebalances not at all.
// It runs in a synctest bubble: the coordinator's timers use the bubble's
// clock, so the timeout fires exactly when due, whatever the machine's load.
func TestPendingMemberExpiresAcrossRebalances(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, nil)
		a := e.joinFull(joinReq(""))
		if _, err := e.sync(a, nil); err != nil {
			t.Fatal(err)
		}
		// A v4 client gets its member id and never comes back.
		r := joinReq("")
		r.SessionTimeout = 100 * time.Millisecond
		if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrMemberIDRequired) {
			t.Fatal(err)
		}
		// The group moves on (a rejoins with new metadata: a rebalance). The
		// pending id blocks completion only until its session timeout.
		ra := joinReq(a.MemberID)
		ra.Protocols[0].Metadata = consumerMeta("t", "u")
		start := time.Now()
		j := e.joinFull(ra)
		if j.Generation != a.Generation+1 {
			t.Fatalf("%+v", j)
		}
		if el := time.Since(start); el != 100*time.Millisecond {
			t.Fatalf("rebalance waited %v for an abandoned pending member, want exactly its 100ms session timeout", el)
		}
		if _, err := e.sync(j, nil); err != nil {
			t.Fatal(err)
		}
		// Later rebalances are not held up either.
		ra.Protocols[0].Metadata = consumerMeta("t")
		ra.MemberID = j.MemberID
		start = time.Now()
		e.joinFull(ra)
		if el := time.Since(start); el != 0 {
			t.Fatalf("second rebalance waited %v, want no wait", el)
		}
	})
}

func TestOffsetsOfDeletedTopicsAreDropped(t *testing.T) {
	e := newEnv(t, nil)
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{{Topic: "t", Offset: 5}, {Topic: "u", Offset: 6}}})
	if err != nil || errs[0] != nil || errs[1] != nil {
		t.Fatal(errs, err)
	}
	// "t" is deleted and created again (a new topic id); "u" is deleted.
	e.topics.mu.Lock()
	e.topics.gen["t"]++
	delete(e.topics.parts, "u")
	e.topics.mu.Unlock()
	got, err := e.c.Fetch(ctx(t), "g", []TopicPartitions{{Topic: "t", Partitions: []int32{0}}, {Topic: "u", Partitions: []int32{0}}})
	if err != nil || got[0].Offset != -1 || got[1].Offset != -1 {
		t.Fatalf("offsets of an old incarnation visible: %v %v", got, err)
	}
	if all, _ := e.c.Fetch(ctx(t), "g", nil); len(all) != 0 {
		t.Fatalf("fetch all: %v", all)
	}
	if err := e.c.ExpireOffsets(ctx(t)); err != nil {
		t.Fatal(err)
	}
	e.reopen()
	if ls, _ := e.c.List(ctx(t), nil, nil); len(ls) != 0 {
		t.Fatalf("group with only stale offsets survived the sweep: %v", ls)
	}
	// A commit for the new incarnation is visible.
	errs, err = e.c.Commit(ctx(t), CommitRequest{Group: "g", Generation: -1, Offsets: []CommitOffset{{Topic: "t", Offset: 1}}})
	if err != nil || errs[0] != nil {
		t.Fatal(errs, err)
	}
	if got, _ := e.c.Fetch(ctx(t), "g", nil); len(got) != 1 || got[0].Offset != 1 {
		t.Fatalf("new commit: %v", got)
	}
}

func TestOverlongGroupID(t *testing.T) {
	e := newEnv(t, nil)
	long := string(make([]byte, MaxGroupIDLength+1))
	r := joinReq("")
	r.Group = long
	if _, err := e.c.Join(ctx(t), r); !errors.Is(err, ErrInvalidGroupID) {
		t.Fatalf("join: %v", err)
	}
	errs, err := e.c.Commit(ctx(t), CommitRequest{Group: long, Generation: -1, Offsets: []CommitOffset{{Topic: "t"}}})
	if err != nil || !errors.Is(errs[0], ErrInvalidGroupID) {
		t.Fatalf("commit: %v %v", errs, err)
	}
}
