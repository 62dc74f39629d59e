package broker_test

import (
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
)

// WaitBlocks tells the protocol layer whether a write needs a goroutine to
// wait for its fsync: only under fsync=always.
func TestWriteResultWaitBlocks(t *testing.T) {
	e := open(t, t.TempDir(), nil)
	for policy, want := range map[string]bool{"always": true, "never": false, "interval": false} {
		if _, err := e.b.CreateTopic("t-"+policy, 1, map[string]string{"eddy.fsync": policy}, false); err != nil {
			t.Fatal(err)
		}
		w, err := e.b.Write("t-"+policy, 0, batch(1000, 2, "v"), broker.WriteOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if got := w.WaitBlocks(); got != want {
			t.Errorf("fsync=%s: WaitBlocks %v, want %v", policy, got, want)
		}
		if err := w.Wait(); err != nil {
			t.Errorf("fsync=%s: Wait: %v", policy, err)
		}
	}
}
