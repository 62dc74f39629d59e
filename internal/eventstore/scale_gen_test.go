package eventstore

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// TestGenerateManyStreamsDataDir writes an `eddy serve` data directory
// (meta.db, the partition logs, streams.idx) holding EDDY_GEN_STREAMS
// streams (default 10,000,000) of one event each in the event-store topic
// "many" (one partition), for measuring a real server's RSS and crash
// restart with that many streams (docs/benchmarks.md, "Event store").
// It runs only when EDDY_GEN_DIR names the directory to create.
func TestGenerateManyStreamsDataDir(t *testing.T) {
	dir := os.Getenv("EDDY_GEN_DIR")
	if dir == "" {
		t.Skip("set EDDY_GEN_DIR to generate a many-streams data directory")
	}
	streams := 10_000_000
	if v := os.Getenv("EDDY_GEN_STREAMS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			t.Fatalf("EDDY_GEN_STREAMS=%q", v)
		}
		streams = n
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	es, err := Open(Config{Path: filepath.Join(dir, "streams.idx")})
	if err != nil {
		t.Fatal(err)
	}
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.Hooks = dir, m, []broker.AppendHook{es}
	br, err := broker.Open(bc)
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()
	if err := es.Recover(br); err != nil {
		t.Fatal(err)
	}
	// fsync=never while loading (the disk is shared); the server is
	// measured with the default, always.
	if _, err := br.CreateTopic("many", 1, map[string]string{broker.ConfigStreams: "true", broker.ConfigFsync: "never",
		broker.ConfigRetentionMs: "-1", broker.ConfigRetentionBytes: "-1"}, false); err != nil {
		t.Fatal(err)
	}
	if _, err := es.EnsureTopic("many"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for s := 0; s < streams; s += 1000 {
		bb := newBatchBuilder(time.Now().UnixMilli())
		for k := s; k < s+1000 && k < streams; k++ {
			bb.add(bb.ts, []byte("order-"+strconv.Itoa(k)), []byte(`{"qty":1}`), nil)
		}
		if _, err := br.Append("many", 0, bb.finish()); err != nil {
			t.Fatal(err)
		}
		if s%1_000_000 == 0 {
			t.Logf("%d streams after %v", s, time.Since(start).Round(time.Second))
		}
	}
	if err := es.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := br.AlterTopicConfigs("many", []broker.ConfigOp{{Name: broker.ConfigFsync, Op: broker.OpSet, Value: "always"}}, false); err != nil {
		t.Fatal(err)
	}
	if v, err := es.Head("many", "order-"+strconv.Itoa(streams-1)); err != nil || v != 0 {
		t.Fatalf("head of the last stream: %d, %v", v, err)
	}
	if err := es.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d streams in %v", streams, time.Since(start).Round(time.Second))
}
