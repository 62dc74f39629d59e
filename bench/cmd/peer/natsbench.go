package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// result mirrors the fields of `eddy bench --json` that the harness reads.
type result struct {
	Scenario      string   `json:"scenario"`
	Partitions    int      `json:"partitions"`
	RecordSize    int      `json:"record_size"`
	Records       int64    `json:"records"`
	Bytes         int64    `json:"bytes"`
	Errors        int64    `json:"errors"`
	FirstError    string   `json:"first_error,omitempty"`
	Seconds       float64  `json:"seconds"`
	RecordsPerSec float64  `json:"records_per_sec"`
	MBPerSec      float64  `json:"mb_per_sec"`
	Truncated     bool     `json:"truncated"`
	Latency       *latency `json:"latency,omitempty"`
}

type latency struct {
	Count  int     `json:"count"`
	P50ms  float64 `json:"p50_ms"`
	P90ms  float64 `json:"p90_ms"`
	P99ms  float64 `json:"p99_ms"`
	P999ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
}

// samples collects latencies; runs are seconds long, so a sorted slice is
// simple and exact.
type samples struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *samples) add(d time.Duration) {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
}

func (s *samples) summary() *latency {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.d) == 0 {
		return nil
	}
	slices.Sort(s.d)
	q := func(p float64) float64 {
		i := min(int(p*float64(len(s.d))), len(s.d)-1)
		return float64(s.d[i]) / 1e6
	}
	return &latency{Count: len(s.d), P50ms: q(0.5), P90ms: q(0.9), P99ms: q(0.99), P999ms: q(0.999),
		MaxMs: float64(s.d[len(s.d)-1]) / 1e6}
}

type natsFlags struct {
	url        string
	stream     string
	subjects   int
	recordSize int
	records    int64
	producers  int
	maxPending int
	duration   time.Duration
	rate       int
	warmup     int64
	syncNote   string
}

func runNATSBench(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: peer natsbench produce|consume|e2e [flags]")
	}
	var f natsFlags
	fs := flag.NewFlagSet("natsbench", flag.ContinueOnError)
	fs.StringVar(&f.url, "url", nats.DefaultURL, "NATS server URL")
	fs.StringVar(&f.stream, "stream", "BENCH", "JetStream stream (created with file storage when missing)")
	fs.IntVar(&f.subjects, "subjects", 1, "subjects to spread publishes over (the partitions' counterpart)")
	fs.IntVar(&f.recordSize, "record-size", 100, "message size in bytes")
	fs.Int64Var(&f.records, "records", 1_000_000, "messages to publish or read (consume: 0 = all)")
	fs.IntVar(&f.producers, "producers", 1, "concurrent publisher connections")
	fs.IntVar(&f.maxPending, "max-pending", 10000, "unacknowledged async publishes per publisher")
	fs.DurationVar(&f.duration, "duration", 5*time.Minute, "stop after this long")
	fs.IntVar(&f.rate, "rate", 10000, "e2e: messages per second")
	fs.Int64Var(&f.warmup, "warmup", 1000, "e2e: messages sent first and not measured")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), f.duration)
	defer cancel()
	var res result
	var err error
	switch args[0] {
	case "produce":
		res, err = natsProduce(ctx, &f)
	case "consume":
		res, err = natsConsume(ctx, &f)
	case "e2e":
		res, err = natsE2E(ctx, &f)
	default:
		return fmt.Errorf("unknown scenario %q", args[0])
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(res)
}

func (r *result) finish(el time.Duration) {
	r.Seconds = el.Seconds()
	if r.Seconds > 0 {
		r.RecordsPerSec = float64(r.Records) / r.Seconds
		r.MBPerSec = float64(r.Bytes) / 1e6 / r.Seconds
	}
}

func connect(ctx context.Context, f *natsFlags, create bool) (*nats.Conn, jetstream.JetStream, error) {
	nc, err := nats.Connect(f.url, nats.Name("eddy-natsbench"))
	if err != nil {
		return nil, nil, fmt.Errorf("connect %s: %w", f.url, err)
	}
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncMaxPending(2*f.maxPending+16))
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("jetstream: %w", err)
	}
	if create {
		_, err = js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
			Name:     f.stream,
			Subjects: []string{f.stream + ".>"},
			Storage:  jetstream.FileStorage,
			Replicas: 1,
		})
		if err != nil {
			nc.Close()
			return nil, nil, fmt.Errorf("create stream %s: %w", f.stream, err)
		}
	}
	return nc, js, nil
}

func (f *natsFlags) subject(i int64) string {
	return fmt.Sprintf("%s.%d", f.stream, i%int64(f.subjects))
}

type errCount struct {
	n     atomic.Int64
	first atomic.Pointer[string]
}

func (e *errCount) add(err error) {
	e.n.Add(1)
	s := err.Error()
	e.first.CompareAndSwap(nil, &s)
}

func (e *errCount) fill(r *result) {
	r.Errors = e.n.Load()
	if s := e.first.Load(); s != nil {
		r.FirstError = *s
	}
}

type pending struct {
	fut  jetstream.PubAckFuture
	sent time.Time
	n    int
}

// publisher publishes asynchronously with at most maxPending acks
// outstanding, recording each ack's latency, as a franz-go producer with
// max-buffered-records does.
func natsPublisher(ctx context.Context, js jetstream.JetStream, f *natsFlags, next func() (int64, bool),
	value func(i int64) []byte, onAck func(p pending), errs *errCount) {
	inflight := make(chan pending, f.maxPending)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for p := range inflight {
			select {
			case <-p.fut.Ok():
				onAck(p)
			case err := <-p.fut.Err():
				errs.add(err)
			case <-ctx.Done():
				// Drain the channel without waiting.
			}
		}
	}()
	for ctx.Err() == nil {
		i, ok := next()
		if !ok {
			break
		}
		v := value(i)
		now := time.Now()
		// natsPublisher bounds outstanding acks itself (inflight), so
		// nats.go's own stall limit is only a backstop.
		fut, err := js.PublishAsync(f.subject(i), v, jetstream.WithStallWait(time.Minute))
		if err != nil {
			errs.add(err)
			break
		}
		select {
		case inflight <- pending{fut: fut, sent: now, n: len(v)}:
		case <-ctx.Done():
		}
	}
	close(inflight)
	<-done
}

func natsProduce(ctx context.Context, f *natsFlags) (result, error) {
	val := make([]byte, f.recordSize)
	for i := range val {
		val[i] = byte('a' + i%26)
	}
	conns := make([]*nats.Conn, f.producers)
	jss := make([]jetstream.JetStream, f.producers)
	for i := range conns {
		nc, js, err := connect(ctx, f, i == 0)
		if err != nil {
			return result{}, err
		}
		defer nc.Close()
		conns[i], jss[i] = nc, js
	}
	var (
		issued, acked atomic.Int64
		lat           samples
		errs          errCount
		wg            sync.WaitGroup
	)
	start := time.Now()
	for _, js := range jss {
		wg.Add(1)
		go func() {
			defer wg.Done()
			natsPublisher(ctx, js, f,
				func() (int64, bool) { i := issued.Add(1) - 1; return i, i < f.records },
				func(int64) []byte { return val },
				func(p pending) { lat.add(time.Since(p.sent)); acked.Add(1) }, &errs)
		}()
	}
	wg.Wait()
	el := time.Since(start)
	n := acked.Load()
	res := result{Scenario: "produce", Partitions: f.subjects, RecordSize: f.recordSize, Records: n,
		Bytes: n * int64(f.recordSize), Truncated: n < f.records, Latency: lat.summary()}
	if ctx.Err() == nil {
		errs.fill(&res)
	}
	res.finish(el)
	return res, nil
}

func natsConsume(ctx context.Context, f *natsFlags) (result, error) {
	nc, js, err := connect(ctx, f, false)
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	st, err := js.Stream(ctx, f.stream)
	if err != nil {
		return result{}, fmt.Errorf("stream %s: %w", f.stream, err)
	}
	info, err := st.Info(ctx)
	if err != nil {
		return result{}, fmt.Errorf("stream info: %w", err)
	}
	target := int64(info.State.Msgs)
	if f.records > 0 {
		target = min(target, f.records)
	}
	if target == 0 {
		return result{}, errors.New("stream is empty")
	}
	start := time.Now()
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverAllPolicy})
	if err != nil {
		return result{}, fmt.Errorf("ordered consumer: %w", err)
	}
	var n, b atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	cc, err := cons.Consume(func(m jetstream.Msg) {
		b.Add(int64(len(m.Data())))
		if n.Add(1) == target {
			once.Do(func() { close(all) })
		}
	}, jetstream.PullMaxMessages(1000))
	if err != nil {
		return result{}, fmt.Errorf("consume: %w", err)
	}
	select {
	case <-all:
	case <-ctx.Done():
	}
	el := time.Since(start)
	cc.Stop()
	res := result{Scenario: "consume", Partitions: f.subjects, Records: n.Load(), Bytes: b.Load(), Truncated: n.Load() < target}
	if res.Records > 0 {
		res.RecordSize = int(res.Bytes / res.Records)
	}
	res.finish(el)
	return res, nil
}

func natsE2E(ctx context.Context, f *natsFlags) (result, error) {
	if f.recordSize < 9 {
		return result{}, errors.New("e2e needs --record-size ≥ 9")
	}
	nc, js, err := connect(ctx, f, true)
	if err != nil {
		return result{}, err
	}
	defer nc.Close()
	cnc, cjs, err := connect(ctx, f, false)
	if err != nil {
		return result{}, err
	}
	defer cnc.Close()
	st, err := cjs.Stream(ctx, f.stream)
	if err != nil {
		return result{}, fmt.Errorf("stream: %w", err)
	}
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{DeliverPolicy: jetstream.DeliverNewPolicy})
	if err != nil {
		return result{}, fmt.Errorf("ordered consumer: %w", err)
	}
	var lat samples
	var got atomic.Int64
	all := make(chan struct{})
	var once sync.Once
	cc, err := cons.Consume(func(m jetstream.Msg) {
		now := time.Now()
		d := m.Data()
		if len(d) < 9 || d[8] != 1 {
			return
		}
		lat.add(now.Sub(time.Unix(0, int64(binary.BigEndian.Uint64(d)))))
		if got.Add(1) == f.records {
			once.Do(func() { close(all) })
		}
	})
	if err != nil {
		return result{}, fmt.Errorf("consume: %w", err)
	}
	defer cc.Stop()

	var errs errCount
	total := f.records + f.warmup
	start := time.Now()
	var measureStart atomic.Int64 // unix nanos of the first measured send
	measureStart.Store(start.UnixNano())
	perNs := float64(f.rate) / 1e9
	var sent atomic.Int64
	pubDone := make(chan struct{})
	due := make(chan int64, 1024)
	go func() {
		defer close(pubDone)
		natsPublisher(ctx, js, f, func() (int64, bool) {
			i, ok := <-due
			return i, ok
		}, func(i int64) []byte {
			v := make([]byte, f.recordSize)
			binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
			if i >= f.warmup {
				v[8] = 1
			}
			if i == f.warmup {
				measureStart.Store(time.Now().UnixNano())
			}
			return v
		}, func(pending) {}, &errs)
	}()
	tick := time.NewTicker(time.Millisecond)
send:
	for sent.Load() < total {
		select {
		case <-ctx.Done():
			break send
		case <-tick.C:
		}
		upto := min(int64(float64(time.Since(start))*perNs)+1, total)
		for i := sent.Load(); i < upto; i++ {
			due <- i
			sent.Add(1)
		}
	}
	tick.Stop()
	close(due)
	sendEnd := time.Now()
	select {
	case <-all:
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
	}
	<-pubDone
	// The rate covers the measured messages only, sent after warm-up.
	sendTime := sendEnd.Sub(time.Unix(0, measureStart.Load()))
	n := got.Load()
	res := result{Scenario: "e2e", Partitions: f.subjects, RecordSize: f.recordSize, Records: n,
		Bytes: n * int64(f.recordSize), Truncated: n < f.records, Latency: lat.summary()}
	errs.fill(&res)
	res.finish(sendTime)
	return res, nil
}
