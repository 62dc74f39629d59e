package registry

import (
	"fmt"
	"strconv"
	"sync"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// Op is one change to the registry's durable state: Value is the new value
// of Key, or nil to delete Key. With Max, Value is a decimal integer that
// replaces the stored one only if larger (the id counter, which concurrent
// registrations advance in any order).
type Op struct {
	Key   string
	Value []byte
	Max   bool
}

// Store keeps the registry's state as keys and values. It is the one seam
// between the registry and its durability: the single-node store is a bbolt
// bucket in the meta store; a replicated one applies each Apply batch as one
// entry of a Raft log (or one record of a compacted topic) and Loads by
// replaying it. Keys are small and few (one per schema, subject version and
// config), so a full Load at start is cheap.
type Store interface {
	// Load calls fn for every key in key order.
	Load(fn func(key string, value []byte) error) error
	// Apply writes ops atomically and durably: when it returns nil they
	// survive a crash. Concurrent calls may share one commit.
	Apply(ops []Op) error
}

// Bucket is the meta bucket MetaStore keeps the registry in.
const Bucket = "schemas"

// MetaStore is a Store in one bucket of Eddy's meta store. Apply writes in
// one bbolt transaction, fsynced before it returns. Concurrent Applies
// share a transaction: while one commits, the next arrivals queue, and the
// first of them commits them all at once when it is done (group commit
// without bbolt Batch's fixed delay, so a lone writer waits for nothing
// but its own fsync). Create it with NewMetaStore.
type MetaStore struct {
	m  *meta.Store
	mu sync.Mutex
	// Guarded by mu: the writes waiting for the next commit, and whether
	// a commit is running.
	queue      []*pendingApply
	committing bool
}

type pendingApply struct {
	ops  []Op
	done chan error
}

// NewMetaStore returns a Store over m.
func NewMetaStore(m *meta.Store) *MetaStore { return &MetaStore{m: m} }

// Load implements Store.
func (s *MetaStore) Load(fn func(key string, value []byte) error) error {
	if err := s.m.ForEach(Bucket, "", fn); err != nil {
		return fmt.Errorf("load schema registry: %w", err)
	}
	return nil
}

// Apply implements Store.
func (s *MetaStore) Apply(ops []Op) error {
	p := &pendingApply{ops: ops, done: make(chan error, 1)}
	s.mu.Lock()
	s.queue = append(s.queue, p)
	if s.committing {
		s.mu.Unlock()
		return <-p.done
	}
	s.committing = true
	for len(s.queue) > 0 {
		group := s.queue
		s.queue = nil
		s.mu.Unlock()
		err := s.commit(group)
		for _, g := range group {
			g.done <- err
		}
		s.mu.Lock()
	}
	s.committing = false
	s.mu.Unlock()
	return <-p.done
}

// commit writes every group member's ops in one transaction. One bad op
// fails the whole group; callers see a store error and retry.
func (s *MetaStore) commit(group []*pendingApply) error {
	err := s.m.Update(func(tx *meta.Tx) error {
		for _, g := range group {
			for _, op := range g.ops {
				if err := applyOp(tx, op); err != nil {
					return fmt.Errorf("%s: %w", op.Key, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write schema registry: %w", err)
	}
	return nil
}

func applyOp(tx *meta.Tx, op Op) error {
	if op.Max {
		if old, err := strconv.ParseInt(string(tx.Get(Bucket, op.Key)), 10, 64); err == nil {
			if nv, _ := strconv.ParseInt(string(op.Value), 10, 64); nv <= old {
				return nil
			}
		}
	}
	if op.Value == nil {
		return tx.Delete(Bucket, op.Key)
	}
	return tx.Put(Bucket, op.Key, op.Value)
}
