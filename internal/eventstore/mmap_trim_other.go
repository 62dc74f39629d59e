//go:build !linux

package eventstore

// trimMapped is a no-op where madvise is not wired up.
func (s *Store) trimMapped() error { return nil }

// maybeTrim is a no-op where madvise is not wired up.
func (s *Store) maybeTrim() error { return nil }

// overBudget is false where the mapped budget is not measured.
func (s *Store) overBudget(int64) bool { return false }
