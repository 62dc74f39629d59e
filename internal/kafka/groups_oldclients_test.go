package kafka_test

import (
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/kafka"
)

// TestGroupOldClientVersions drives a group with the fixed old versions of
// kafka-python 2.0.2 (FindCoordinator v0, JoinGroup v1, SyncGroup,
// Heartbeat and LeaveGroup v0-1, OffsetCommit v2, OffsetFetch v1) and
// librdkafka (JoinGroup, SyncGroup, Heartbeat, LeaveGroup v0, OffsetCommit
// v1), on raw connections so the versions are exactly these.
func TestGroupOldClientVersions(t *testing.T) {
	srv := startGroupServer(t)
	if _, err := srv.Broker.CreateTopic("old", 2, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct {
		name                          string
		join, sync, hb, leave, commit int16
	}{
		{"kafka-python", 1, 1, 1, 1, 2},
		{"librdkafka", 0, 0, 0, 0, 1},
	} {
		t.Run(v.name, func(t *testing.T) {
			c := dialRaw(t, srv.Addr)
			g := "old-" + v.name

			fc := kmsg.NewPtrFindCoordinatorRequest()
			fc.CoordinatorKey = g
			fr := c.roundTrip(fc, 0).(*kmsg.FindCoordinatorResponse)
			if fr.ErrorCode != 0 || fr.NodeID != kafka.NodeID || fr.Port <= 0 {
				t.Fatalf("find coordinator v0: %+v", fr)
			}

			meta := (&kmsg.ConsumerMemberMetadata{Topics: []string{"old"}}).AppendTo(nil)
			join := func(member string) *kmsg.JoinGroupResponse {
				jg := kmsg.NewPtrJoinGroupRequest()
				jg.Group, jg.MemberID, jg.ProtocolType = g, member, "consumer"
				jg.SessionTimeoutMillis, jg.RebalanceTimeoutMillis = 10000, 10000
				jg.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta}}
				return c.roundTrip(jg, v.join).(*kmsg.JoinGroupResponse)
			}
			jr := join("") // before v4 the first join joins at once
			if jr.ErrorCode != 0 || jr.MemberID == "" || jr.LeaderID != jr.MemberID || jr.Generation != 1 || len(jr.Members) != 1 || jr.Protocol == nil || *jr.Protocol != "range" {
				t.Fatalf("join v%d: %+v", v.join, jr)
			}
			me, gen := jr.MemberID, jr.Generation

			assign := (&kmsg.ConsumerMemberAssignment{Topics: []kmsg.ConsumerMemberAssignmentTopic{{Topic: "old", Partitions: []int32{0, 1}}}}).AppendTo(nil)
			sg := kmsg.NewPtrSyncGroupRequest()
			sg.Group, sg.MemberID, sg.Generation = g, me, gen
			sg.GroupAssignment = []kmsg.SyncGroupRequestGroupAssignment{{MemberID: me, MemberAssignment: assign}}
			sr := c.roundTrip(sg, v.sync).(*kmsg.SyncGroupResponse)
			if sr.ErrorCode != 0 || string(sr.MemberAssignment) != string(assign) {
				t.Fatalf("sync v%d: %+v", v.sync, sr)
			}

			hb := kmsg.NewPtrHeartbeatRequest()
			hb.Group, hb.MemberID, hb.Generation = g, me, gen
			if r := c.roundTrip(hb, v.hb).(*kmsg.HeartbeatResponse); r.ErrorCode != 0 {
				t.Fatalf("heartbeat v%d: %+v", v.hb, r)
			}
			hb.Generation = gen + 5
			if r := c.roundTrip(hb, v.hb).(*kmsg.HeartbeatResponse); r.ErrorCode != kerr.IllegalGeneration.Code {
				t.Fatalf("stale heartbeat v%d: %+v", v.hb, r)
			}

			oc := kmsg.NewPtrOffsetCommitRequest()
			oc.Group, oc.MemberID, oc.Generation = g, me, gen
			oc.RetentionTimeMillis = -1
			oc.Topics = []kmsg.OffsetCommitRequestTopic{{Topic: "old", Partitions: []kmsg.OffsetCommitRequestTopicPartition{
				{Partition: 0, Offset: 7, Metadata: kmsg.StringPtr("m0")},
				{Partition: 1, Offset: 9},
			}}}
			ocr := c.roundTrip(oc, v.commit).(*kmsg.OffsetCommitResponse)
			for _, p := range ocr.Topics[0].Partitions {
				if p.ErrorCode != 0 {
					t.Fatalf("commit v%d: %+v", v.commit, ocr)
				}
			}

			of := kmsg.NewPtrOffsetFetchRequest()
			of.Group = g
			of.Topics = []kmsg.OffsetFetchRequestTopic{{Topic: "old", Partitions: []int32{0, 1}}}
			ofr := c.roundTrip(of, 1).(*kmsg.OffsetFetchResponse)
			if len(ofr.Topics) != 1 || len(ofr.Topics[0].Partitions) != 2 {
				t.Fatalf("fetch v1: %+v", ofr)
			}
			p0, p1 := ofr.Topics[0].Partitions[0], ofr.Topics[0].Partitions[1]
			if p0.Offset != 7 || p0.Metadata == nil || *p0.Metadata != "m0" || p1.Offset != 9 || p0.ErrorCode != 0 {
				t.Fatalf("fetch v1: %+v", ofr.Topics[0].Partitions)
			}

			lg := kmsg.NewPtrLeaveGroupRequest()
			lg.Group, lg.MemberID = g, me
			if r := c.roundTrip(lg, v.leave).(*kmsg.LeaveGroupResponse); r.ErrorCode != 0 {
				t.Fatalf("leave v%d: %+v", v.leave, r)
			}
			if r := c.roundTrip(lg, v.leave).(*kmsg.LeaveGroupResponse); r.ErrorCode != kerr.UnknownMemberID.Code {
				t.Fatalf("second leave v%d: %+v", v.leave, r)
			}
			// Offsets outlive the members.
			ofr = c.roundTrip(of, 1).(*kmsg.OffsetFetchResponse)
			if ofr.Topics[0].Partitions[0].Offset != 7 {
				t.Fatalf("fetch after leave: %+v", ofr)
			}
			// Describe v0 shows an Empty consumer group.
			dg := kmsg.NewPtrDescribeGroupsRequest()
			dg.Groups = []string{g, "nobody"}
			dr := c.roundTrip(dg, 0).(*kmsg.DescribeGroupsResponse)
			if dr.Groups[0].State != "Empty" || dr.Groups[0].ProtocolType != "consumer" || dr.Groups[1].State != "Dead" || dr.Groups[1].ErrorCode != 0 {
				t.Fatalf("describe v0: %+v", dr)
			}
		})
	}
}

// TestJoinParksUntilRebalanceCompletes checks the KIP-394 path and a second
// member's join parking until the first rejoins, on raw v4+ requests.
func TestJoinParksUntilRebalanceCompletes(t *testing.T) {
	srv := startGroupServer(t)
	a, b := dialRaw(t, srv.Addr), dialRaw(t, srv.Addr)
	meta := (&kmsg.ConsumerMemberMetadata{Topics: []string{"x"}}).AppendTo(nil)
	mk := func(member string) *kmsg.JoinGroupRequest {
		jg := kmsg.NewPtrJoinGroupRequest()
		jg.Group, jg.MemberID, jg.ProtocolType = "park", member, "consumer"
		jg.SessionTimeoutMillis, jg.RebalanceTimeoutMillis = 10000, 10000
		jg.Protocols = []kmsg.JoinGroupRequestProtocol{{Name: "range", Metadata: meta}}
		return jg
	}
	join2 := func(c *rawConn) *kmsg.JoinGroupResponse {
		r := c.roundTrip(mk(""), 7).(*kmsg.JoinGroupResponse)
		if r.ErrorCode != kerr.MemberIDRequired.Code || r.MemberID == "" {
			t.Fatalf("first join: %+v", r)
		}
		return c.roundTrip(mk(r.MemberID), 7).(*kmsg.JoinGroupResponse)
	}
	ra := join2(a)
	if ra.ErrorCode != 0 || ra.Generation != 1 {
		t.Fatalf("a: %+v", ra)
	}
	// b's second join parks until a rejoins.
	first := b.roundTrip(mk(""), 7).(*kmsg.JoinGroupResponse)
	corr := b.send(mk(first.MemberID), 7)
	hb := kmsg.NewPtrHeartbeatRequest()
	hb.Group, hb.MemberID, hb.Generation = "park", ra.MemberID, ra.Generation
	deadline := time.Now().Add(10 * time.Second)
	for {
		r := a.roundTrip(hb, 4).(*kmsg.HeartbeatResponse)
		if r.ErrorCode == kerr.RebalanceInProgress.Code {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat never reported the rebalance: %+v", r)
		}
		time.Sleep(10 * time.Millisecond)
	}
	ra2 := a.roundTrip(mk(ra.MemberID), 7).(*kmsg.JoinGroupResponse)
	rb := b.read(mk(first.MemberID), 7, corr).(*kmsg.JoinGroupResponse)
	if ra2.ErrorCode != 0 || rb.ErrorCode != 0 || ra2.Generation != 2 || rb.Generation != 2 || ra2.LeaderID != ra.MemberID || len(ra2.Members) != 2 || len(rb.Members) != 0 {
		t.Fatalf("rebalance: a %+v b %+v", ra2, rb)
	}
}
