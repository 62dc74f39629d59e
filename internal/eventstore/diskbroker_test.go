package eventstore

import (
	"path/filepath"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// openDiskBroker opens a broker on the real filesystem under dir (its
// metadata in dir/meta.db, its logs in dir/data), closed when the test
// ends (after the test's own defers, so a store deferred-closed by the
// test closes first).
func openDiskBroker(tb testing.TB, dir string) *broker.Broker {
	tb.Helper()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Close() })
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta = filepath.Join(dir, "data"), m
	br, err := broker.Open(bc)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { br.Close() })
	return br
}
