// Package meta is Eddy's embedded key-value store for small, durable
// metadata: topic configs, committed offsets, producer state, schemas.
//
// It wraps bbolt: every Update is one transaction that is fsynced before it
// returns, so a caller may acknowledge what it wrote as soon as Update
// returns. Concurrent writers share fsyncs through Batch.
//
// Keys live in named buckets (one per kind of record, e.g. "topics",
// "offsets"). Values are opaque bytes; callers choose their own encoding and
// should include a version in it.
//
// A Store is safe for concurrent use.
//
// Usage:
//
//	s, err := meta.Open(filepath.Join(dataDir, "meta.db"))
//	err = s.Put("topics", "orders", configJSON)
//	v, err := s.Get("topics", "orders") // v == nil when absent
package meta

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Store is the metadata store of one data directory.
type Store struct {
	db *bolt.DB
}

// Tx is a read-write transaction passed to Update and Batch callbacks.
type Tx struct{ tx *bolt.Tx }

// Open opens (creating if needed) the store at path. It fails if another
// process holds the file open.
func Open(path string) (*Store, error) {
	db, err := bolt.Open(path, 0o644, &bolt.Options{Timeout: time.Second})
	if err != nil {
		return nil, fmt.Errorf("open meta store %s: %w", path, err)
	}
	// bbolt fsyncs the file but never its directory: a store created since
	// the last power cut could lose its directory entry, and every commit
	// with it.
	if err := syncDir(filepath.Dir(path)); err != nil {
		db.Close()
		return nil, fmt.Errorf("open meta store %s: %w", path, err)
	}
	return &Store{db: db}, nil
}

// Close closes the store.
func (s *Store) Close() error { return s.db.Close() }

// Get returns a copy of the value stored under bucket/key, or nil when absent.
func (s *Store) Get(bucket, key string) ([]byte, error) {
	var out []byte
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		if v := b.Get([]byte(key)); v != nil {
			out = append([]byte{}, v...)
		}
		return nil
	})
	return out, err
}

// Put stores value under bucket/key durably.
func (s *Store) Put(bucket, key string, value []byte) error {
	return s.Batch(func(tx *Tx) error { return tx.Put(bucket, key, value) })
}

// Delete removes bucket/key durably. Deleting an absent key is not an error.
func (s *Store) Delete(bucket, key string) error {
	return s.Batch(func(tx *Tx) error { return tx.Delete(bucket, key) })
}

// ForEach calls fn for each key in bucket in key order. The value is only
// valid during the call. Keys whose prefix does not match are skipped.
func (s *Store) ForEach(bucket, prefix string, fn func(key string, value []byte) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(bucket))
		if b == nil {
			return nil
		}
		c := b.Cursor()
		p := []byte(prefix)
		for k, v := c.Seek(p); k != nil && hasPrefix(k, p); k, v = c.Next() {
			if err := fn(string(k), v); err != nil {
				return err
			}
		}
		return nil
	})
}

// Update runs fn in one read-write transaction that is fsynced before Update
// returns. If fn returns an error nothing is written.
func (s *Store) Update(fn func(tx *Tx) error) error {
	return s.db.Update(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// Batch is like Update but may combine fn with concurrent callers' functions
// into one transaction and one fsync (group commit). fn may be called more
// than once if another function in the batch fails, so it must be idempotent.
func (s *Store) Batch(fn func(tx *Tx) error) error {
	return s.db.Batch(func(tx *bolt.Tx) error { return fn(&Tx{tx}) })
}

// Put stores value under bucket/key, creating the bucket if needed.
func (t *Tx) Put(bucket, key string, value []byte) error {
	b, err := t.tx.CreateBucketIfNotExists([]byte(bucket))
	if err != nil {
		return fmt.Errorf("meta bucket %s: %w", bucket, err)
	}
	return b.Put([]byte(key), value)
}

// Get returns the value under bucket/key, valid only within the transaction.
func (t *Tx) Get(bucket, key string) []byte {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	return b.Get([]byte(key))
}

// Delete removes bucket/key.
func (t *Tx) Delete(bucket, key string) error {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	err := b.Delete([]byte(key))
	if errors.Is(err, bolt.ErrIncompatibleValue) {
		return fmt.Errorf("meta delete %s/%s: %w", bucket, key, err)
	}
	return err
}

// DeletePrefix removes every key in bucket starting with prefix.
func (t *Tx) DeletePrefix(bucket, prefix string) error {
	b := t.tx.Bucket([]byte(bucket))
	if b == nil {
		return nil
	}
	c := b.Cursor()
	p := []byte(prefix)
	for k, _ := c.Seek(p); k != nil && hasPrefix(k, p); k, _ = c.Seek(p) {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("meta delete prefix %s/%s: %w", bucket, prefix, err)
		}
	}
	return nil
}

func hasPrefix(k, p []byte) bool {
	return len(k) >= len(p) && string(k[:len(p)]) == string(p)
}

// syncDir fsyncs a directory, making the entries in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("sync dir %s: %w", dir, err)
	}
	return nil
}
