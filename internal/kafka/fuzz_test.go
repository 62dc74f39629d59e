package kafka

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/meta"
)

// panicCatcher fails the fuzz run when a handler panic is logged (conn.go
// recovers them so one bad request cannot take the server down, but a
// panic on input is still a bug).
type panicCatcher struct{ panics atomic.Int64 }

func (p *panicCatcher) Enabled(context.Context, slog.Level) bool { return true }
func (p *panicCatcher) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, "panic") {
		p.panics.Add(1)
	}
	return nil
}
func (p *panicCatcher) WithAttrs([]slog.Attr) slog.Handler { return p }
func (p *panicCatcher) WithGroup(string) slog.Handler      { return p }

func fuzzFrame(req kmsg.Request, version int16, corr int32) []byte {
	req.SetVersion(version)
	b := []byte{0, 0, 0, 0}
	b = binary.BigEndian.AppendUint16(b, uint16(req.Key()))
	b = binary.BigEndian.AppendUint16(b, uint16(version))
	b = binary.BigEndian.AppendUint32(b, uint32(corr))
	b = binary.BigEndian.AppendUint16(b, 1)
	b = append(b, 'f')
	if req.IsFlexible() {
		b = append(b, 0)
	}
	b = req.AppendTo(b)
	binary.BigEndian.PutUint32(b, uint32(len(b)-4))
	return b
}

// fuzzSeeds are whole connection byte streams: valid requests, pipelined
// requests, and damaged ones.
func fuzzSeeds() [][]byte {
	md0 := kmsg.NewPtrMetadataRequest()
	md0.Topics = []kmsg.MetadataRequestTopic{}
	md12 := kmsg.NewPtrMetadataRequest()
	t := kmsg.NewMetadataRequestTopic()
	t.Topic = kmsg.StringPtr("fuzz")
	md12.Topics = append(md12.Topics, t)
	md12.AllowAutoTopicCreation = true
	prod := kmsg.NewPtrProduceRequest()
	prod.Acks = -1
	pt := kmsg.NewProduceRequestTopic()
	pt.Topic = "fuzz"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Records = []byte{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 61, 0, 0, 0, 0, 2}
	pt.Partitions = append(pt.Partitions, pp)
	prod.Topics = append(prod.Topics, pt)
	fetch := kmsg.NewPtrFetchRequest()
	fetch.MaxWaitMillis, fetch.MinBytes = 1, 1
	ft := kmsg.NewFetchRequestTopic()
	ft.Topic = "fuzz"
	ft.Partitions = append(ft.Partitions, kmsg.NewFetchRequestTopicPartition())
	fetch.Topics = append(fetch.Topics, ft)
	ct := kmsg.NewPtrCreateTopicsRequest()
	ctt := kmsg.NewCreateTopicsRequestTopic()
	ctt.Topic, ctt.NumPartitions, ctt.ReplicationFactor = "fuzz", 1, 1
	ct.Topics = append(ct.Topics, ctt)
	lo := kmsg.NewPtrListOffsetsRequest()
	lot := kmsg.NewListOffsetsRequestTopic()
	lot.Topic = "fuzz"
	lot.Partitions = append(lot.Partitions, kmsg.NewListOffsetsRequestTopicPartition())
	lo.Topics = append(lo.Topics, lot)
	dc := kmsg.NewPtrDescribeConfigsRequest()
	dcr := kmsg.NewDescribeConfigsRequestResource()
	dcr.ResourceType, dcr.ResourceName = kmsg.ConfigResourceTypeTopic, "fuzz"
	dc.Resources = append(dc.Resources, dcr)

	av := kmsg.NewPtrApiVersionsRequest()
	av.ClientSoftwareName, av.ClientSoftwareVersion = "fuzz", "1"
	pipelined := append(fuzzFrame(kmsg.NewPtrApiVersionsRequest(), 0, 1), fuzzFrame(md0, 0, 2)...)
	valid := fuzzFrame(md12, 12, 3)
	return [][]byte{
		{},
		{0, 0},
		{0x7f, 0xff, 0xff, 0xff}, // max length announced
		pipelined,
		valid,
		append(append([]byte{}, valid...), 0xde, 0xad, 0xbe, 0xef), // valid + garbage
		valid[:len(valid)-2],
		fuzzFrame(av, 3, 4),
		fuzzFrame(kmsg.NewPtrApiVersionsRequest(), 9, 5),
		fuzzFrame(prod, 9, 6),
		fuzzFrame(prod, 3, 7),
		fuzzFrame(fetch, 11, 8),
		fuzzFrame(fetch, 16, 9),
		fuzzFrame(ct, 7, 10),
		fuzzFrame(lo, 8, 11),
		fuzzFrame(dc, 4, 12),
	}
}

// newFuzzServer is one server shared by every input of the fuzz run
// (opening a broker per input would make the fuzzer crawl), shut down by
// f.Cleanup.
func newFuzzServer(f *testing.F) (*Server, *panicCatcher) {
	dir := f.TempDir()
	m, err := meta.Open(filepath.Join(dir, "meta.db"))
	if err != nil {
		f.Fatal(err)
	}
	bc := broker.DefaultConfig()
	bc.DataDir, bc.Meta, bc.AutoCreateTopics = dir, m, false
	bc.TopicDefaults.Fsync = "never"
	b, err := broker.Open(bc)
	if err != nil {
		f.Fatal(err)
	}
	if _, err := b.CreateTopic("fuzz", 1, nil, false); err != nil {
		f.Fatal(err)
	}
	pc := &panicCatcher{}
	s := New(Config{MaxRequestBytes: 1 << 20, Logger: slog.New(pc)}, b)
	f.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		_ = b.Close()
		_ = m.Close()
	})
	return s, pc
}

// FuzzConnStream feeds arbitrary bytes to a connection, through the real
// reader, decoder, handlers and writer, and checks that the server answers
// with well-formed frames (or closes), never panics and never hangs.
func FuzzConnStream(f *testing.F) {
	for _, s := range fuzzSeeds() {
		f.Add(s)
	}
	s, pc := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		client, server := net.Pipe()
		s.accept(server, nil)
		done := make(chan []byte)
		go func() {
			out, _ := io.ReadAll(client)
			done <- out
		}()
		_ = client.SetWriteDeadline(time.Now().Add(5 * time.Second))
		_, _ = client.Write(in)
		// A pipe write returns once the server has read every byte (or
		// closed): now stop it reading, and it answers what it read.
		s.mu.Lock()
		for c := range s.mu.conns {
			if c.nc == server {
				c.stopReading()
				c.cancel() // as a shutdown would: parked fetches answer now
			}
		}
		s.mu.Unlock()
		var out []byte
		select {
		case out = <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("connection did not finish")
		}
		client.Close()
		for len(out) > 0 {
			if len(out) < 8 {
				t.Fatalf("truncated response frame: %x", out)
			}
			n := int(binary.BigEndian.Uint32(out))
			if n < 4 || n > len(out)-4 {
				t.Fatalf("response frame size %d with %d bytes left", n, len(out)-4)
			}
			out = out[4+n:]
		}
		if n := pc.panics.Load(); n > 0 {
			t.Fatalf("%d handler panics", n)
		}
	})
}

// TestWriteFuzzCorpus writes fuzzSeeds to testdata/fuzz/FuzzConnStream when
// EDDY_GEN_CORPUS=1 (run it after changing the seeds).
func TestWriteFuzzCorpus(t *testing.T) {
	if os.Getenv("EDDY_GEN_CORPUS") != "1" {
		t.Skip("set EDDY_GEN_CORPUS=1 to regenerate the seed corpus")
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzConnStream")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for i, s := range fuzzSeeds() {
		body := fmt.Sprintf("go test fuzz v1\n[]byte(%q)\n", s)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("seed-%02d", i)), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
