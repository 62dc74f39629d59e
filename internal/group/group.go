package group

import (
	"context"
	"time"
)

// State is a classic group's state, named as Kafka names it in
// DescribeGroups and ListGroups.
type State int8

// Classic group states.
const (
	// Empty: no members; offsets may exist.
	Empty State = iota
	// PreparingRebalance: waiting for members to (re)join.
	PreparingRebalance
	// CompletingRebalance: joins answered, waiting for the leader's SyncGroup.
	CompletingRebalance
	// Stable: assignments delivered; members heartbeat.
	Stable
	// Dead: deleted; a new group of the same name may be created.
	Dead
)

// String returns Kafka's name for s.
func (s State) String() string {
	switch s {
	case Empty:
		return "Empty"
	case PreparingRebalance:
		return "PreparingRebalance"
	case CompletingRebalance:
		return "CompletingRebalance"
	case Stable:
		return "Stable"
	default:
		return "Dead"
	}
}

// Protocol is one assignment protocol a member supports, in preference order.
type Protocol struct {
	Name     string
	Metadata []byte
}

type member struct {
	id, instanceID     string
	clientID, host     string
	protocolType       string
	protocols          []Protocol
	session, rebalance time.Duration
	assignment         []byte

	joinReply    chan joinOutcome // non-nil while a JoinGroup is parked
	syncReply    chan syncOutcome // non-nil while a SyncGroup is parked
	supportsSkip bool             // the parked join is v9+ (KIP-814)

	lastSeen time.Time
	timer    *time.Timer
}

type tp struct {
	topic     string
	partition int32
}

type committed struct {
	offset      int64
	leaderEpoch int32
	metadata    string
	commitTime  time.Time
	topicID     [16]byte // the topic incarnation committed for; zero if unknown
}

// group is one group's state machine. Every field below the channels is
// owned by the loop goroutine.
type group struct {
	c    *Coordinator
	name string

	reqs chan func()
	done chan struct{} // closed when the loop exits
	quit chan struct{} // closed to ask the loop to exit

	// commitMu serializes commit, offset delete, expiry and group delete
	// writes to meta so the durable order equals the applied order. Taken
	// by callers, never on the loop.
	commitMu chanMutex

	state        State
	protocolType string
	protocol     string
	generation   int32
	leader       string
	members      map[string]*member
	pending      map[string]*member // KIP-394: ids handed out, not yet joined
	static       map[string]string  // instance id → member id
	emptySince   time.Time
	pendingSync  map[string]bool
	initialDelay bool // the delayed first rebalance of an empty group is running

	rebalanceTimer *time.Timer
	syncTimer      *time.Timer
	timerGen       int // invalidates fired timers of earlier phases

	offsets map[tp]committed
}

// chanMutex is a mutex that can be acquired with a context.
type chanMutex chan struct{}

func (m chanMutex) lock(ctx context.Context) error {
	select {
	case m <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m chanMutex) unlock() { <-m }

func newGroup(c *Coordinator, name string) *group {
	return &group{
		c:        c,
		name:     name,
		reqs:     make(chan func(), 16),
		done:     make(chan struct{}),
		quit:     make(chan struct{}),
		commitMu: make(chanMutex, 1),
		members:  make(map[string]*member),
		pending:  make(map[string]*member),
		static:   make(map[string]string),
		offsets:  make(map[tp]committed),
	}
}

func (g *group) start() {
	g.c.wg.Add(1)
	go g.loop()
}

func (g *group) loop() {
	defer g.c.wg.Done()
	defer close(g.done)
	defer g.stopTimers()
	for {
		select {
		case fn := <-g.reqs:
			fn()
			if g.state == Dead {
				return
			}
		case <-g.quit:
			g.failParked()
			return
		}
	}
}

// stop asks the loop to exit and waits for it.
func (g *group) stop() {
	select {
	case <-g.quit:
	default:
		close(g.quit)
	}
	<-g.done
}

// run executes fn on the loop and waits until it has run. It returns
// errGroupGone if the loop exited before fn ran.
func (g *group) run(ctx context.Context, fn func()) error {
	ran := make(chan struct{})
	wrapped := func() { fn(); close(ran) }
	select {
	case g.reqs <- wrapped:
	case <-g.done:
		return errGroupGone
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-ran:
		return nil
	case <-g.done:
		// fn runs before the loop can exit, so a closed ran wins.
		select {
		case <-ran:
			return nil
		default:
			return errGroupGone
		}
	}
}

// post queues fn on the loop without waiting; used by timers. Dropped when
// the loop has exited.
func (g *group) post(fn func()) {
	select {
	case g.reqs <- fn:
	case <-g.done:
	}
}

// after runs fn on the loop after d unless the group has moved on to
// another timer generation by then.
func (g *group) after(d time.Duration, fn func()) *time.Timer {
	gen := g.timerGen
	return time.AfterFunc(d, func() {
		g.post(func() {
			if g.timerGen != gen || g.state == Dead {
				return
			}
			fn()
		})
	})
}

func (g *group) stopTimers() {
	for _, m := range g.members {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
	for _, m := range g.pending {
		if m.timer != nil {
			m.timer.Stop()
		}
	}
	if g.rebalanceTimer != nil {
		g.rebalanceTimer.Stop()
	}
	if g.syncTimer != nil {
		g.syncTimer.Stop()
	}
}

// failParked answers every parked request with ErrCoordinatorNotAvailable
// on shutdown.
func (g *group) failParked() {
	for _, m := range g.members {
		if m.joinReply != nil {
			m.joinReply <- joinOutcome{err: ErrCoordinatorNotAvailable}
			m.joinReply = nil
		}
		if m.syncReply != nil {
			m.syncReply <- syncOutcome{err: ErrCoordinatorNotAvailable}
			m.syncReply = nil
		}
	}
}

// kill marks the group dead; the loop exits after the current function.
func (g *group) kill() {
	g.state = Dead
	g.c.forget(g)
}

func (g *group) now() time.Time { return g.c.cfg.Now() }
