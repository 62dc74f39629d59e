//go:build !linux

package eventstore

import bolt "go.etcd.io/bbolt"

// trimMapped is a no-op where madvise is not wired up.
func (s *Store) trimMapped() error { return nil }

// trimTx is a no-op where madvise is not wired up.
func (s *Store) trimTx(*bolt.Tx) error { return nil }

// maybeTrimTx is a no-op where madvise is not wired up.
func (s *Store) maybeTrimTx(*bolt.Tx) error { return nil }

// maybeTrim is a no-op where madvise is not wired up.
func (s *Store) maybeTrim() error { return nil }
