package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spf13/cobra"

	"github.com/eddy-streaming/eddy/sdk/eventstore"
)

// appendFlags are the settings of `eddy bench append`.
type appendFlags struct {
	server  string
	clients int
	events  int
	streams int
	prefix  string
	appends int64
}

func newBenchAppendCmd(o *benchOptions) *cobra.Command {
	var af appendFlags
	cmd := &cobra.Command{
		Use:   "append",
		Short: "Append events to event-store streams over HTTP with C concurrent clients",
		Long: `Append events to streams of --topic through the server's HTTP API (the Go
SDK, docs/http-api.md) with --clients concurrent appenders, --events events of
--record-size bytes of JSON data per append, and report appends/s, events/s
and the append latency percentiles (request to answer, fsync included).

With --streams 0 (the default) each client appends to a stream of its own,
every append expecting the version the client last wrote: every append is
checked, and a mismatch counts as an error. With --streams N each append goes
to a random one of N streams with expectedVersion any.

The topic is created by the first append when the server auto-creates topics
(one partition unless the server's default says otherwise); that append runs
before the clock starts. --brokers, --partitions and --topic-config do not
apply; create the topic beforehand (eddy topic create --config
eddy.streams=true) to choose them.`,
		Example: `  eddy bench append --clients 32 --duration 10s
  eddy bench append --events 100 --appends 10000
  eddy bench append --streams 10000000 --stream-prefix order- --topic many --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runBenchAppend(cmd, o, &af)
		},
	}
	f := cmd.Flags()
	addServerFlag(f, &af.server)
	f.IntVar(&af.clients, "clients", 32, "concurrent appenders (one SDK client shared by all)")
	f.IntVar(&af.events, "events", 1, "events per append")
	f.IntVar(&af.streams, "streams", 0, "0: a stream per client, exact expected versions; N: random streams among N, expectedVersion any")
	f.StringVar(&af.prefix, "stream-prefix", "bench-", "stream names start with this (random streams are PREFIX0 … PREFIX<N-1>)")
	f.Int64Var(&af.appends, "appends", 1_000_000, "appends to make in total")
	return cmd
}

func (af *appendFlags) validate() error {
	switch {
	case af.clients < 1:
		return usageError{fmt.Errorf("--clients %d: want at least 1", af.clients)}
	case af.events < 1 || af.events > 10_000:
		return usageError{fmt.Errorf("--events %d: want 1 to 10000", af.events)}
	case af.streams < 0:
		return usageError{fmt.Errorf("--streams %d: want 0 or more", af.streams)}
	case af.appends < 1:
		return usageError{fmt.Errorf("--appends %d: want at least 1", af.appends)}
	}
	return nil
}

// jsonPayload returns a JSON string of n bytes (quotes included, at least
// 2): event data must be JSON.
func jsonPayload(n int) []byte {
	n = max(n, 2)
	b := make([]byte, n)
	b[0], b[n-1] = '"', '"'
	fillRandom(b[1:n-1], alnum)
	return b
}

func runBenchAppend(cmd *cobra.Command, o *benchOptions, af *appendFlags) error {
	if err := o.validate(); err != nil {
		return err
	}
	if err := af.validate(); err != nil {
		return err
	}
	base, err := serverURL(af.server)
	if err != nil {
		return usageError{err}
	}
	c, err := eventstore.New(base)
	if err != nil {
		return usageError{err}
	}
	ctx, cancel := o.runContext(cmd.Context())
	defer cancel()
	data := jsonPayload(o.recordSize)
	run := strconv.FormatInt(time.Now().UnixNano(), 36)
	newEvents := func(evs []eventstore.EventData) {
		for i := range evs {
			evs[i] = eventstore.EventData{ID: eventstore.NewID(), Type: "BenchEvent", Data: data}
		}
	}
	// Create the topic and open a connection before the clock starts.
	warm := make([]eventstore.EventData, 1)
	newEvents(warm)
	wctx, wcancel := context.WithTimeout(ctx, o.client.timeout)
	_, err = c.Append(wctx, o.topic, af.prefix+"warmup-"+run, eventstore.Any{}, warm...)
	wcancel()
	if err != nil {
		return fmt.Errorf("first append to %s at %s: %w", o.topic, base, err)
	}

	var (
		hist    latencyHist
		errs    errorCounter
		done    atomic.Int64
		issued  atomic.Int64
		wg      sync.WaitGroup
		prog    = startProgress(cmd.ErrOrStderr(), "append", o.progress)
		perByte = int64(len(data) * af.events)
	)
	start := time.Now()
	for w := 0; w < af.clients; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			evs := make([]eventstore.EventData, af.events)
			own := af.prefix + run + "-" + strconv.Itoa(w)
			var exp eventstore.ExpectedVersion = eventstore.NoStream{}
			for issued.Add(1) <= af.appends && ctx.Err() == nil {
				stream, expected := own, exp
				if af.streams > 0 {
					stream, expected = af.prefix+strconv.Itoa(rand.IntN(af.streams)), eventstore.Any{}
				}
				newEvents(evs)
				t0 := time.Now()
				res, err := c.Append(ctx, o.topic, stream, expected, evs...)
				if err != nil {
					if ctx.Err() != nil && (errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)) {
						return // --duration ended the run mid-append
					}
					errs.Add(err)
					// The stream's version is unknown now: the next
					// append takes it from the answer.
					exp = eventstore.Any{}
					continue
				}
				hist.Record(time.Since(t0))
				done.Add(1)
				prog.Add(int64(af.events), perByte)
				exp = eventstore.Version(res.LastVersion)
			}
		}(w)
	}
	wg.Wait()
	elapsed := time.Since(start)
	prog.Stop()

	n := done.Load()
	res := benchResult{
		Scenario:    "append",
		Topic:       o.topic,
		RecordSize:  len(data),
		Records:     n * int64(af.events),
		Bytes:       n * perByte,
		Truncated:   ctx.Err() != nil,
		Latency:     hist.Summary(),
		LatencyKind: "append",
		Settings: map[string]any{
			"server": base, "clients": af.clients, "events_per_append": af.events, "streams": af.streams,
			"appends": n,
		},
	}
	errs.fill(&res)
	res.finish(elapsed)
	if res.Seconds > 0 {
		res.Settings["appends_per_sec"] = float64(n) / res.Seconds
		res.Lines = append(res.Lines, fmt.Sprintf("%d appends of %d event(s): %.0f appends/s, %d clients, %s",
			n, af.events, float64(n)/res.Seconds, af.clients, streamsMode(af.streams)))
	}
	if err := res.write(cmd.OutOrStdout(), o.json); err != nil {
		return err
	}
	if res.Errors > 0 {
		return fmt.Errorf("append: %d append(s) failed; first: %s", res.Errors, res.FirstError)
	}
	return nil
}

func streamsMode(n int) string {
	if n == 0 {
		return "a stream per client, exact expected versions"
	}
	return fmt.Sprintf("random streams among %d, expectedVersion any", n)
}
