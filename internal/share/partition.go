package share

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// State is the delivery state of one in-flight record of a share-partition
// (KIP-932), plus Archiving: a record on its way to the dead-letter topic.
type State uint8

const (
	// Available records may be acquired by any member.
	Available State = iota
	// Acquired records are locked to one member until acknowledged,
	// released or their acquisition lock times out.
	Acquired
	// Acknowledged records were processed; they are never delivered again.
	Acknowledged
	// Archived records are finished without being processed (rejected,
	// delivery limit reached, gaps); never delivered again.
	Archived
	// Archiving records are finished but still being written to the
	// group's dead-letter topic; they become Archived once the write is
	// durable. They are never delivered again.
	Archiving
)

func (s State) String() string {
	switch s {
	case Available:
		return "available"
	case Acquired:
		return "acquired"
	case Acknowledged:
		return "acknowledged"
	case Archived:
		return "archived"
	case Archiving:
		return "archiving"
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

func (s State) terminal() bool { return s == Acknowledged || s == Archived }

// AckType is a KIP-932 acknowledgement type as sent on the wire.
type AckType int8

// Acknowledgement types (ShareFetch/ShareAcknowledge AcknowledgeTypes).
const (
	AckGap     AckType = 0
	AckAccept  AckType = 1
	AckRelease AckType = 2
	AckReject  AckType = 3
	AckRenew   AckType = 4 // KIP-1222: extend the acquisition lock
)

// Reason says why a record was dead-lettered.
type Reason uint8

// Dead-letter reasons, written to the DLQ record's reason header.
const (
	ReasonNone Reason = iota
	// ReasonRejected: a consumer rejected the record.
	ReasonRejected
	// ReasonDeliveryLimit: released after its last permitted delivery.
	ReasonDeliveryLimit
	// ReasonLockTimeout: its last permitted delivery's lock timed out.
	ReasonLockTimeout
)

func (r Reason) String() string {
	switch r {
	case ReasonRejected:
		return "rejected"
	case ReasonDeliveryLimit:
		return "delivery_limit"
	case ReasonLockTimeout:
		return "lock_timeout"
	}
	return "none"
}

// Errors returned by Partition methods; the Kafka front end maps them to
// INVALID_RECORD_STATE and INVALID_REQUEST.
var (
	// ErrInvalidRecordState is returned when an acknowledgement names a
	// record that is not acquired by the acknowledging member.
	ErrInvalidRecordState = errors.New("record is not acquired by this member")
	// ErrInvalidAck is returned for a malformed acknowledgement batch
	// (last before first, wrong number of types, unknown type).
	ErrInvalidAck = errors.New("invalid acknowledgement batch")
)

// Limits are the group settings a Partition's transitions depend on.
type Limits struct {
	// LockDuration is share.record.lock.duration.ms.
	LockDuration time.Duration
	// DeliveryLimit is share.delivery.count.limit: a record released or
	// timed out after this many deliveries is archived.
	DeliveryLimit int
	// MaxLocks is group.share.partition.max.record.locks: at most this
	// many unfinished records (available, acquired or archiving) in the
	// in-flight window, the backpressure on a partition that is not
	// acknowledged. Acknowledged records behind an unfinished one do not
	// count, so a poison record being retried does not stall its
	// partition; the window as a whole is capped at MaxWindowFactor ×
	// MaxLocks offsets.
	MaxLocks int
	// BackoffFirst and BackoffMax are eddy.share.retry.backoff.ms and
	// eddy.share.retry.backoff.max.ms: a released or timed-out record is
	// available again after min(max, first×2^(deliveries−1)) ±10 %.
	BackoffFirst, BackoffMax time.Duration
	// DLQ is true when the group has a usable dead-letter topic: finished
	// unprocessed records go to Archiving instead of Archived.
	DLQ bool
	// Jitter returns a number in [0,1); nil means 0.5 (no jitter).
	Jitter func() float64
}

// MaxWindowFactor caps the in-flight window (start offset to end) at this
// many times Limits.MaxLocks offsets.
const MaxWindowFactor = 64

// Backoff returns how long a record whose delivery number deliveries
// failed waits before it is available again.
func (l Limits) Backoff(deliveries int) time.Duration {
	if l.BackoffFirst <= 0 || deliveries <= 0 {
		return 0
	}
	d := float64(l.BackoffFirst) * math.Pow(2, float64(deliveries-1))
	if max := float64(l.BackoffMax); l.BackoffMax > 0 && d > max {
		d = max
	}
	j := 0.5
	if l.Jitter != nil {
		j = l.Jitter()
	}
	return time.Duration(d * (0.9 + 0.2*j))
}

// rec is one offset in [start, end).
type rec struct {
	state      State
	reason     Reason
	deliveries int16
	member     string
	lockUntil  int64 // unix nanos, Acquired only
	availAt    int64 // unix nanos, Available only: backoff
	dlqFrom    int64 // Archiving: DLQ partition end offset noted before the write; -1 unknown
}

// Range is a run of acquired offsets with one delivery count.
type Range struct {
	First, Last int64
	Deliveries  int16
}

// Partition is the state of one share-partition: (group, topic,
// partition). It is not safe for concurrent use; the coordinator guards
// each with a mutex.
type Partition struct {
	// start is the share-partition start offset (SPSO): every offset
	// below it is finished. -1 until initialized.
	start int64
	// recs[i] is offset start+i; start+len(recs) is the end of the
	// window: the next offset never yet acquired.
	recs []rec
	// stats count transitions since the partition was loaded.
	stats Stats
}

// Stats count a partition's transitions since it was loaded (metrics).
type Stats struct {
	// Redelivered counts records made available again after a delivery.
	Redelivered int64
	// Acknowledged counts accepted records.
	Acknowledged int64
	// Archived counts records finished unprocessed (rejected, limit,
	// gaps), dead-lettered or not.
	Archived int64
	// DeadLettered counts records written to the dead-letter topic.
	DeadLettered int64
}

// Stats returns the partition's counters.
func (p *Partition) Stats() Stats { return p.stats }

// NewPartition returns an uninitialized partition: its first Acquire
// sets the start offset from the reset offset it is given.
func NewPartition() *Partition { return &Partition{start: -1} }

// Initialized reports whether the start offset is set.
func (p *Partition) Initialized() bool { return p.start >= 0 }

// Start returns the share-partition start offset, -1 when uninitialized.
func (p *Partition) Start() int64 { return p.start }

// End returns the first offset never acquired.
func (p *Partition) End() int64 { return p.start + int64(len(p.recs)) }

// Reset moves the start offset to off, forgetting every in-flight record
// (AlterShareGroupOffsets; a start below the log start).
func (p *Partition) Reset(off int64) {
	p.start = off
	p.recs = p.recs[:0]
}

// Counts summarizes a partition for metrics and describe.
type Counts struct {
	Available, Acquired, Archiving, Finished int
	// Redelivering counts available records delivered before.
	Redelivering int
}

// Counts returns how many in-flight records are in each state.
func (p *Partition) Counts() Counts {
	var c Counts
	for _, r := range p.recs {
		switch r.state {
		case Available:
			c.Available++
			if r.deliveries > 0 {
				c.Redelivering++
			}
		case Acquired:
			c.Acquired++
		case Archiving:
			c.Archiving++
		default:
			c.Finished++
		}
	}
	return c
}

// Expire releases every acquisition lock that ran out by now and returns
// how many records it released or finished.
func (p *Partition) Expire(now time.Time, lim Limits) int {
	n := 0
	nn := now.UnixNano()
	for i := range p.recs {
		r := &p.recs[i]
		if r.state == Acquired && r.lockUntil <= nn {
			p.release(r, now, lim, ReasonLockTimeout)
			n++
		}
	}
	p.advance()
	return n
}

// NextWake returns the earliest time at which a lock expires or a backed
// off record becomes available, or zero when there is none.
func (p *Partition) NextWake() time.Time {
	var min int64
	for _, r := range p.recs {
		var t int64
		switch {
		case r.state == Acquired:
			t = r.lockUntil
		case r.state == Available && r.availAt > 0:
			t = r.availAt
		default:
			continue
		}
		if min == 0 || t < min {
			min = t
		}
	}
	if min == 0 {
		return time.Time{}
	}
	return time.Unix(0, min)
}

// release makes an acquired record available again, or finishes it when
// it has used its deliveries.
func (p *Partition) release(r *rec, now time.Time, lim Limits, why Reason) {
	r.member = ""
	r.lockUntil = 0
	if lim.DeliveryLimit > 0 && int(r.deliveries) >= lim.DeliveryLimit {
		if why == ReasonNone || why == ReasonRejected {
			why = ReasonDeliveryLimit
		}
		p.finish(r, lim, why)
		return
	}
	r.state = Available
	r.availAt = 0
	p.stats.Redelivered++
	if d := lim.Backoff(int(r.deliveries)); d > 0 {
		r.availAt = now.Add(d).UnixNano()
	}
}

func (p *Partition) finish(r *rec, lim Limits, why Reason) {
	r.member = ""
	r.lockUntil = 0
	r.availAt = 0
	p.stats.Archived++
	if lim.DLQ {
		r.state = Archiving
		r.reason = why
		r.dlqFrom = -1
		return
	}
	r.state = Archived
}

// advance moves the start offset past finished records.
func (p *Partition) advance() {
	i := 0
	for i < len(p.recs) && p.recs[i].state.terminal() {
		i++
	}
	if i == 0 {
		return
	}
	p.start += int64(i)
	n := copy(p.recs, p.recs[i:])
	clear(p.recs[n:])
	p.recs = p.recs[:n]
}

// Acquire locks up to max records for member: available records of the
// window first (oldest offset first, skipping those still backing off),
// then offsets past the window up to hw, within MaxLocks. logStart is the
// partition's log start offset and reset the offset an uninitialized
// partition starts from. It returns the acquired ranges, in offset order.
func (p *Partition) Acquire(now time.Time, member string, max int, logStart, hw, reset int64, lim Limits) []Range {
	if p.start < 0 {
		p.start = reset
	}
	if p.start < logStart {
		// Retention deleted records under the window: they are gone.
		drop := int(min(logStart-p.start, int64(len(p.recs))))
		p.recs = append(p.recs[:0], p.recs[drop:]...)
		p.start = logStart
	}
	p.Expire(now, lim)
	if max <= 0 {
		return nil
	}
	nn := now.UnixNano()
	lockUntil := now.Add(lim.LockDuration).UnixNano()
	var out []Range
	take := func(off int64, r *rec) {
		r.state = Acquired
		r.member = member
		r.lockUntil = lockUntil
		r.availAt = 0
		if r.deliveries < math.MaxInt16 {
			r.deliveries++
		}
		if n := len(out); n > 0 && out[n-1].Last == off-1 && out[n-1].Deliveries == r.deliveries {
			out[n-1].Last = off
		} else {
			out = append(out, Range{First: off, Last: off, Deliveries: r.deliveries})
		}
		max--
	}
	open := 0 // unfinished records in the window
	for i := range p.recs {
		r := &p.recs[i]
		if !r.state.terminal() {
			open++
		}
		if max > 0 && r.state == Available && r.availAt <= nn {
			take(p.start+int64(i), r)
		}
	}
	for max > 0 {
		end := p.End()
		if end >= hw || (lim.MaxLocks > 0 && (open >= lim.MaxLocks || len(p.recs) >= MaxWindowFactor*lim.MaxLocks)) {
			break
		}
		open++
		p.recs = append(p.recs, rec{})
		take(end, &p.recs[len(p.recs)-1])
	}
	return out
}

// Ack applies one acknowledgement batch of member: offsets first..last
// with either one type for all or one type per offset. Every offset must
// be acquired by member (a gap may also name an offset past the window
// end, which is ignored); otherwise nothing changes and it returns
// ErrInvalidRecordState.
func (p *Partition) Ack(now time.Time, member string, first, last int64, types []AckType, lim Limits) error {
	if last < first || len(types) == 0 || (len(types) != 1 && int64(len(types)) != last-first+1) {
		return fmt.Errorf("%w: offsets %d..%d with %d types", ErrInvalidAck, first, last, len(types))
	}
	typeAt := func(off int64) AckType {
		if len(types) == 1 {
			return types[0]
		}
		return types[off-first]
	}
	for off := first; off <= last; off++ {
		t := typeAt(off)
		if t < AckGap || t > AckRenew {
			return fmt.Errorf("%w: unknown type %d", ErrInvalidAck, t)
		}
		i := off - p.start
		if p.start < 0 || i < 0 || i >= int64(len(p.recs)) {
			return fmt.Errorf("%w: offset %d is outside the in-flight window", ErrInvalidRecordState, off)
		}
		r := &p.recs[i]
		if r.state != Acquired || r.member != member {
			return fmt.Errorf("%w: offset %d is %s", ErrInvalidRecordState, off, r.state)
		}
	}
	for off := first; off <= last; off++ {
		r := &p.recs[off-p.start]
		switch typeAt(off) {
		case AckAccept:
			r.state, r.member, r.lockUntil = Acknowledged, "", 0
			p.stats.Acknowledged++
		case AckGap:
			r.state, r.member, r.lockUntil = Archived, "", 0
		case AckRelease:
			p.release(r, now, lim, ReasonNone)
		case AckReject:
			p.finish(r, lim, ReasonRejected)
		case AckRenew:
			r.lockUntil = now.Add(lim.LockDuration).UnixNano()
		}
	}
	p.advance()
	return nil
}

// ReleaseMember releases every record acquired by member (it left, its
// session closed or timed out); the deliveries stay counted.
func (p *Partition) ReleaseMember(now time.Time, member string, lim Limits) int {
	n := 0
	for i := range p.recs {
		r := &p.recs[i]
		if r.state == Acquired && r.member == member {
			p.release(r, now, lim, ReasonNone)
			n++
		}
	}
	p.advance()
	return n
}

// Pending is a record waiting to be written to the dead-letter topic.
type Pending struct {
	Offset     int64
	Deliveries int16
	Reason     Reason
	// DLQFrom is the dead-letter partition's end offset noted before the
	// first write attempt, -1 before any attempt.
	DLQFrom int64
}

// PendingDLQ returns the records in Archiving, oldest first, up to max.
func (p *Partition) PendingDLQ(max int) []Pending {
	var out []Pending
	for i, r := range p.recs {
		if len(out) >= max {
			break
		}
		if r.state == Archiving {
			out = append(out, Pending{Offset: p.start + int64(i), Deliveries: r.deliveries, Reason: r.reason, DLQFrom: r.dlqFrom})
		}
	}
	return out
}

// NoteDLQFrom records, for the Archiving record at off, the dead-letter
// partition end offset from which its write will land.
func (p *Partition) NoteDLQFrom(off, from int64) {
	if r := p.at(off); r != nil && r.state == Archiving && r.dlqFrom < 0 {
		r.dlqFrom = from
	}
}

// DLQDone archives the Archiving record at off: its dead-letter write is
// durable.
func (p *Partition) DLQDone(off int64) {
	if r := p.at(off); r != nil && r.state == Archiving {
		r.state = Archived
		r.dlqFrom = 0
		p.stats.DeadLettered++
		p.advance()
	}
}

func (p *Partition) at(off int64) *rec {
	i := off - p.start
	if p.start < 0 || i < 0 || i >= int64(len(p.recs)) {
		return nil
	}
	return &p.recs[i]
}

// RecordState is one offset's persisted state.
type RecordState struct {
	State      State
	Deliveries int16
	Reason     Reason
	DLQFrom    int64
}

// Snapshot is the durable state of a partition: what survives a restart.
type Snapshot struct {
	// Start is the start offset, -1 when uninitialized.
	Start int64
	// Records describes offsets Start, Start+1, … in order.
	Records []RecordState
}

// Snapshot returns the partition's durable state.
func (p *Partition) Snapshot() Snapshot {
	s := Snapshot{Start: p.start, Records: make([]RecordState, len(p.recs))}
	for i, r := range p.recs {
		s.Records[i] = RecordState{State: r.state, Deliveries: r.deliveries, Reason: r.reason, DLQFrom: r.dlqFrom}
	}
	return s
}

// Restore replaces the partition's state with s, as after a restart:
// acquired records are released with their delivery counted, so a record
// that crashed its consumers reaches the delivery limit.
func (p *Partition) Restore(s Snapshot, now time.Time, lim Limits) {
	p.start = s.Start
	p.recs = make([]rec, len(s.Records))
	for i, rs := range s.Records {
		p.recs[i] = rec{state: rs.State, deliveries: rs.Deliveries, reason: rs.Reason, dlqFrom: rs.DLQFrom}
		if rs.State == Acquired {
			p.release(&p.recs[i], now, lim, ReasonLockTimeout)
		}
		if rs.State == Archiving && !lim.DLQ {
			// The DLQ was unset meanwhile: archive without writing.
			p.recs[i].state = Archived
		}
	}
	p.advance()
}

// FirstWaiting returns the oldest offset waiting to be delivered: the
// first available one of the window (backing off or not), else the
// window's end when it is below hw; -1 when none waits.
func (p *Partition) FirstWaiting(hw int64) int64 {
	if p.start < 0 {
		return -1
	}
	for i, r := range p.recs {
		if r.state == Available {
			return p.start + int64(i)
		}
	}
	if e := p.End(); e < hw {
		return e
	}
	return -1
}

// Lag returns how many records from the start offset up to hw are not
// finished yet (Kafka's share-group lag).
func (p *Partition) Lag(hw int64) int64 {
	if p.start < 0 {
		return -1
	}
	n := max(hw-p.End(), 0)
	for _, r := range p.recs {
		if !r.state.terminal() {
			n++
		}
	}
	return n
}

// NewRoom reports where a fetch that finds no record to redeliver starts
// acquiring, and how many new offsets it may acquire there: it returns
// the window's end and the room past it (up to hw, within MaxLocks), or
// room 0 when Acquire would first take records of the window (available,
// or acquired with an expired lock) or the window must move first. The
// fetch path reads the stored batches from end before acquiring, so it
// can acquire up to a batch boundary and serve the batches it read.
func (p *Partition) NewRoom(now time.Time, logStart, hw, reset int64, lim Limits) (end, room int64) {
	start := p.start
	if start < 0 {
		start = reset
	}
	if start < logStart {
		return 0, 0
	}
	nn := now.UnixNano()
	open := 0
	for i := range p.recs {
		r := &p.recs[i]
		switch {
		case r.state == Available && r.availAt <= nn:
			return 0, 0
		case r.state == Acquired && r.lockUntil <= nn:
			return 0, 0
		case !r.state.terminal():
			open++
		}
	}
	end = start + int64(len(p.recs))
	room = hw - end
	if lim.MaxLocks > 0 {
		room = min(room, int64(lim.MaxLocks-open), int64(MaxWindowFactor*lim.MaxLocks-len(p.recs)))
	}
	return end, max(room, 0)
}
