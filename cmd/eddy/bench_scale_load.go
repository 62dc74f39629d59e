package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
)

// scaleLoad is a produce load of `eddy bench scale`: producers franz-go
// clients (acks=all, idempotent, linger 5 ms, as `eddy bench produce`),
// closed-loop or paced to rate records/s in total.
type scaleLoad struct {
	brokers    string
	topic      string
	producers  int
	recordSize int
	rate       float64 // 0: as fast as acknowledged
	linger     time.Duration
	// partitioner is the producers' --partitioner (empty: franz-go's
	// default, partitionerAdaptive).
	partitioner string

	acked   atomic.Int64
	errs    errorCounter
	hist    atomic.Pointer[latencyHist]
	clients []*kgo.Client
}

// connect creates and connects the producer clients.
func (l *scaleLoad) connect(ctx context.Context) error {
	l.hist.Store(new(latencyHist))
	name := l.partitioner
	if name == "" {
		name = partitionerAdaptive
	}
	part, err := partitionerOpt(name)
	if err != nil {
		return err
	}
	for range l.producers {
		c, err := kgo.NewClient(kgo.SeedBrokers(l.brokers), kgo.DefaultProduceTopic(l.topic),
			kgo.RequiredAcks(kgo.AllISRAcks()), kgo.ProducerLinger(l.linger),
			kgo.ProducerBatchMaxBytes(1<<20), kgo.MaxBufferedRecords(10000),
			kgo.RecordDeliveryTimeout(time.Minute), kgo.RetryTimeout(time.Minute), part)
		if err != nil {
			l.close()
			return fmt.Errorf("producer client: %w", err)
		}
		l.clients = append(l.clients, c)
		if err := c.Ping(ctx); err != nil {
			l.close()
			return fmt.Errorf("connect to %s: %w", l.brokers, err)
		}
	}
	return nil
}

func (l *scaleLoad) close() {
	for _, c := range l.clients {
		c.Close()
	}
	l.clients = nil
}

// swapHist starts a new latency histogram and returns the previous one.
func (l *scaleLoad) swapHist() *latencyHist { return l.hist.Swap(new(latencyHist)) }

// run produces until ctx ends and waits for what is buffered (until flush
// ends).
func (l *scaleLoad) run(ctx, flush context.Context) {
	val := payload(l.recordSize)
	promise := func(r *kgo.Record, err error) {
		if err != nil {
			if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
				l.errs.Add(err)
			}
			return
		}
		l.hist.Load().Record(time.Since(r.Timestamp))
		l.acked.Add(1)
	}
	var wg sync.WaitGroup
	for _, c := range l.clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if l.rate <= 0 {
				for ctx.Err() == nil {
					c.Produce(ctx, &kgo.Record{Value: val, Timestamp: time.Now()}, promise)
				}
			} else {
				// Paced in 10 ms ticks.
				per := l.rate / float64(len(l.clients)) / 100
				t := time.NewTicker(10 * time.Millisecond)
				defer t.Stop()
				owed := 0.0
				for {
					select {
					case <-ctx.Done():
						_ = c.Flush(flush)
						return
					case <-t.C:
					}
					owed += per
					for ; owed >= 1; owed-- {
						c.Produce(ctx, &kgo.Record{Value: val, Timestamp: time.Now()}, promise)
					}
				}
			}
			_ = c.Flush(flush)
		}()
	}
	wg.Wait()
}
