package broker_test

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// TestCreateTopicsOneSyncPerBatch: the valid topics of one CreateTopics
// are created together: their partition logs open without fsyncs of their
// own and one volume sync makes all of them durable (there were four
// fsyncs per partition); invalid ones get their own errors; after a power
// cut every created topic is there with its segment files.
func TestCreateTopicsOneSyncPerBatch(t *testing.T) {
	dir := t.TempDir()
	mem := vfs.NewMem()
	e := open(t, dir, func(c *broker.Config) { c.FS = mem })
	if _, err := e.b.CreateTopic("taken", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	var fileSyncs, dirSyncs, volSyncs atomic.Int64
	mem.SetFault(func(op vfs.Op, _ string) error {
		switch op {
		case vfs.OpSync:
			fileSyncs.Add(1)
		case vfs.OpSyncDir:
			dirSyncs.Add(1)
		case vfs.OpSyncVolume:
			volSyncs.Add(1)
		}
		return nil
	})
	const n = 40
	var specs []broker.TopicSpec
	for i := range n {
		specs = append(specs, broker.TopicSpec{Name: fmt.Sprintf("t%02d", i), Partitions: 3})
	}
	specs = append(specs,
		broker.TopicSpec{Name: "taken", Partitions: 1},
		broker.TopicSpec{Name: "bad/name", Partitions: 1},
		broker.TopicSpec{Name: "zero", Partitions: 0},
		broker.TopicSpec{Name: "badconfig", Partitions: 1, Configs: map[string]string{"retention.ms": "soon"}})
	res := e.b.CreateTopics(specs, false)
	mem.SetFault(nil)
	for i := range n {
		if res[i].Err != nil || res[i].Info.Name != specs[i].Name || res[i].Info.Partitions != 3 {
			t.Fatalf("topic %s: %+v", specs[i].Name, res[i])
		}
	}
	if err := res[n].Err; !errors.Is(err, broker.ErrTopicExists) {
		t.Fatalf("existing topic: %v, want ErrTopicExists", err)
	}
	if err := res[n+1].Err; !errors.Is(err, broker.ErrInvalidTopic) {
		t.Fatalf("bad name: %v, want ErrInvalidTopic", err)
	}
	if err := res[n+2].Err; !errors.Is(err, broker.ErrInvalidPartitions) {
		t.Fatalf("0 partitions: %v, want ErrInvalidPartitions", err)
	}
	if err := res[n+3].Err; err == nil || !strings.Contains(err.Error(), "retention.ms") {
		t.Fatalf("bad config: %v", err)
	}
	if f, d, v := fileSyncs.Load(), dirSyncs.Load(), volSyncs.Load(); f+d != 0 || v != 1 {
		t.Fatalf("creating %d topics of 3 partitions: %d file, %d directory and %d volume syncs, want one volume sync", n, f, d, v)
	}
	if got := len(e.b.Topics()); got != n+1 {
		t.Fatalf("%d topics listed, want %d", got, n+1)
	}

	crashed := mem.CrashClone()
	for i := range n {
		for p := range 3 {
			pdir := filepath.Join(dir, fmt.Sprintf("t%02d-%d", i, p))
			names, err := crashed.ReadDir(pdir)
			if err != nil || !hasSuffix(names, ".log") {
				t.Fatalf("after a power cut %s holds %v (%v), want its segment file", pdir, names, err)
			}
		}
	}
	e.close()
	e = open(t, dir, func(c *broker.Config) { c.FS = crashed })
	if got := len(e.b.Topics()); got != n+1 {
		t.Fatalf("after a power cut %d topics, want %d", got, n+1)
	}
	w, err := e.b.Write("t07", 2, batch(1000, 2, "v"), broker.WriteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Wait(); err != nil {
		t.Fatal(err)
	}
}

// TestCreateTopicsValidateOnlyCreatesNothing: validate-only answers each
// spec as a real creation would and creates none.
func TestCreateTopicsValidateOnlyCreatesNothing(t *testing.T) {
	e := open(t, t.TempDir(), func(c *broker.Config) { c.FS = vfs.NewMem() })
	res := e.b.CreateTopics([]broker.TopicSpec{{Name: "a", Partitions: 4}, {Name: "b", Partitions: -1}, {Name: "", Partitions: 1}}, true)
	if res[0].Err != nil || res[0].Info.Partitions != 4 || res[1].Err != nil || res[1].Info.Partitions < 1 || res[2].Err == nil {
		t.Fatalf("validate only: %+v", res)
	}
	if got := len(e.b.Topics()); got != 0 {
		t.Fatalf("validate only created %d topics", got)
	}
}

func hasSuffix(names []string, suffix string) bool {
	for _, n := range names {
		if strings.HasSuffix(n, suffix) {
			return true
		}
	}
	return false
}
