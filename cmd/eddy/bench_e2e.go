package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// e2eHeader is the payload prefix of an e2e record: the send time in Unix
// nanoseconds and a byte saying whether the record is measured (warm-up
// records are not).
const e2eHeader = 9

// benchE2EOptions are the flags of `eddy bench e2e`.
type benchE2EOptions struct {
	rate   int
	warmup int64
	drain  time.Duration
}

func newBenchE2ECmd(o *benchOptions) *cobra.Command {
	var pf producerFlags
	var eo benchE2EOptions
	// Each scenario has its own --records default; the flag variable
	// is per command and copied into the shared options when it runs.
	var records int64
	cmd := &cobra.Command{
		Use:   "e2e",
		Short: "Produce at a fixed rate while a separate consumer reads; report latency",
		Long: `Produce --records records at --rate records/s from one client while a
second client consumes the topic, and report the produce-to-consume latency
(p50, p90, p99, p99.9, max) from the send time each payload carries. The
first --warmup records are sent but not measured (connections, metadata,
first fetch). Record size is at least 9 bytes (the timestamp header).`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.records = records
			return runBenchE2E(cmd, o, &pf, &eo)
		},
	}
	addProducerFlags(cmd, &pf, 0)
	f := cmd.Flags()
	f.Int64Var(&records, "records", 100_000, "measured records to send")
	f.IntVar(&eo.rate, "rate", 10_000, "records per second to send")
	f.Int64Var(&eo.warmup, "warmup", 1000, "records sent first and not measured")
	f.DurationVar(&eo.drain, "drain", 10*time.Second, "how long to wait for the last records after sending ends")
	return cmd
}

func runBenchE2E(cmd *cobra.Command, o *benchOptions, pf *producerFlags, eo *benchE2EOptions) error {
	if err := o.validate(); err != nil {
		return err
	}
	switch {
	case o.recordSize < e2eHeader:
		return usageError{fmt.Errorf("--record-size %d: e2e needs at least %d bytes for the timestamp", o.recordSize, e2eHeader)}
	case eo.rate < 1:
		return usageError{fmt.Errorf("--rate %d: want at least 1", eo.rate)}
	case o.records < 1:
		return usageError{fmt.Errorf("--records %d: want at least 1", o.records)}
	case eo.warmup < 0:
		return usageError{fmt.Errorf("--warmup %d: want 0 or more", eo.warmup)}
	}
	popts, err := pf.kgoOpts(o.topic, o.client.timeout)
	if err != nil {
		return err
	}
	ctx, cancel := o.runContext(cmd.Context())
	defer cancel()
	parts, err := o.ensureTopic(ctx)
	if err != nil {
		return err
	}
	ends, err := o.endOffsets(ctx)
	if err != nil {
		return err
	}
	assign := make(map[int32]kgo.Offset, len(ends))
	for p, off := range ends {
		assign[p] = kgo.NewOffset().At(off)
	}
	cons, err := o.client.newClient(
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: assign}),
		kgo.FetchMaxWait(500*time.Millisecond),
	)
	if err != nil {
		return err
	}
	defer cons.Close()
	prod, err := o.client.newClient(popts...)
	if err != nil {
		return err
	}
	defer prod.Close()
	if err := prod.Ping(ctx); err != nil {
		return o.client.brokerError("connect", err)
	}

	var (
		hist     latencyHist
		errs     errorCounter
		received atomic.Int64
		prog     = startProgress(cmd.ErrOrStderr(), "e2e", o.progress)
		total    = o.records + eo.warmup
		allIn    = make(chan struct{})
	)
	cctx, stopConsumer := context.WithCancel(ctx)
	defer stopConsumer()
	consumerDone := make(chan struct{})
	go func() {
		defer close(consumerDone)
		var closed bool
		for cctx.Err() == nil {
			fs := cons.PollFetches(cctx)
			now := time.Now()
			fs.EachError(func(_ string, _ int32, err error) {
				if cctx.Err() == nil {
					errs.Add(err)
				}
			})
			fs.EachRecord(func(r *kgo.Record) {
				if len(r.Value) < e2eHeader || r.Value[8] != 1 {
					return
				}
				sent := int64(binary.BigEndian.Uint64(r.Value))
				hist.Record(now.Sub(time.Unix(0, sent)))
				prog.Add(1, int64(len(r.Value)))
				if received.Add(1) == o.records && !closed {
					closed = true
					close(allIn)
				}
			})
		}
	}()

	promise := func(_ *kgo.Record, err error) {
		if err != nil && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
			errs.Add(err)
		}
	}
	start := time.Now()
	measureStart := start
	var sent int64
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	perNs := float64(eo.rate) / 1e9
send:
	for sent < total {
		select {
		case <-ctx.Done():
			break send
		case <-tick.C:
		}
		due := min(int64(float64(time.Since(start))*perNs)+1, total)
		for ; sent < due; sent++ {
			v := make([]byte, o.recordSize)
			copy(v[e2eHeader:], payloadFill(o.recordSize))
			binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
			if sent >= eo.warmup {
				v[8] = 1
			}
			if sent == eo.warmup {
				measureStart = time.Now()
			}
			prod.Produce(ctx, &kgo.Record{Value: v}, promise)
		}
	}
	// The rate covers the measured records only, sent after warm-up.
	sendTime := time.Since(measureStart)
	select {
	case <-allIn:
	case <-ctx.Done():
	case <-time.After(eo.drain):
	}
	stopConsumer()
	<-consumerDone
	prog.Stop()

	n := received.Load()
	res := benchResult{
		Scenario:    "e2e",
		Topic:       o.topic,
		Partitions:  parts,
		RecordSize:  o.recordSize,
		Records:     n,
		Bytes:       n * int64(o.recordSize),
		Truncated:   n < o.records,
		Latency:     hist.Summary(),
		LatencyKind: "produce-to-consume",
		Settings: map[string]any{
			"rate": eo.rate, "warmup": eo.warmup, "acks": pf.acks, "idempotent": pf.idempotent,
			"linger_ms": ms(pf.linger), "compression": pf.compression, "sent": sent,
			"achieved_rate": float64(sent-eo.warmup) / sendTime.Seconds(),
		},
	}
	errs.fill(&res)
	res.finish(sendTime)
	if err := res.write(cmd.OutOrStdout(), o.json); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("e2e: %d error(s); first: %s", res.Errors, res.FirstError)
	}
	return nil
}

var fillCache atomic.Pointer[[]byte]

// payloadFill returns the shared filler bytes for records of size n.
func payloadFill(n int) []byte {
	if p := fillCache.Load(); p != nil && len(*p) == n {
		return *p
	}
	b := payload(n)
	fillCache.Store(&b)
	return b
}

// endOffsets returns each partition's current end offset.
func (o *benchOptions) endOffsets(ctx context.Context) (map[int32]int64, error) {
	adm, closeAdm, err := o.client.newAdmin()
	if err != nil {
		return nil, err
	}
	defer closeAdm()
	rctx, cancel := o.client.requestContext(ctx)
	defer cancel()
	ends, err := adm.ListEndOffsets(rctx, o.topic)
	if err != nil {
		return nil, o.client.brokerError("list end offsets", err)
	}
	out := make(map[int32]int64)
	var firstErr error
	ends.Each(func(e kadm.ListedOffset) {
		if e.Err != nil {
			firstErr = fmt.Errorf("partition %d end offset: %w", e.Partition, e.Err)
			return
		}
		out[e.Partition] = e.Offset
	})
	return out, firstErr
}
