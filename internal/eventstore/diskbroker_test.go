package eventstore

import (
	"path/filepath"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// These package-internal tests need the broker and a store wired as
// internal/node wires them (which they cannot import: node imports this
// package); tests outside the package use node or kafkatest.

// openDiskBroker opens a broker on the real filesystem under dir (its
// metadata in dir/meta.db, its logs in dir/data) with the given append
// hooks, closed when the test ends (after the test's own defers, so a
// store deferred-closed by the test closes first).
func openDiskBroker(tb testing.TB, dir string, hooks ...broker.AppendHook) *broker.Broker {
	tb.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.Hooks = filepath.Join(dir, "data"), m, hooks
	br, err := broker.Open(bc)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Close() })
	return br
}

// openDiskStore opens a store with cfg, a broker under dir with the store
// as its append hook, and recovers the store from it. The test closes the
// store; the broker closes when the test ends.
func openDiskStore(tb testing.TB, dir string, cfg Config) (*broker.Broker, *Store) {
	tb.Helper()
	es, err := Open(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	br := openDiskBroker(tb, dir, es)
	if err := es.Recover(br); err != nil {
		es.Close()
		tb.Fatal(err)
	}
	return br, es
}

// recoverStore opens a store with cfg and catches it up from br, which
// does not run it as a hook (tests that only read what was written
// before).
func recoverStore(br *broker.Broker, cfg Config) (*Store, error) {
	es, err := Open(cfg)
	if err != nil {
		return nil, err
	}
	if err := es.Recover(br); err != nil {
		es.Close()
		return nil, err
	}
	return es, nil
}
