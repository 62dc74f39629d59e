package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

func newBenchProduceCmd(o *benchOptions) *cobra.Command {
	var pf producerFlags
	var producers int
	// Each scenario has its own --records default; the flag variable
	// is per command and copied into the shared options when it runs.
	var records int64
	cmd := &cobra.Command{
		Use:   "produce",
		Short: "Write N records of S bytes with K concurrent producers",
		Long: `Write --records records of --record-size bytes to --topic with --producers
concurrent franz-go clients (each its own connection), and report records/s,
MB/s and the ack latency percentiles: the time from Produce to the broker's
acknowledgement, including the time a record waits in the client's buffer,
as Kafka's producer-perf-test measures it.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.records = records
			return runBenchProduce(cmd, o, &pf, producers)
		},
	}
	addProducerFlags(cmd, &pf, 5*time.Millisecond)
	cmd.Flags().IntVar(&producers, "producers", 1, "concurrent producer clients")
	cmd.Flags().Int64Var(&records, "records", 1_000_000, "records to write in total")
	return cmd
}

func runBenchProduce(cmd *cobra.Command, o *benchOptions, pf *producerFlags, producers int) error {
	if err := o.validate(); err != nil {
		return err
	}
	if producers < 1 {
		return usageError{fmt.Errorf("--producers %d: want at least 1", producers)}
	}
	if o.records < 1 {
		return usageError{fmt.Errorf("--records %d: want at least 1", o.records)}
	}
	opts, err := pf.kgoOpts(o.topic, o.client.timeout)
	if err != nil {
		return err
	}
	ctx, cancel := o.runContext(cmd.Context())
	defer cancel()
	parts, err := o.ensureTopic(ctx)
	if err != nil {
		return err
	}
	clients := make([]*kgo.Client, producers)
	for i := range clients {
		if clients[i], err = o.client.newClient(opts...); err != nil {
			for _, c := range clients[:i] {
				c.Close()
			}
			return err
		}
	}
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	// Connect every client before the clock starts, so the run measures
	// produce throughput rather than dialing and metadata.
	for _, c := range clients {
		if err := c.Ping(ctx); err != nil {
			return o.client.brokerError("connect", err)
		}
	}

	val := payload(o.recordSize)
	var (
		hist    latencyHist
		errs    errorCounter
		acked   atomic.Int64
		issued  atomic.Int64
		wg      sync.WaitGroup
		prog    = startProgress(cmd.ErrOrStderr(), "produce", o.progress)
		promise = func(r *kgo.Record, err error) {
			if err != nil {
				// Records still buffered when --duration ends fail
				// with the context's error: unacknowledged, not a
				// broker failure.
				if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
					errs.Add(err)
				}
				return
			}
			hist.Record(time.Since(r.Timestamp))
			acked.Add(1)
			prog.Add(1, int64(len(r.Value)))
		}
	)
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for issued.Add(1) <= o.records && ctx.Err() == nil {
				// The timestamp doubles as the start of the ack latency;
				// Produce blocks here once max-buffered-records wait.
				c.Produce(ctx, &kgo.Record{Value: val, Timestamp: time.Now()}, promise)
			}
			// Waits for every buffered record, or fails them once ctx
			// ends (--duration).
			_ = c.Flush(ctx)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.Stop()
	truncated := ctx.Err() != nil

	res := benchResult{
		Scenario:    "produce",
		Topic:       o.topic,
		Partitions:  parts,
		RecordSize:  o.recordSize,
		Records:     acked.Load(),
		Bytes:       acked.Load() * int64(o.recordSize),
		Truncated:   truncated,
		Latency:     hist.Summary(),
		LatencyKind: "ack",
		Settings: map[string]any{
			"producers": len(clients), "acks": pf.acks, "idempotent": pf.idempotent,
			"linger_ms": ms(pf.linger), "batch_bytes": pf.batchBytes, "compression": pf.compression,
			"max_buffered_records": pf.maxBuffered,
		},
	}
	errs.fill(&res)
	res.finish(elapsed)
	if err := res.write(cmd.OutOrStdout(), o.json); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("produce: %d record(s) failed; first: %s", res.Errors, res.FirstError)
	}
	return nil
}
