package registry

import (
	"fmt"

	"github.com/eddy-streaming/eddy/internal/meta"
)

// Op is one change to the registry's durable state: Value is the new value
// of Key, or nil to delete Key.
type Op struct {
	Key   string
	Value []byte
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
	// survive a crash.
	Apply(ops []Op) error
}

// Bucket is the meta bucket MetaStore keeps the registry in.
const Bucket = "schemas"

// MetaStore is a Store in one bucket of Eddy's meta store. Apply is one
// bbolt transaction, fsynced before it returns.
type MetaStore struct{ M *meta.Store }

// Load implements Store.
func (s MetaStore) Load(fn func(key string, value []byte) error) error {
	if err := s.M.ForEach(Bucket, "", fn); err != nil {
		return fmt.Errorf("load schema registry: %w", err)
	}
	return nil
}

// Apply implements Store.
func (s MetaStore) Apply(ops []Op) error {
	err := s.M.Update(func(tx *meta.Tx) error {
		for _, op := range ops {
			var err error
			if op.Value == nil {
				err = tx.Delete(Bucket, op.Key)
			} else {
				err = tx.Put(Bucket, op.Key, op.Value)
			}
			if err != nil {
				return fmt.Errorf("%s: %w", op.Key, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("write schema registry: %w", err)
	}
	return nil
}
