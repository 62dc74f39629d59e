package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eddy-streaming/eddy/internal/record"
	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func newScaleConnectionsCmd(o *scaleOptions) *cobra.Command {
	var points string
	var active bool
	cmd := &cobra.Command{
		Use:   "connections",
		Short: "RSS per connection and a latency probe's p99 against open Kafka connections",
		Long: `Open N Kafka connections to a fresh broker (each sends ApiVersions and stays
open; with --active each also produces one 100-byte record per second,
acks=1), then run a separate latency probe (one producer, acks=all, one
record at a time) for --duration. RSS per connection is the broker's RSS
with the connections minus its RSS before them, divided by N; the probe's
p99 is compared with the same probe before the connections opened.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ps, err := parsePoints(points)
			if err != nil {
				return err
			}
			return runScaleConnections(cmd, o, ps, active)
		},
	}
	cmd.Flags().StringVar(&points, "points", "10,1000,10000", "connection counts to measure, comma-separated")
	cmd.Flags().BoolVar(&active, "active", false, "each connection produces 1 record/s instead of staying idle")
	return cmd
}

func runScaleConnections(cmd *cobra.Command, o *scaleOptions, points []int, active bool) error {
	ts, err := o.targets()
	if err != nil {
		return err
	}
	if lim := raiseFileLimit(slog.New(slog.DiscardHandler)); lim > 0 {
		for _, n := range points {
			if uint64(n)+256 > lim {
				return fmt.Errorf("%d connections need more open files than this process may have (%d)", n, lim)
			}
		}
	}
	mode := "idle"
	if active {
		mode = "1 record/s each"
	}
	r := o.newReport("connections", ts, map[string]any{"mode": mode, "probe_seconds": o.duration.Seconds()})
	r.Columns = []scaleColumn{
		{"rss_mb", "RSS MB", "%.0f"}, {"rss_added_mb", "RSS added MB", "%.1f"},
		{"kib_per_conn", "KiB per connection", "%.1f"}, {"goroutines", "goroutines", "%.0f"},
		{"probe_p50_ms", "probe p50 ms", "%.2f"}, {"probe_p99_ms", "probe p99 ms", "%.2f"},
		{"probe_p99_base_ms", "probe p99 ms, no connections", "%.2f"}, {"p99_ratio", "p99 ×", "%.2f"},
		{"opened", "connections open", "%.0f"},
	}
	r.charts = []scaleChartDef{
		{File: "connections-rss.png", Title: "Broker RSS added (MB) against connections (" + mode + ")", Key: "rss_added_mb", YLabel: "MB", LogX: true},
		{File: "connections-p99.png", Title: "Latency probe p99 (ms) against connections (" + mode + ")", Key: "probe_p99_ms", YLabel: "ms", LogX: true},
	}
	for _, x := range points {
		for _, t := range ts {
			p := scalePoint{Target: t.Name, X: float64(x), Values: map[string]float64{}}
			if err := measureConnections(cmd.Context(), o, t, x, active, &p); err != nil {
				p.Error = err.Error()
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "eddy bench scale connections: %s at %d: %.1f KiB/conn, probe p99 %.2f ms %s\n",
				t.Name, x, p.Values["kib_per_conn"], p.Values["probe_p99_ms"], p.Error)
			r.Points = append(r.Points, p)
		}
	}
	return o.finish(cmd, r)
}

func measureConnections(ctx context.Context, o *scaleOptions, t scaleTarget, n int, active bool, p *scalePoint) error {
	dir, s, err := o.startPoint(t, n)
	if err != nil {
		return err
	}
	defer cleanupPoint(dir)
	defer s.kill()
	for _, topic := range []string{"probe", "conns"} {
		if _, err := createTopic(ctx, s.kafka, topic, 1, nil); err != nil {
			return err
		}
	}
	base, err := probeLatency(ctx, s.kafka, o.duration)
	if err != nil {
		return fmt.Errorf("probe without connections: %w", err)
	}
	p.Values["probe_p99_base_ms"] = base.P99ms
	time.Sleep(200 * time.Millisecond)
	before, err := readProc(s.pid())
	if err != nil {
		return err
	}
	cs := &connSwarm{addr: s.kafka, active: active}
	defer cs.close()
	if err := cs.open(ctx, n); err != nil {
		p.Values["opened"] = float64(cs.opened.Load())
		return err
	}
	p.Values["opened"] = float64(cs.opened.Load())
	time.Sleep(time.Second)
	mid, err := readProc(s.pid())
	if err != nil {
		return err
	}
	lat, err := probeLatency(ctx, s.kafka, o.duration)
	if err != nil {
		return fmt.Errorf("probe with %d connections: %w", n, err)
	}
	after, err := readProc(s.pid())
	if err != nil {
		return err
	}
	rss := max(mid.RSSBytes, after.RSSBytes)
	p.Values["rss_mb"] = mb(rss)
	p.Values["rss_added_mb"] = mb(rss - before.RSSBytes)
	p.Values["kib_per_conn"] = float64(rss-before.RSSBytes) / 1024 / float64(n)
	p.Values["goroutines"] = float64(s.goroutines(ctx))
	p.Values["probe_p50_ms"] = lat.P50ms
	p.Values["probe_p99_ms"] = lat.P99ms
	if base.P99ms > 0 {
		p.Values["p99_ratio"] = lat.P99ms / base.P99ms
	}
	if e := cs.errs.n.Load(); e > 0 {
		return fmt.Errorf("%d connection error(s); first: %s", e, *cs.errs.first.Load())
	}
	return nil
}

// probeLatency produces one 100-byte record at a time (acks=all,
// idempotent, linger 0) to topic probe for d and returns the latencies.
func probeLatency(ctx context.Context, brokers string, d time.Duration) (*latencySummary, error) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.DefaultProduceTopic("probe"),
		kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(0))
	if err != nil {
		return nil, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return nil, err
	}
	var h latencyHist
	val := payload(100)
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		start := time.Now()
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: val}).FirstErr(); err != nil {
			return nil, err
		}
		h.Record(time.Since(start))
		time.Sleep(2 * time.Millisecond) // a probe, not a load
	}
	s := h.Summary()
	if s == nil {
		return nil, errors.New("no probe record acknowledged")
	}
	return s, nil
}

// connSwarm holds many raw Kafka connections: each sends ApiVersions and
// then stays idle or produces one record per second (acks=1).
type connSwarm struct {
	addr   string
	active bool
	opened atomic.Int64
	errs   errorCounter
	mu     sync.Mutex
	conns  []net.Conn
	wg     sync.WaitGroup
	stop   chan struct{}
}

func (cs *connSwarm) open(ctx context.Context, n int) error {
	cs.stop = make(chan struct{})
	produce := buildProduceFrame()
	apiVersions := kmsg.NewRequestFormatter(kmsg.FormatterClientID("eddy-scale")).AppendRequest(nil, &kmsg.ApiVersionsRequest{Version: 3, ClientSoftwareName: "eddy-scale", ClientSoftwareVersion: "1"}, 1)
	sem := make(chan struct{}, 64) // dials at once
	var first atomic.Pointer[error]
	var wg sync.WaitGroup
	for range n {
		if ctx.Err() != nil || first.Load() != nil {
			break
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", cs.addr, 10*time.Second)
			if err == nil {
				err = roundTrip(c, apiVersions)
			}
			if err != nil {
				first.CompareAndSwap(nil, &err)
				if c != nil {
					c.Close()
				}
				return
			}
			cs.mu.Lock()
			cs.conns = append(cs.conns, c)
			cs.mu.Unlock()
			cs.opened.Add(1)
			if cs.active {
				cs.wg.Add(1)
				go cs.produceEverySecond(c, produce)
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return fmt.Errorf("open connection %d of %d: %w", cs.opened.Load()+1, n, *e)
	}
	return nil
}

// produceEverySecond sends the produce frame once a second, from a random
// phase, until the swarm stops.
func (cs *connSwarm) produceEverySecond(c net.Conn, frame []byte) {
	defer cs.wg.Done()
	own := append([]byte(nil), frame...)
	select {
	case <-time.After(time.Duration(rand.Int64N(int64(time.Second)))):
	case <-cs.stop:
		return
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for corr := int32(2); ; corr++ {
		binary.BigEndian.PutUint32(own[8:], uint32(corr)) // correlation id after size, key, version
		if err := roundTrip(c, own); err != nil {
			select {
			case <-cs.stop:
			default:
				cs.errs.Add(err)
			}
			return
		}
		select {
		case <-t.C:
		case <-cs.stop:
			return
		}
	}
}

func (cs *connSwarm) close() {
	if cs.stop != nil {
		close(cs.stop)
	}
	cs.mu.Lock()
	for _, c := range cs.conns {
		c.Close()
	}
	cs.conns = nil
	cs.mu.Unlock()
	cs.wg.Wait()
}

// roundTrip writes one request frame and reads one response frame.
func roundTrip(c net.Conn, frame []byte) error {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	defer c.SetDeadline(time.Time{})
	if _, err := c.Write(frame); err != nil {
		return err
	}
	br := bufio.NewReaderSize(c, 64)
	var size [4]byte
	if _, err := io.ReadFull(br, size[:]); err != nil {
		return err
	}
	n := binary.BigEndian.Uint32(size[:])
	_, err := io.CopyN(io.Discard, br, int64(n))
	return err
}

// buildProduceFrame encodes a Produce request (acks=1) of one 100-byte
// record to topic conns, partition 0.
func buildProduceFrame() []byte {
	b := record.NewBuilder(record.NewHeader(time.Now().UnixMilli()))
	b.BeginRecord(0, 0, nil, payload(100), 0)
	b.EndRecord()
	batch, err := b.Finish(record.CodecNone)
	if err != nil {
		panic(err) // uncompressed: cannot fail
	}
	req := kmsg.NewPtrProduceRequest()
	req.Version = 7
	req.Acks = 1
	req.TimeoutMillis = 5000
	tp := kmsg.NewProduceRequestTopic()
	tp.Topic = "conns"
	pp := kmsg.NewProduceRequestTopicPartition()
	pp.Partition = 0
	pp.Records = append([]byte(nil), batch...)
	tp.Partitions = append(tp.Partitions, pp)
	req.Topics = append(req.Topics, tp)
	return kmsg.NewRequestFormatter(kmsg.FormatterClientID("eddy-scale")).AppendRequest(nil, req, 2)
}
