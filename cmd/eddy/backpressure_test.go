package main

import (
	"context"
	"encoding/binary"
	"hash/crc32"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/eddy-streaming/eddy/internal/config"
	"github.com/eddy-streaming/eddy/internal/node"
	"github.com/eddy-streaming/eddy/internal/vfs"
)

// slowSyncFS is the OS filesystem with every fsync of a file whose name
// ends in suffix ("" = every file) taking at least delay, and each ReadAt
// of such a file readDelay: a disk much slower than the producers.
type slowSyncFS struct {
	vfs.FS
	delay     time.Duration
	readDelay time.Duration
	suffix    string
}

func (f slowSyncFS) OpenFile(name string, flag int, perm os.FileMode) (vfs.File, error) {
	file, err := f.FS.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(name, f.suffix) {
		return file, nil
	}
	return slowSyncFile{file, f.delay, f.readDelay}, nil
}

func (f slowSyncFS) Open(name string) (vfs.File, error) {
	file, err := f.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if !strings.HasSuffix(name, f.suffix) {
		return file, nil
	}
	return slowSyncFile{file, f.delay, f.readDelay}, nil
}

type slowSyncFile struct {
	vfs.File
	delay, readDelay time.Duration
}

func (f slowSyncFile) ReadAt(b []byte, off int64) (int, error) {
	if f.readDelay > 0 {
		time.Sleep(f.readDelay)
	}
	return f.File.ReadAt(b, off)
}

func (f slowSyncFile) Sync() error {
	time.Sleep(f.delay)
	return f.File.Sync()
}

// recordBatch encodes one uncompressed RecordBatch v2 of n records with
// valueSize-byte values.
func recordBatch(n, valueSize int) []byte {
	var recs []byte
	value := make([]byte, valueSize)
	for i := range value {
		value[i] = byte('a' + i%26)
	}
	for i := range n {
		var body []byte
		body = append(body, 0)                     // attributes
		body = binary.AppendVarint(body, 0)        // timestamp delta
		body = binary.AppendVarint(body, int64(i)) // offset delta
		body = binary.AppendVarint(body, -1)       // null key
		body = binary.AppendVarint(body, int64(len(value)))
		body = append(body, value...)
		body = binary.AppendVarint(body, 0) // no headers
		recs = binary.AppendVarint(recs, int64(len(body)))
		recs = append(recs, body...)
	}
	now := time.Now().UnixMilli()
	b := make([]byte, 61, 61+len(recs))
	binary.BigEndian.PutUint64(b[0:], 0)                    // base offset
	binary.BigEndian.PutUint32(b[8:], uint32(49+len(recs))) // batch length
	binary.BigEndian.PutUint32(b[12:], 0xffffffff)          // partition leader epoch
	b[16] = 2                                               // magic
	binary.BigEndian.PutUint16(b[21:], 0)                   // attributes
	binary.BigEndian.PutUint32(b[23:], uint32(n-1))         // last offset delta
	binary.BigEndian.PutUint64(b[27:], uint64(now))         // base timestamp
	binary.BigEndian.PutUint64(b[35:], uint64(now))         // max timestamp
	binary.BigEndian.PutUint64(b[43:], 0xffffffffffffffff)  // producer id -1
	binary.BigEndian.PutUint16(b[51:], 0xffff)              // producer epoch -1
	binary.BigEndian.PutUint32(b[53:], 0xffffffff)          // base sequence -1
	binary.BigEndian.PutUint32(b[57:], uint32(n))           // record count
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[17:], crc32.Checksum(b[21:], crc32.MakeTable(crc32.Castagnoli)))
	return b
}

// produceFrame is a whole Produce v7 request frame (acks=-1) carrying batch
// to topic/partition.
func produceFrame(topic string, partition int32, batch []byte) []byte {
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = -1
	req.TimeoutMillis = 60000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = topic
	rp := kmsg.NewProduceRequestTopicPartition()
	rp.Partition = partition
	rp.Records = batch
	rt.Partitions = append(rt.Partitions, rp)
	req.Topics = append(req.Topics, rt)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("flood")).AppendRequest(nil, req, 1)
}

// TestBackpressureBoundsMemory floods an in-process server whose disk
// fsyncs take 100 ms with pipelined 1 MiB produce requests on 8 connections
// (each may have 32 in flight: 256 MiB if nothing pushed back) and checks
// that the heap stays bounded by the produce budget plus a constant, that
// throughput is many times the budget (so the bound is not from idling),
// and that a consumer on its own connection keeps being served.
func TestBackpressureBoundsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("floods a server for a few seconds")
	}
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())

	const (
		budget     = 8 << 20
		producers  = 8
		partitions = 4
		syncDelay  = 100 * time.Millisecond
		runFor     = 3 * time.Second
	)
	cfg := config.Default()
	cfg.DataDir = t.TempDir()
	cfg.KafkaAddr, cfg.HTTPAddr, cfg.SchemaRegistryAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.MaxRequestBytes = 2 << 20
	cfg.ProduceBytesBudget = budget
	cfg.MaxInflightPerConn = 32
	s, err := openNode(cfg, slog.New(slog.DiscardHandler), slowSyncFS{FS: vfs.OS(), delay: syncDelay})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := s.Close(ctx); err != nil {
			t.Errorf("close: %v", err)
		}
	}()
	if _, err := s.Broker.CreateTopic("flood", partitions, nil, false); err != nil {
		t.Fatal(err)
	}
	addr := s.Kafka.Addr().String()

	batch := recordBatch(1024, 1000) // ~1 MiB
	frames := make([][]byte, partitions)
	for p := range frames {
		frames[p] = produceFrame("flood", int32(p), batch)
	}

	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	baseline := ms.HeapInuse

	ctx, stop := context.WithTimeout(context.Background(), runFor)
	defer stop()
	var (
		wg       sync.WaitGroup
		acked    atomic.Int64
		sent     atomic.Int64
		consumed atomic.Int64
	)
	for i := range producers {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		frame := frames[i%partitions]
		wg.Add(2)
		go func() { // writer: as fast as the socket takes them
			defer wg.Done()
			for ctx.Err() == nil {
				_ = conn.SetWriteDeadline(time.Now().Add(100 * time.Millisecond))
				if _, err := conn.Write(frame); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() {
						continue // pushed back; a partial frame will be completed next round
					}
					return
				}
				sent.Add(1)
			}
		}()
		go func() { // reader: count acknowledgements until the writer is done
			defer wg.Done()
			defer conn.Close()
			var size [4]byte
			buf := make([]byte, 64<<10)
			for {
				_ = conn.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
				if _, err := io.ReadFull(conn, size[:]); err != nil {
					if ne, ok := err.(net.Error); ok && ne.Timeout() && ctx.Err() == nil {
						continue
					}
					return
				}
				n := int(binary.BigEndian.Uint32(size[:]))
				if n > len(buf) {
					buf = make([]byte, n)
				}
				if _, err := io.ReadFull(conn, buf[:n]); err != nil {
					return
				}
				acked.Add(1)
			}
		}()
	}
	// A consumer on its own connection, reading partition 0 from the start.
	cons, err := kgo.NewClient(kgo.SeedBrokers(addr), kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{"flood": {0: kgo.NewOffset().AtStart()}}),
		kgo.FetchMaxBytes(4<<20), kgo.FetchMaxPartitionBytes(2<<20))
	if err != nil {
		t.Fatal(err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			consumed.Add(int64(cons.PollFetches(ctx).NumRecords()))
		}
	}()

	var peak uint64
	var peakBudget float64
	tick := time.NewTicker(20 * time.Millisecond)
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			if v := gaugeValue(t, s, "eddy_kafka_produce_budget_in_use_bytes"); v > peakBudget {
				peakBudget = v
			}
		}
	}
	tick.Stop()
	wg.Wait()
	cons.Close()

	growth := int64(peak) - int64(baseline)
	t.Logf("8 producers, fsync %v: %d requests sent, %d acknowledged (%.0f MiB), consumer read %d records; heap baseline %.1f MiB, peak %.1f MiB (+%.1f MiB); budget peak %.1f of %d MiB",
		syncDelay, sent.Load(), acked.Load(), float64(acked.Load()*int64(len(batch)))/(1<<20), consumed.Load(),
		float64(baseline)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20), peakBudget/(1<<20), budget>>20)

	if got := acked.Load() * int64(len(batch)); got < 3*budget {
		t.Errorf("only %d bytes acknowledged in %v; the flood did not stress the budget", got, runFor)
	}
	if peakBudget < budget/2 || peakBudget > budget {
		t.Errorf("produce budget in use peaked at %.0f bytes, want between half of and the budget %d", peakBudget, budget)
	}
	// Without backpressure the server would hold up to producers × 32 in-flight
	// × 1 MiB = 256 MiB. With it: the budget, one frame per connection being
	// read, and garbage the GC has not yet collected (GOGC=100 lets the heap
	// reach twice the live set).
	if limit := int64(64 << 20); growth > limit {
		t.Errorf("heap grew by %d MiB under a flood, want at most %d MiB", growth>>20, limit>>20)
	}
	if consumed.Load() == 0 {
		t.Error("the consumer read nothing while producers were throttled")
	}
}

// gaugeValue reads an unlabelled gauge from the server's registry.
func gaugeValue(t *testing.T, s *node.Node, name string) float64 {
	t.Helper()
	mfs, err := s.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("gauge %s not registered", name)
	return 0
}
