package group

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestChurnConverges runs clients that behave like real consumers (two-step
// join, leader assignment, sync, heartbeats, rejoin on
// REBALANCE_IN_PROGRESS, fresh join on UNKNOWN_MEMBER_ID) while they
// randomly leave, go silent past their session timeout and come back. Every
// SyncGroup answer must be exactly what that generation's leader assigned
// to that member; after the churn stops the group must converge to one
// Stable generation holding every client. Two clients are static members
// that also restart (rejoin by instance id without their member id).
// EDDY_LONG=1 churns for 5 minutes (of the bubble's clock).
//
// It runs in a synctest bubble: heartbeats, silences past the session
// timeout and the churn period are on the bubble's clock, so the coordinator's
// timers fire exactly when due whatever the machine's load, and the churn
// takes no wall time beyond the work itself.
func TestChurnConverges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		churn := 10 * time.Second
		if os.Getenv("EDDY_LONG") != "" {
			churn = 5 * time.Minute
		}
		e := newEnv(t, nil)
		const n = 6
		var stopChurn atomic.Bool
		var wrong atomic.Int64
		type status struct {
			mu     sync.Mutex
			member string
			gen    int32
			stable bool
		}
		sts := make([]*status, n)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var wg sync.WaitGroup
		for i := range n {
			sts[i] = &status{}
			wg.Add(1)
			go func() {
				defer wg.Done()
				st := sts[i]
				rng := rand.New(rand.NewPCG(uint64(i), 7))
				member := ""
				instance := "" // clients 0 and 1 are static members
				if i < 2 {
					instance = fmt.Sprint("static-", i)
				}
				label := func() string {
					if instance != "" {
						return instance
					}
					return member
				}
				set := func(stable bool, gen int32) {
					st.mu.Lock()
					st.member, st.gen, st.stable = member, gen, stable
					st.mu.Unlock()
				}
				for ctx.Err() == nil {
					set(false, 0)
					req := JoinRequest{Group: "churn", MemberID: member, InstanceID: instance, ClientID: "c", ProtocolType: "consumer",
						Protocols:      []Protocol{{Name: "range", Metadata: consumerMeta("t")}},
						SessionTimeout: 500 * time.Millisecond, RebalanceTimeout: time.Second, RequireKnownMemberID: true}
					res, err := e.c.Join(ctx, req)
					switch {
					case errors.Is(err, ErrMemberIDRequired):
						member = res.MemberID
						continue
					case errors.Is(err, ErrUnknownMember):
						member = ""
						continue
					case err != nil:
						time.Sleep(10 * time.Millisecond)
						continue
					}
					member = res.MemberID
					var assign map[string][]byte
					if res.LeaderID == member {
						assign = map[string][]byte{}
						for _, m := range res.Members {
							l := m.MemberID
							if m.InstanceID != "" {
								l = m.InstanceID
							}
							assign[m.MemberID] = []byte(l + "@" + string(rune('0'+res.Generation%10)))
						}
					}
					sr, err := e.c.Sync(ctx, SyncRequest{Group: "churn", MemberID: member, InstanceID: instance, Generation: res.Generation, Assignments: assign})
					if errors.Is(err, ErrUnknownMember) || errors.Is(err, ErrFencedInstanceID) {
						member = ""
						continue
					}
					if err != nil {
						continue
					}
					if string(sr.Assignment) != label()+"@"+string(rune('0'+res.Generation%10)) {
						wrong.Add(1)
						t.Errorf("member %s gen %d got assignment %q", member, res.Generation, sr.Assignment)
					}
					set(true, res.Generation)
				beat:
					for ctx.Err() == nil {
						time.Sleep(50 * time.Millisecond)
						if !stopChurn.Load() {
							switch r := rng.IntN(100); {
							case r < 3:
								_, _ = e.c.Leave(ctx, "churn", []LeaveMember{{MemberID: member, InstanceID: instance}})
								member = ""
								break beat
							case r < 5:
								set(false, 0)
								time.Sleep(700 * time.Millisecond) // past the session timeout
							case r < 7 && instance != "":
								// A static member restarts: it rejoins with its
								// instance id and no member id, replacing itself.
								member = ""
								break beat
							}
						}
						err := e.c.Heartbeat(ctx, "churn", member, instance, res.Generation)
						switch {
						case err == nil:
						case errors.Is(err, ErrUnknownMember), errors.Is(err, ErrFencedInstanceID):
							member = ""
							break beat
						default: // rebalance in progress, illegal generation
							break beat
						}
					}
				}
			}()
		}
		time.Sleep(churn)
		stopChurn.Store(true)
		waitFor(t, "convergence to one stable generation with every client", func() bool {
			var gen int32
			ids := map[string]bool{}
			for _, st := range sts {
				st.mu.Lock()
				ok, g, m := st.stable, st.gen, st.member
				st.mu.Unlock()
				if !ok || (gen != 0 && g != gen) {
					return false
				}
				gen = g
				ids[m] = true
			}
			d := e.describe("churn")
			if d.State != Stable || d.Generation != gen || len(d.Members) != n {
				return false
			}
			for _, m := range d.Members {
				if !ids[m.MemberID] {
					return false
				}
			}
			return true
		})
		cancel()
		wg.Wait()
		if wrong.Load() > 0 {
			t.Fatalf("%d wrong assignments", wrong.Load())
		}
		t.Logf("converged at generation %d", e.describe("churn").Generation)
	})
}
