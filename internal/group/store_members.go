package group

import (
	"encoding/binary"
	"fmt"
	"time"
)

// groupRecord is what a group persists: its generation and, when it is
// Stable, its members with their protocols and assignments, so a restart
// does not force a rebalance (Kafka reloads group metadata the same way).
type groupRecord struct {
	generation   int32
	emptySince   time.Time
	protocolType string
	stable       bool
	protocol     string
	leader       string
	members      []memberRecord
}

type memberRecord struct {
	id, instanceID, clientID, host string
	session, rebalance             time.Duration
	protocols                      []Protocol
	assignment                     []byte
}

const groupRecordV2 = 2

// encodeGroupRecord (version 2):
//
//	u8 version=2 | i32 generation | i64 emptySinceMs | str protocolType |
//	u8 stable | str protocol | str leader | u32 nmembers |
//	nmembers × (str id | str instanceID | str clientID | str host |
//	            i32 sessionMs | i32 rebalanceMs | u32 nprotocols |
//	            nprotocols × (str name | bytes metadata) | bytes assignment)
//
// str and bytes are a u32 length + bytes (compact strings in flexible
// requests may exceed 64 KiB).
func encodeGroupRecord(r groupRecord) []byte {
	be := binary.BigEndian
	b := []byte{groupRecordV2}
	b = be.AppendUint32(b, uint32(r.generation))
	var ms int64
	if !r.emptySince.IsZero() {
		ms = r.emptySince.UnixMilli()
	}
	b = be.AppendUint64(b, uint64(ms))
	b = appendStr(b, r.protocolType)
	if r.stable {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendStr(b, r.protocol)
	b = appendStr(b, r.leader)
	b = be.AppendUint32(b, uint32(len(r.members)))
	for _, m := range r.members {
		b = appendStr(b, m.id)
		b = appendStr(b, m.instanceID)
		b = appendStr(b, m.clientID)
		b = appendStr(b, m.host)
		b = be.AppendUint32(b, uint32(m.session.Milliseconds()))
		b = be.AppendUint32(b, uint32(m.rebalance.Milliseconds()))
		b = be.AppendUint32(b, uint32(len(m.protocols)))
		for _, p := range m.protocols {
			b = appendStr(b, p.Name)
			b = appendBytes(b, p.Metadata)
		}
		b = appendBytes(b, m.assignment)
	}
	return b
}

func appendStr(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(s)))
	return append(b, s...)
}

func appendBytes(b, v []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(v)))
	return append(b, v...)
}

// decodeGroupRecord reads versions 1 and 2.
func decodeGroupRecord(b []byte) (groupRecord, error) {
	if len(b) > 0 && b[0] == groupRecordV1 {
		gen, since, ptype, err := decodeGroup(b)
		return groupRecord{generation: gen, emptySince: since, protocolType: ptype}, err
	}
	d := &decoder{b: b}
	var r groupRecord
	if v := d.u8(); v != groupRecordV2 && d.err == nil {
		return r, fmt.Errorf("group record version %d: %w", v, errCorruptRecord)
	}
	r.generation = int32(d.u32())
	if ms := int64(d.u64()); ms != 0 {
		r.emptySince = time.UnixMilli(ms)
	}
	r.protocolType = d.str()
	r.stable = d.u8() == 1
	r.protocol = d.str()
	r.leader = d.str()
	n := d.u32()
	for i := uint32(0); i < n && d.err == nil; i++ {
		var m memberRecord
		m.id, m.instanceID, m.clientID, m.host = d.str(), d.str(), d.str(), d.str()
		m.session = time.Duration(d.u32()) * time.Millisecond
		m.rebalance = time.Duration(d.u32()) * time.Millisecond
		np := d.u32()
		for j := uint32(0); j < np && d.err == nil; j++ {
			m.protocols = append(m.protocols, Protocol{Name: d.str(), Metadata: d.bytes()})
		}
		m.assignment = d.bytes()
		r.members = append(r.members, m)
	}
	if d.err == nil && len(d.b) != 0 {
		d.err = fmt.Errorf("%d trailing bytes", len(d.b))
	}
	if d.err != nil {
		return groupRecord{}, fmt.Errorf("group record: %w: %w", errCorruptRecord, d.err)
	}
	return r, nil
}

// decoder reads big-endian fields with a sticky error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b) {
		d.err = fmt.Errorf("need %d bytes, have %d", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if v := d.take(1); v != nil {
		return v[0]
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if v := d.take(4); v != nil {
		return binary.BigEndian.Uint32(v)
	}
	return 0
}

func (d *decoder) u64() uint64 {
	if v := d.take(8); v != nil {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func (d *decoder) str() string { return string(d.bytes()) }

func (d *decoder) bytes() []byte {
	v := d.take(4)
	if v == nil {
		return nil
	}
	n := binary.BigEndian.Uint32(v)
	if uint64(n) > uint64(len(d.b)) {
		d.err = fmt.Errorf("need %d bytes, have %d", n, len(d.b))
		return nil
	}
	return append([]byte(nil), d.take(int(n))...)
}

// record captures g for persistence; members only when Stable.
func (g *group) record() groupRecord {
	r := groupRecord{
		generation: g.generation, emptySince: g.emptySince, protocolType: g.protocolType,
		stable: g.state == Stable, protocol: g.protocol, leader: g.leader,
	}
	if !r.stable {
		return r
	}
	for _, id := range g.sortedMemberIDs() {
		m := g.members[id]
		r.members = append(r.members, memberRecord{
			id: m.id, instanceID: m.instanceID, clientID: m.clientID, host: m.host,
			session: m.session, rebalance: m.rebalance, protocols: m.protocols, assignment: m.assignment,
		})
	}
	return r
}

// restore applies a loaded record to a fresh group: a Stable group gets its
// members back, each with a full session timeout from now.
func (g *group) restore(r groupRecord) {
	g.generation, g.protocolType = r.generation, r.protocolType
	if !r.emptySince.IsZero() {
		g.emptySince = r.emptySince
	}
	if !r.stable || len(r.members) == 0 {
		return
	}
	g.state, g.protocol, g.leader = Stable, r.protocol, r.leader
	for _, mr := range r.members {
		m := &member{
			id: mr.id, instanceID: mr.instanceID, clientID: mr.clientID, host: mr.host,
			protocolType: r.protocolType, protocols: mr.protocols,
			session: mr.session, rebalance: mr.rebalance, assignment: mr.assignment,
		}
		g.members[m.id] = m
		if m.instanceID != "" {
			g.static[m.instanceID] = m.id
		}
	}
	if _, ok := g.members[g.leader]; !ok {
		g.leader = g.sortedMemberIDs()[0]
	}
}

// armRestored starts the session timers of restored members; runs on the
// loop right after start.
func (g *group) armRestored() {
	for _, m := range g.members {
		g.touch(m)
	}
}
