package group

import (
	"bytes"
	"context"
	"sort"
	"time"
)

// JoinRequest is a JoinGroup request in domain terms.
type JoinRequest struct {
	Group      string
	MemberID   string // "" on a first join
	InstanceID string // group.instance.id; "" for dynamic members
	ClientID   string
	ClientHost string

	ProtocolType     string
	Protocols        []Protocol
	SessionTimeout   time.Duration
	RebalanceTimeout time.Duration

	// RequireKnownMemberID is set for JoinGroup v4+: a dynamic member
	// joining without an id first gets ErrMemberIDRequired (KIP-394).
	RequireKnownMemberID bool
	// SupportsSkipAssignment is set for JoinGroup v9+ (KIP-814).
	SupportsSkipAssignment bool
}

// MemberMetadata is one member's metadata for the selected protocol, sent
// to the leader.
type MemberMetadata struct {
	MemberID   string
	InstanceID string
	Metadata   []byte
}

// JoinResult is a JoinGroup answer. With ErrMemberIDRequired only MemberID
// is set.
type JoinResult struct {
	Generation     int32
	ProtocolType   string
	Protocol       string
	LeaderID       string
	MemberID       string
	Members        []MemberMetadata // leader only
	SkipAssignment bool
}

type joinOutcome struct {
	res JoinResult
	err error
}

type syncOutcome struct {
	assignment   []byte
	protocolType string
	protocol     string
	err          error
}

// Join handles JoinGroup. It parks until the rebalance completes, ctx ends
// or the coordinator closes.
func (c *Coordinator) Join(ctx context.Context, req JoinRequest) (JoinResult, error) {
	if req.Group == "" || len(req.Group) > MaxGroupIDLength {
		return JoinResult{}, ErrInvalidGroupID
	}
	if req.SessionTimeout < c.cfg.MinSessionTimeout || req.SessionTimeout > c.cfg.MaxSessionTimeout {
		return JoinResult{}, ErrInvalidSessionTimeout
	}
	if req.RebalanceTimeout <= 0 { // JoinGroup v0 has none: Kafka uses the session timeout
		req.RebalanceTimeout = req.SessionTimeout
	}
	reply := make(chan joinOutcome, 1)
	// As Kafka, only a join without a member id creates a group.
	err := c.withGroup(ctx, req.Group, req.MemberID == "", func(g *group) {
		if g == nil {
			reply <- joinOutcome{err: ErrUnknownMember}
			return
		}
		g.join(req, reply)
		g.dropIfUnused()
	})
	if err != nil {
		return JoinResult{}, err
	}
	select {
	case o := <-reply:
		return o.res, o.err
	case <-ctx.Done():
		return JoinResult{}, ctx.Err()
	}
}

func (g *group) join(req JoinRequest, reply chan joinOutcome) {
	fail := func(err error) { reply <- joinOutcome{err: err} }
	if g.state == Dead {
		fail(ErrCoordinatorNotAvailable)
		return
	}
	if !g.supportsProtocols(req.ProtocolType, req.Protocols) {
		fail(ErrInconsistentProtocol)
		return
	}
	if req.MemberID == "" {
		if req.InstanceID != "" {
			if old, ok := g.static[req.InstanceID]; ok && g.members[old] != nil {
				g.replaceStatic(g.members[old], req, reply)
				return
			}
		}
		if max := g.c.cfg.MaxGroupSize; max > 0 && len(g.members)+len(g.pending) >= max {
			fail(ErrGroupMaxSizeReached)
			return
		}
		prefix := req.ClientID
		if req.InstanceID != "" {
			prefix = req.InstanceID
		}
		id := newMemberID(prefix)
		if req.InstanceID == "" && req.RequireKnownMemberID {
			m := &member{id: id, session: req.SessionTimeout}
			g.pending[id] = m
			// Not g.after: a pending id expires after its session timeout
			// whatever phase the group has moved to since.
			m.timer = time.AfterFunc(req.SessionTimeout, func() {
				g.post(func() {
					if g.pending[id] == m {
						delete(g.pending, id)
						g.maybeCompleteJoin()
					}
				})
			})
			reply <- joinOutcome{res: JoinResult{MemberID: id}, err: ErrMemberIDRequired}
			return
		}
		g.addMember(&member{id: id}, req, reply)
		return
	}

	if req.InstanceID != "" {
		known, ok := g.static[req.InstanceID]
		if !ok {
			fail(ErrUnknownMember)
			return
		}
		if known != req.MemberID {
			fail(ErrFencedInstanceID)
			return
		}
	}
	if p, ok := g.pending[req.MemberID]; ok {
		if p.timer != nil {
			p.timer.Stop()
		}
		delete(g.pending, req.MemberID)
		g.addMember(&member{id: req.MemberID}, req, reply)
		return
	}
	m, ok := g.members[req.MemberID]
	if !ok {
		fail(ErrUnknownMember)
		return
	}
	switch g.state {
	case PreparingRebalance:
		g.updateMember(m, req, reply)
		g.maybeCompleteJoin()
	case CompletingRebalance:
		if m.sameProtocols(req.Protocols) {
			// A retried join: answer with the current generation.
			m.updateTimeouts(req)
			reply <- joinOutcome{res: g.joinResult(m.id, g.leader == m.id)}
			return
		}
		g.updateMember(m, req, reply)
		g.prepareRebalance()
	case Stable:
		if g.leader == m.id || !m.sameProtocols(req.Protocols) {
			g.updateMember(m, req, reply)
			g.prepareRebalance()
			return
		}
		m.updateTimeouts(req)
		reply <- joinOutcome{res: g.joinResult(m.id, false)}
	default:
		fail(ErrUnknownMember)
	}
}

// dropIfUnused forgets a group that a failed first join created and left
// with nothing: no members, no pending ids, no offsets, no history.
func (g *group) dropIfUnused() {
	if g.state == Empty && g.generation == 0 && len(g.members) == 0 && len(g.pending) == 0 && len(g.offsets) == 0 {
		g.kill()
	}
}

// supportsProtocols reports whether a joining member fits the group, as
// Kafka's GroupMetadata.supportsProtocols: an empty group takes any
// non-empty protocol type and list; otherwise the type must match and one
// protocol must be supported by every member.
func (g *group) supportsProtocols(ptype string, ps []Protocol) bool {
	if ptype == "" || len(ps) == 0 {
		return false
	}
	if len(g.members) == 0 {
		return true
	}
	if ptype != g.protocolType {
		return false
	}
	for _, p := range ps {
		if g.supportedByAll(p.Name, nil) {
			return true
		}
	}
	return false
}

// supportedByAll reports whether every member (except skip) lists name.
func (g *group) supportedByAll(name string, skip *member) bool {
	for _, m := range g.members {
		if m == skip {
			continue
		}
		found := false
		for _, p := range m.protocols {
			if p.Name == name {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (m *member) sameProtocols(ps []Protocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i := range ps {
		if ps[i].Name != m.protocols[i].Name || !bytes.Equal(ps[i].Metadata, m.protocols[i].Metadata) {
			return false
		}
	}
	return true
}

func (m *member) updateTimeouts(req JoinRequest) {
	m.session = req.SessionTimeout
	m.rebalance = req.RebalanceTimeout
}

func (g *group) addMember(m *member, req JoinRequest, reply chan joinOutcome) {
	m.instanceID = req.InstanceID
	m.clientID = req.ClientID
	m.host = req.ClientHost
	if len(g.members) == 0 {
		g.protocolType = req.ProtocolType
	}
	g.members[m.id] = m
	if m.instanceID != "" {
		g.static[m.instanceID] = m.id
	}
	if g.leader == "" {
		g.leader = m.id
	}
	g.updateMember(m, req, reply)
	g.touch(m)
	g.prepareRebalance()
}

func (g *group) updateMember(m *member, req JoinRequest, reply chan joinOutcome) {
	m.protocolType = req.ProtocolType
	m.protocols = append([]Protocol(nil), req.Protocols...)
	m.updateTimeouts(req)
	m.clientID, m.host = req.ClientID, req.ClientHost
	m.supportsSkip = req.SupportsSkipAssignment
	if m.joinReply != nil && m.joinReply != reply {
		// A second join from the same member supersedes the first; Kafka
		// answers the first with UNKNOWN_MEMBER_ID.
		m.joinReply <- joinOutcome{err: ErrUnknownMember}
	}
	m.joinReply = reply
}

// replaceStatic handles a static member rejoining without its member id
// (KIP-345): the old id is fenced and the new one takes over its assignment.
func (g *group) replaceStatic(old *member, req JoinRequest, reply chan joinOutcome) {
	id := newMemberID(req.InstanceID)
	oldID := old.id
	m := &member{
		id: id, instanceID: req.InstanceID,
		assignment: old.assignment,
	}
	if old.joinReply != nil {
		old.joinReply <- joinOutcome{err: ErrFencedInstanceID}
		old.joinReply = nil
	}
	if old.syncReply != nil {
		old.syncReply <- syncOutcome{err: ErrFencedInstanceID}
		old.syncReply = nil
	}
	if old.timer != nil {
		old.timer.Stop()
	}
	delete(g.members, oldID)
	if g.pendingSync[oldID] {
		delete(g.pendingSync, oldID)
		g.pendingSync[id] = true
	}
	g.members[id] = m
	g.static[req.InstanceID] = id
	wasLeader := g.leader == oldID
	if wasLeader {
		g.leader = id
	}
	m.clientID, m.host = req.ClientID, req.ClientHost
	m.protocolType = req.ProtocolType
	m.protocols = append([]Protocol(nil), req.Protocols...)
	m.updateTimeouts(req)
	g.touch(m)
	g.c.log.Info("static member replaced", "group", g.name, "instance", req.InstanceID, "old", oldID, "new", id)

	switch g.state {
	case Stable:
		if g.selectProtocol() == g.protocol {
			res := g.joinResult(id, false)
			if req.SupportsSkipAssignment && wasLeader {
				// KIP-814: the leader learns it leads but must not
				// reassign; it re-sends nothing and syncs as a follower.
				res = g.joinResult(id, true)
				res.SkipAssignment = true
			} else if wasLeader {
				// Before v9 the old leader id is returned so the restarted
				// leader does not run a trivial assignment a stable group
				// would never deliver.
				res.LeaderID = oldID
			}
			g.persistGroup() // the new member id replaces the old one durably
			reply <- joinOutcome{res: res}
			return
		}
		m.joinReply = reply
		m.supportsSkip = req.SupportsSkipAssignment
		g.prepareRebalance()
	case CompletingRebalance:
		m.joinReply = reply
		m.supportsSkip = req.SupportsSkipAssignment
		g.prepareRebalance()
	case PreparingRebalance:
		m.joinReply = reply
		m.supportsSkip = req.SupportsSkipAssignment
		g.maybeCompleteJoin()
	default:
		reply <- joinOutcome{err: ErrUnknownMember}
	}
}

// joinResult fills the JoinGroup answer for id; members are included for
// the leader.
func (g *group) joinResult(id string, withMembers bool) JoinResult {
	res := JoinResult{
		Generation:   g.generation,
		ProtocolType: g.protocolType,
		Protocol:     g.protocol,
		LeaderID:     g.leader,
		MemberID:     id,
	}
	if withMembers {
		for _, mid := range g.sortedMemberIDs() {
			m := g.members[mid]
			res.Members = append(res.Members, MemberMetadata{
				MemberID: m.id, InstanceID: m.instanceID, Metadata: m.metadataFor(g.protocol),
			})
		}
	}
	return res
}

func (m *member) metadataFor(protocol string) []byte {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata
		}
	}
	return nil
}

// prepareRebalance moves the group to PreparingRebalance, bouncing parked
// SyncGroups, and arms the rebalance timeout.
func (g *group) prepareRebalance() {
	if g.state == CompletingRebalance {
		for _, m := range g.members {
			m.assignment = nil
			if m.syncReply != nil {
				m.syncReply <- syncOutcome{err: ErrRebalanceInProgress}
				m.syncReply = nil
			}
		}
	}
	g.clearPendingSync()
	wasEmpty := g.state == Empty
	if g.state == PreparingRebalance {
		g.maybeCompleteJoin()
		return
	}
	g.state = PreparingRebalance
	g.timerGen++
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	timeout := g.maxRebalanceTimeout()
	if delay := g.c.cfg.InitialRebalanceDelay; wasEmpty && delay > 0 {
		g.initialDelay = true
		if delay > timeout {
			delay = timeout
		}
		start := g.now()
		g.rebalanceTimer = g.after(delay, func() { g.initialDelayDone(start, delay) })
		return
	}
	g.rebalanceTimer = g.after(timeout, g.completeJoin)
	g.maybeCompleteJoin()
}

// initialDelayDone ends the delayed first rebalance, as Kafka's
// InitialDelayedJoin: it waits again while members keep arriving, up to the
// rebalance timeout, then completes with whoever joined.
func (g *group) initialDelayDone(start time.Time, delay time.Duration) {
	g.initialDelay = false
	g.timerGen++
	remaining := g.maxRebalanceTimeout() - g.now().Sub(start)
	if remaining <= 0 {
		g.completeJoin()
		return
	}
	g.rebalanceTimer = g.after(remaining, g.completeJoin)
	g.maybeCompleteJoin()
}

func (g *group) maxRebalanceTimeout() time.Duration {
	var d time.Duration
	for _, m := range g.members {
		if m.rebalance > d {
			d = m.rebalance
		}
	}
	if d <= 0 {
		d = time.Second
	}
	return d
}

// maybeCompleteJoin completes the join phase when every member has rejoined
// and no KIP-394 pending member is still expected.
func (g *group) maybeCompleteJoin() {
	if g.state != PreparingRebalance || g.initialDelay {
		return
	}
	for _, m := range g.members {
		if m.joinReply == nil {
			return
		}
	}
	if len(g.pending) > 0 {
		return
	}
	g.completeJoin()
}

// completeJoin ends the join phase: members that did not rejoin are
// removed, the generation advances, a protocol and leader are chosen and
// every parked JoinGroup is answered.
func (g *group) completeJoin() {
	if g.state != PreparingRebalance {
		return
	}
	g.initialDelay = false
	g.timerGen++
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
		g.rebalanceTimer = nil
	}
	for _, m := range g.members {
		if m.joinReply == nil {
			g.removeMember(m)
		}
	}
	g.generation++
	g.c.metrics.rebalance()
	if len(g.members) == 0 {
		g.state = Empty
		g.protocol = ""
		g.leader = ""
		g.emptySince = g.now()
		g.persistGroup()
		g.c.log.Info("group empty", "group", g.name, "generation", g.generation)
		return
	}
	g.state = CompletingRebalance
	g.protocol = g.selectProtocol()
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.sortedMemberIDs()[0]
	}
	g.persistGroup()
	g.c.log.Info("group rebalanced", "group", g.name, "generation", g.generation,
		"members", len(g.members), "protocol", g.protocol, "leader", g.leader)

	g.pendingSync = make(map[string]bool, len(g.members))
	for id, m := range g.members {
		g.pendingSync[id] = true
		res := g.joinResult(id, id == g.leader)
		m.joinReply <- joinOutcome{res: res}
		m.joinReply = nil
		g.touch(m)
	}
	gen := g.generation
	g.syncTimer = g.after(g.maxRebalanceTimeout(), func() { g.pendingSyncExpired(gen) })
}

// pendingSyncExpired removes members that never sent SyncGroup after the
// join phase and rebalances, as Kafka does since KAFKA-13587.
func (g *group) pendingSyncExpired(gen int32) {
	if g.generation != gen || len(g.pendingSync) == 0 {
		return
	}
	if g.state != CompletingRebalance && g.state != Stable {
		return
	}
	for id := range g.pendingSync {
		if m := g.members[id]; m != nil {
			g.removeMember(m)
		}
	}
	g.pendingSync = nil
	g.memberLeft()
}

func (g *group) clearPendingSync() {
	g.pendingSync = nil
	if g.syncTimer != nil {
		g.syncTimer.Stop()
		g.syncTimer = nil
	}
}

// selectProtocol picks the protocol every member supports that gets the
// most first-choice votes (Kafka's GroupMetadata.selectProtocol); ties go
// to the leader's preference order.
func (g *group) selectProtocol() string {
	votes := map[string]int{}
	for _, m := range g.members {
		for _, p := range m.protocols {
			if g.supportedByAll(p.Name, nil) {
				votes[p.Name]++
				break
			}
		}
	}
	var order []Protocol
	if l := g.members[g.leader]; l != nil {
		order = l.protocols
	} else {
		order = g.members[g.sortedMemberIDs()[0]].protocols
	}
	best, bestVotes := "", 0
	for _, p := range order {
		if v := votes[p.Name]; v > bestVotes {
			best, bestVotes = p.Name, v
		}
	}
	return best
}

func (g *group) sortedMemberIDs() []string {
	ids := make([]string, 0, len(g.members))
	for id := range g.members {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// removeMember drops m without changing the group state; a parked join or
// sync is answered with UNKNOWN_MEMBER_ID.
func (g *group) removeMember(m *member) {
	if m.timer != nil {
		m.timer.Stop()
	}
	if m.joinReply != nil {
		m.joinReply <- joinOutcome{err: ErrUnknownMember}
		m.joinReply = nil
	}
	if m.syncReply != nil {
		m.syncReply <- syncOutcome{err: ErrUnknownMember}
		m.syncReply = nil
	}
	delete(g.members, m.id)
	delete(g.pendingSync, m.id)
	if m.instanceID != "" && g.static[m.instanceID] == m.id {
		delete(g.static, m.instanceID)
	}
	if g.leader == m.id {
		g.leader = ""
		for _, id := range g.sortedMemberIDs() {
			g.leader = id
			break
		}
	}
}

// memberLeft reacts to a member removal as Kafka's removeMemberAndUpdateGroup.
func (g *group) memberLeft() {
	switch g.state {
	case Stable, CompletingRebalance:
		g.prepareRebalance()
	case PreparingRebalance:
		g.maybeCompleteJoin()
	}
}

// touch records a sign of life from m and (re)arms its session timer.
func (g *group) touch(m *member) {
	m.lastSeen = g.now()
	if m.timer != nil {
		m.timer.Stop()
	}
	m.timer = g.sessionTimer(m, m.session)
}

func (g *group) sessionTimer(m *member, d time.Duration) *time.Timer {
	return time.AfterFunc(d, func() {
		g.post(func() { g.sessionCheck(m) })
	})
}

// sessionCheck expires m when its session timeout passed without a sign of
// life. Members parked in JoinGroup or SyncGroup are kept alive (Kafka's
// shouldKeepAlive); the rebalance and pending-sync timeouts bound them.
func (g *group) sessionCheck(m *member) {
	if g.members[m.id] != m || g.state == Dead {
		return
	}
	if m.joinReply != nil || m.syncReply != nil {
		m.timer = g.sessionTimer(m, m.session)
		return
	}
	if left := m.session - g.now().Sub(m.lastSeen); left > 0 {
		m.timer = g.sessionTimer(m, left)
		return
	}
	g.c.log.Info("member session expired", "group", g.name, "member", m.id)
	g.removeMember(m)
	g.memberLeft()
}

// SyncRequest is a SyncGroup request in domain terms.
type SyncRequest struct {
	Group        string
	MemberID     string
	InstanceID   string
	Generation   int32
	ProtocolType string // "" when the request version has none
	Protocol     string // "" when the request version has none
	// Assignments is the leader's assignment per member id.
	Assignments map[string][]byte
}

// SyncResult is a SyncGroup answer.
type SyncResult struct {
	ProtocolType string
	Protocol     string
	Assignment   []byte
}

// Sync handles SyncGroup. Followers park until the leader's assignment
// arrives.
func (c *Coordinator) Sync(ctx context.Context, req SyncRequest) (SyncResult, error) {
	if req.Group == "" {
		return SyncResult{}, ErrInvalidGroupID
	}
	reply := make(chan syncOutcome, 1)
	err := c.withGroup(ctx, req.Group, false, func(g *group) {
		if g == nil {
			reply <- syncOutcome{err: ErrUnknownMember}
			return
		}
		g.sync(req, reply)
	})
	if err != nil {
		return SyncResult{}, err
	}
	select {
	case o := <-reply:
		return SyncResult{ProtocolType: o.protocolType, Protocol: o.protocol, Assignment: o.assignment}, o.err
	case <-ctx.Done():
		return SyncResult{}, ctx.Err()
	}
}

func (g *group) sync(req SyncRequest, reply chan syncOutcome) {
	fail := func(err error) { reply <- syncOutcome{err: err} }
	if g.state == Dead {
		fail(ErrCoordinatorNotAvailable)
		return
	}
	if err := g.checkMember(req.MemberID, req.InstanceID, req.Generation); err != nil {
		fail(err)
		return
	}
	if (req.ProtocolType != "" && req.ProtocolType != g.protocolType) || (req.Protocol != "" && req.Protocol != g.protocol) {
		fail(ErrInconsistentProtocol)
		return
	}
	m := g.members[req.MemberID]
	switch g.state {
	case PreparingRebalance:
		fail(ErrRebalanceInProgress)
	case CompletingRebalance:
		delete(g.pendingSync, m.id)
		m.syncReply = reply
		g.touch(m)
		if m.id == g.leader {
			for _, mm := range g.members {
				mm.assignment = g.assignmentOrEmpty(req.Assignments[mm.id])
			}
			g.state = Stable
			g.persistGroup()
			g.c.log.Info("group stable", "group", g.name, "generation", g.generation)
			for _, mm := range g.members {
				if mm.syncReply != nil {
					mm.syncReply <- syncOutcome{assignment: mm.assignment, protocolType: g.protocolType, protocol: g.protocol}
					mm.syncReply = nil
				}
			}
			if len(g.pendingSync) == 0 {
				g.clearPendingSync()
			}
		}
	case Stable:
		delete(g.pendingSync, m.id)
		if len(g.pendingSync) == 0 {
			g.clearPendingSync()
		}
		g.touch(m)
		reply <- syncOutcome{assignment: m.assignment, protocolType: g.protocolType, protocol: g.protocol}
	default:
		fail(ErrUnknownMember)
	}
}

// emptyConsumerAssignment is a version-0 ConsumerMemberAssignment with no
// partitions; followers of a "consumer" group that get nothing receive it so
// every client can decode their assignment.
var emptyConsumerAssignment = []byte{0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}

func (g *group) assignmentOrEmpty(a []byte) []byte {
	if len(a) == 0 && g.protocolType == "consumer" {
		return append([]byte(nil), emptyConsumerAssignment...)
	}
	return append([]byte(nil), a...)
}

// checkMember validates a member request as Kafka's ClassicGroup
// validateMember plus the generation check: an instance id must map to the
// member id (unknown instance: UNKNOWN_MEMBER_ID, another member id:
// FENCED_INSTANCE_ID), the member must exist, then the generation.
func (g *group) checkMember(memberID, instanceID string, generation int32) error {
	if instanceID != "" {
		known, ok := g.static[instanceID]
		if !ok {
			return ErrUnknownMember
		}
		if known != memberID {
			return ErrFencedInstanceID
		}
	}
	if _, ok := g.members[memberID]; !ok {
		return ErrUnknownMember
	}
	if generation != g.generation {
		return ErrIllegalGeneration
	}
	return nil
}

// Heartbeat handles a Heartbeat: it keeps the member alive and tells it
// whether a rebalance is running.
func (c *Coordinator) Heartbeat(ctx context.Context, groupID, memberID, instanceID string, generation int32) error {
	if groupID == "" {
		return ErrInvalidGroupID
	}
	var out error
	err := c.withGroup(ctx, groupID, false, func(g *group) {
		if g == nil {
			out = ErrUnknownMember
			return
		}
		if g.state == Dead {
			out = ErrCoordinatorNotAvailable
			return
		}
		if out = g.checkMember(memberID, instanceID, generation); out != nil {
			return
		}
		m := g.members[memberID]
		switch g.state {
		case PreparingRebalance:
			g.touch(m)
			out = ErrRebalanceInProgress
		case CompletingRebalance, Stable:
			g.touch(m)
		default:
			out = ErrUnknownMember
		}
	})
	if err != nil {
		return err
	}
	return out
}

// LeaveMember identifies one member leaving (LeaveGroup v3+ batches them;
// static members may be named by instance id alone).
type LeaveMember struct {
	MemberID   string
	InstanceID string
}

// Leave handles LeaveGroup and returns one error (or nil) per member.
func (c *Coordinator) Leave(ctx context.Context, groupID string, members []LeaveMember) ([]error, error) {
	if groupID == "" {
		return nil, ErrInvalidGroupID
	}
	errs := make([]error, len(members))
	err := c.withGroup(ctx, groupID, false, func(g *group) {
		for i, lm := range members {
			if g == nil {
				errs[i] = ErrUnknownMember
				continue
			}
			errs[i] = g.leave(lm)
		}
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

func (g *group) leave(lm LeaveMember) error {
	if g.state == Dead {
		return ErrCoordinatorNotAvailable
	}
	id := lm.MemberID
	if lm.InstanceID != "" {
		known, ok := g.static[lm.InstanceID]
		if !ok {
			return ErrUnknownMember
		}
		if id != "" && id != known {
			return ErrFencedInstanceID
		}
		id = known
	}
	if p, ok := g.pending[id]; ok {
		if p.timer != nil {
			p.timer.Stop()
		}
		delete(g.pending, id)
		g.maybeCompleteJoin()
		return nil
	}
	m, ok := g.members[id]
	if !ok {
		return ErrUnknownMember
	}
	g.c.log.Info("member left", "group", g.name, "member", id)
	g.removeMember(m)
	g.memberLeft()
	return nil
}
