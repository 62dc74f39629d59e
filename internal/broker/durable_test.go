package broker_test

import (
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/vfs"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// roundLogs returns the count and sum of eddy_log_group_commit_logs: commit
// rounds, and the logs they made durable.
func roundLogs(t *testing.T, reg *prometheus.Registry) (rounds uint64, logs float64) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == "eddy_log_group_commit_logs" {
			var h *dto.Histogram = mf.GetMetric()[0].GetHistogram()
			return h.GetSampleCount(), h.GetSampleSum()
		}
	}
	return 0, 0
}

// A write to several partitions (one produce request) that queues every
// partition before waiting is made durable by one commit round.
func TestQueueSyncSharesOneRoundAcrossPartitions(t *testing.T) {
	reg := prometheus.NewRegistry()
	e := open(t, t.TempDir(), func(c *broker.Config) {
		c.FS = vfs.NewMem()
		c.Registerer = reg
	})
	const parts = 6
	if _, err := e.b.CreateTopic("orders", parts, nil, false); err != nil {
		t.Fatal(err)
	}
	for _, queue := range []bool{true, false} {
		r0, l0 := roundLogs(t, reg)
		ws := make([]*broker.WriteResult, parts)
		for p := range ws {
			w, err := e.b.Write("orders", int32(p), batch(1000, 2, "v"), broker.WriteOptions{})
			if err != nil {
				t.Fatal(err)
			}
			ws[p] = w
		}
		if queue {
			for _, w := range ws {
				w.QueueSync()
			}
		}
		for _, w := range ws {
			if err := w.Wait(); err != nil {
				t.Fatal(err)
			}
		}
		r1, l1 := roundLogs(t, reg)
		rounds, logs := r1-r0, l1-l0
		switch {
		case queue && (rounds != 1 || logs != parts):
			t.Fatalf("queued: %d rounds covering %.0f logs, want 1 covering %d", rounds, logs, parts)
		case !queue && rounds != parts:
			t.Fatalf("control without QueueSync: %d rounds, want %d", rounds, parts)
		}
	}
}
