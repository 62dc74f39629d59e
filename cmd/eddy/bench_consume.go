package main

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// benchConsumeOptions are the flags of `eddy bench consume`.
type benchConsumeOptions struct {
	members       int
	group         string
	fetchMaxBytes int32
	partMaxBytes  int32
}

func newBenchConsumeCmd(o *benchOptions) *cobra.Command {
	var co benchConsumeOptions
	// Each scenario has its own --records default; the flag variable
	// is per command and copied into the shared options when it runs.
	var records int64
	cmd := &cobra.Command{
		Use:   "consume",
		Short: "Read a topic from its start as fast as possible",
		Long: `Read --topic from the start of every partition up to the end offsets it had
when the run began (or --records records, if fewer), and report records/s and
MB/s. By default one client reads every partition by direct assignment; with
--members M, M clients share the topic as one consumer group.

The topic must already hold records: write them with 'eddy bench produce'.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.records = records
			return runBenchConsume(cmd, o, &co)
		},
	}
	f := cmd.Flags()
	f.Int64Var(&records, "records", 0, "stop after this many records (0: everything present at the start)")
	f.IntVar(&co.members, "members", 0, "consume as a group of this many members (0: one client, direct assignment)")
	f.StringVar(&co.group, "group", "", "group id for --members (default: a fresh eddy-bench-<time> group)")
	f.Int32Var(&co.fetchMaxBytes, "fetch-max-bytes", 50<<20, "maximum bytes of one fetch response")
	f.Int32Var(&co.partMaxBytes, "fetch-max-partition-bytes", 1<<20, "maximum bytes per partition in one fetch response")
	return cmd
}

func runBenchConsume(cmd *cobra.Command, o *benchOptions, co *benchConsumeOptions) error {
	o.create = false
	if err := o.validate(); err != nil {
		return err
	}
	if co.members < 0 {
		return usageError{fmt.Errorf("--members %d: want 0 or more", co.members)}
	}
	ctx, cancel := o.runContext(cmd.Context())
	defer cancel()
	parts, err := o.ensureTopic(ctx)
	if err != nil {
		return err
	}
	starts, target, err := o.offsetsToRead(ctx)
	if err != nil {
		return err
	}
	if o.records > 0 {
		target = min(target, o.records)
	}
	if target == 0 {
		return fmt.Errorf("topic %q holds no records to read; write some with 'eddy bench produce --topic %s'", o.topic, o.topic)
	}

	base := []kgo.Opt{
		kgo.FetchMaxBytes(co.fetchMaxBytes),
		kgo.FetchMaxPartitionBytes(co.partMaxBytes),
		kgo.FetchMaxWait(500 * time.Millisecond),
	}
	var optsPerClient [][]kgo.Opt
	if co.members == 0 {
		assign := make(map[int32]kgo.Offset, len(starts))
		for p, off := range starts {
			assign[p] = kgo.NewOffset().At(off)
		}
		optsPerClient = [][]kgo.Opt{append(base, kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{o.topic: assign}))}
	} else {
		group := co.group
		if group == "" {
			group = fmt.Sprintf("eddy-bench-%d", time.Now().UnixNano())
		}
		for range co.members {
			optsPerClient = append(optsPerClient, append(base[:len(base):len(base)],
				kgo.ConsumerGroup(group), kgo.ConsumeTopics(o.topic),
				kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit()))
		}
	}
	clients := make([]*kgo.Client, 0, len(optsPerClient))
	defer func() {
		for _, c := range clients {
			c.Close()
		}
	}()
	for _, opts := range optsPerClient {
		c, err := o.client.newClient(opts...)
		if err != nil {
			return err
		}
		clients = append(clients, c)
	}

	var (
		got, gotBytes atomic.Int64
		errs          errorCounter
		wg            sync.WaitGroup
		prog          = startProgress(cmd.ErrOrStderr(), "consume", o.progress)
	)
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	start := time.Now()
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for rctx.Err() == nil {
				fs := c.PollFetches(rctx)
				fs.EachError(func(_ string, _ int32, err error) {
					if rctx.Err() == nil {
						errs.Add(err)
					}
				})
				var n, b int64
				fs.EachRecord(func(r *kgo.Record) {
					n++
					b += int64(len(r.Value))
				})
				gotBytes.Add(b)
				prog.Add(n, b)
				if got.Add(n) >= target {
					stop()
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.Stop()

	n := got.Load()
	res := benchResult{
		Scenario:   "consume",
		Topic:      o.topic,
		Partitions: parts,
		RecordSize: o.recordSize,
		Records:    n,
		Bytes:      gotBytes.Load(),
		Truncated:  n < target,
		Settings: map[string]any{
			"members": co.members, "fetch_max_bytes": co.fetchMaxBytes,
			"fetch_max_partition_bytes": co.partMaxBytes, "target_records": target,
		},
	}
	if n > 0 {
		res.RecordSize = int(res.Bytes / n)
	}
	errs.fill(&res)
	res.finish(elapsed)
	if err := res.write(cmd.OutOrStdout(), o.json); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("consume: %d fetch error(s); first: %s", res.Errors, res.FirstError)
	}
	return nil
}

// offsetsToRead returns each partition's start offset and the number of
// records between the starts and the current ends.
func (o *benchOptions) offsetsToRead(ctx context.Context) (map[int32]int64, int64, error) {
	adm, closeAdm, err := o.client.newAdmin()
	if err != nil {
		return nil, 0, err
	}
	defer closeAdm()
	rctx, cancel := o.client.requestContext(ctx)
	defer cancel()
	starts, err := adm.ListStartOffsets(rctx, o.topic)
	if err != nil {
		return nil, 0, o.client.brokerError("list start offsets", err)
	}
	ends, err := adm.ListEndOffsets(rctx, o.topic)
	if err != nil {
		return nil, 0, o.client.brokerError("list end offsets", err)
	}
	out := make(map[int32]int64)
	var total int64
	var firstErr error
	starts.Each(func(s kadm.ListedOffset) {
		if s.Err != nil {
			firstErr = fmt.Errorf("partition %d start offset: %w", s.Partition, s.Err)
			return
		}
		e, ok := ends.Lookup(o.topic, s.Partition)
		if !ok || e.Err != nil {
			firstErr = fmt.Errorf("partition %d: no end offset", s.Partition)
			return
		}
		out[s.Partition] = s.Offset
		total += e.Offset - s.Offset
	})
	if firstErr != nil {
		return nil, 0, firstErr
	}
	return out, total, nil
}
