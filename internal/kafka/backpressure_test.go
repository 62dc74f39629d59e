package kafka

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// slowFS is the OS filesystem with a slow fsync: a disk slower than the
// producers.
type slowFS struct {
	vfs.FS
	delay time.Duration
}

type slowFile struct {
	vfs.File
	delay time.Duration
}

func (f slowFile) Sync() error { time.Sleep(f.delay); return f.File.Sync() }

func (s slowFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	f, err := s.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return slowFile{f, s.delay}, nil
}

func testBatch(value []byte) []byte {
	r := kmsg.NewRecord()
	r.Value = value
	r.Length = int32(len(r.AppendTo(nil)) - 1) // the body after the 1-byte zero length
	b := kmsg.RecordBatch{Magic: 2, ProducerID: -1, ProducerEpoch: -1, FirstSequence: -1, NumRecords: 1, Records: r.AppendTo(nil)}
	out := b.AppendTo(nil)
	binary.BigEndian.PutUint32(out[8:], uint32(len(out)-12))
	binary.BigEndian.PutUint32(out[17:], crc32.Checksum(out[21:], crc32.MakeTable(crc32.Castagnoli)))
	return out
}

func produceFrame(topic string, batch []byte, corr int32) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = 1, 30000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return fuzzFrame(req, 7, corr)
}

// TestBackpressureSlowDisk blasts produce requests at a server whose fsync
// takes 50 ms, from raw connections that pipeline without waiting for
// answers. The produce budget must cap what waits on fsync, the server's
// heap must stay flat, and a consumer on another connection must keep
// getting answers quickly.
func TestBackpressureSlowDisk(t *testing.T) {
	dir := t.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.FS = dir, m, slowFS{vfs.OS(), 50 * time.Millisecond}
	b, err := broker.Open(bc)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, tp := range []string{"flood", "quiet"} {
		if _, err := b.CreateTopic(tp, 1, nil, false); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := b.Append("quiet", 0, testBatch([]byte("hello"))); err != nil {
		t.Fatal(err)
	}
	const budgetBytes = 4 << 20
	s := New(Config{Addr: "127.0.0.1:0", ProduceBytesBudget: budgetBytes, MaxInflightPerConn: 64}, b)
	if err := s.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
	}()
	addr := s.Addr().String()

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseHeap := ms.HeapInuse

	ctx, stop := context.WithTimeout(context.Background(), 3*time.Second)
	defer stop()
	var wg sync.WaitGroup
	var sent, acked atomic.Int64
	value := make([]byte, 256<<10)
	var conns []net.Conn
	for p := 0; p < 4; p++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		wg.Add(2)
		go func() { // writer: never waits for answers; blocks when pushed back
			defer wg.Done()
			for corr := int32(1); ctx.Err() == nil; corr++ {
				f := produceFrame("flood", testBatch(value), corr)
				if _, err := c.Write(f); err != nil {
					return
				}
				sent.Add(int64(len(f)))
			}
		}()
		go func() { // reader: drains answers
			defer wg.Done()
			var size [4]byte
			for {
				if _, err := io.ReadFull(c, size[:]); err != nil {
					return
				}
				if _, err := io.CopyN(io.Discard, c, int64(binary.BigEndian.Uint32(size[:]))); err != nil {
					return
				}
				acked.Add(1)
			}
		}()
	}

	// A consumer on its own connection keeps being served.
	var maxLat time.Duration
	var fetches int
	peakHeap := uint64(0)
	cons, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer cons.Close()
	for corr := int32(1); ctx.Err() == nil; corr++ {
		fr := kmsg.NewPtrFetchRequest()
		fr.MaxBytes, fr.SessionEpoch = 1<<20, -1
		ft := kmsg.NewFetchRequestTopic()
		ft.Topic = "quiet"
		fp := kmsg.NewFetchRequestTopicPartition()
		fp.PartitionMaxBytes = 1 << 20
		ft.Partitions = append(ft.Partitions, fp)
		fr.Topics = append(fr.Topics, ft)
		start := time.Now()
		_ = cons.SetDeadline(time.Now().Add(5 * time.Second))
		if _, err := cons.Write(fuzzFrame(fr, 11, corr)); err != nil {
			t.Fatalf("consumer write: %v", err)
		}
		var size [4]byte
		if _, err := io.ReadFull(cons, size[:]); err != nil {
			t.Fatalf("consumer read: %v", err)
		}
		body := make([]byte, binary.BigEndian.Uint32(size[:]))
		if _, err := io.ReadFull(cons, body); err != nil {
			t.Fatalf("consumer read: %v", err)
		}
		resp := kmsg.NewPtrFetchResponse()
		resp.Version = 11
		if err := resp.ReadFrom(body[4:]); err != nil || len(resp.Topics[0].Partitions[0].RecordBatches) == 0 {
			t.Fatalf("consumer fetch: %v %+v", err, resp)
		}
		maxLat = max(maxLat, time.Since(start))
		fetches++
		runtime.ReadMemStats(&ms)
		peakHeap = max(peakHeap, ms.HeapInuse)
		time.Sleep(20 * time.Millisecond)
	}
	stop()
	// Closing the client side ends both blocked writers and readers.
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()

	peakBudget := s.budget.Peak()
	growth := int64(peakHeap) - int64(baseHeap)
	t.Logf("sent %d MiB, %d produce answers, budget peak %d KiB, heap growth %d MiB, %d consumer fetches, max latency %v",
		sent.Load()>>20, acked.Load(), peakBudget>>10, growth>>20, fetches, maxLat)
	if peakBudget > budgetBytes {
		t.Fatalf("budget peak %d above its cap %d", peakBudget, budgetBytes)
	}
	if peakBudget < budgetBytes/2 {
		t.Fatalf("budget peak %d: the producers never filled it, the test did not push", peakBudget)
	}
	// Bounded by the budget, the per-connection in-flight frames being
	// read, and kernel/user buffers: far below what 3 s of unthrottled
	// 256 KiB frames would pile up.
	if growth > 96<<20 {
		t.Fatalf("heap grew %d MiB under a %d MiB produce budget", growth>>20, budgetBytes>>20)
	}
	if maxLat > time.Second {
		t.Fatalf("consumer fetch took %v while producers were throttled", maxLat)
	}
}
