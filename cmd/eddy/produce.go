package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kgo"
)

// produceOptions are the flags of `eddy produce`.
type produceOptions struct {
	keySep      string
	headers     []string
	partition   int32
	acks        string
	compression string
}

// newProduceCmd returns `eddy produce TOPIC`: one record per stdin line.
func newProduceCmd() *cobra.Command {
	var o produceOptions
	var cop *clientOptions
	cmd := &cobra.Command{
		Use:   "produce TOPIC",
		Short: "Write one record per line of standard input to a topic",
		Long: `Write one record per line of standard input to TOPIC.

The line (without its newline) is the record's value; with --key-separator
the text before the first separator is the key and the rest the value. The
topic is created on first use if the server allows auto-creation. The command
exits once every record has been acknowledged, non-zero if any failed.`,
		Example: `  echo '{"order_id": 42}' | eddy produce order-events
  printf 'order-42:created\norder-42:paid\n' | eddy produce order-events --key-separator :
  eddy produce order-events --header source=cli --acks 1 --compression zstd < events.txt`,
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runProduce(cmd, args[0], &o, cop)
		},
	}
	cop = addClientFlags(cmd)
	f := cmd.Flags()
	f.StringVarP(&o.keySep, "key-separator", "K", "", "split each line into key and value at the first occurrence of this string")
	f.StringArrayVarP(&o.headers, "header", "H", nil, "add header key=value to every record (repeatable)")
	f.Int32VarP(&o.partition, "partition", "p", -1, "write every record to this partition (-1: partition by key, or spread keyless records)")
	f.StringVar(&o.acks, "acks", "all", "acknowledgement level: all (-1), 1 (leader) or 0 (none)")
	f.StringVar(&o.compression, "compression", "none", "batch compression: none, gzip, snappy, lz4 or zstd")
	return cmd
}

// parseAcks maps the --acks spellings Kafka tools accept to kgo.
func parseAcks(s string) (kgo.Acks, error) {
	switch strings.ToLower(s) {
	case "all", "-1":
		return kgo.AllISRAcks(), nil
	case "1", "leader":
		return kgo.LeaderAck(), nil
	case "0", "none":
		return kgo.NoAck(), nil
	}
	return kgo.Acks{}, usageError{fmt.Errorf("--acks %q: want all, -1, 1 or 0", s)}
}

// parseCompression maps a codec name to kgo.
func parseCompression(s string) (kgo.CompressionCodec, error) {
	switch strings.ToLower(s) {
	case "none", "":
		return kgo.NoCompression(), nil
	case "gzip":
		return kgo.GzipCompression(), nil
	case "snappy":
		return kgo.SnappyCompression(), nil
	case "lz4":
		return kgo.Lz4Compression(), nil
	case "zstd":
		return kgo.ZstdCompression(), nil
	}
	return kgo.CompressionCodec{}, usageError{fmt.Errorf("--compression %q: want none, gzip, snappy, lz4 or zstd", s)}
}

// produceResult collects the outcome of asynchronous produces.
type produceResult struct {
	reasons *produceReasons
	mu      sync.Mutex
	failed  int
	first   error
}

func (r *produceResult) done(rec *kgo.Record, err error) {
	if err == nil {
		return
	}
	if r.reasons != nil {
		err = r.reasons.annotate(rec, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed++
	if r.first == nil {
		r.first = err
	}
}

func runProduce(cmd *cobra.Command, topic string, o *produceOptions, cop *clientOptions) error {
	acks, err := parseAcks(o.acks)
	if err != nil {
		return err
	}
	codec, err := parseCompression(o.compression)
	if err != nil {
		return err
	}
	hdrs, err := parseKeyValues("header", o.headers)
	if err != nil {
		return err
	}
	if o.partition < -1 {
		return usageError{fmt.Errorf("--partition %d: want a partition number, or -1", o.partition)}
	}
	opts := []kgo.Opt{
		kgo.DefaultProduceTopic(topic),
		kgo.RequiredAcks(acks),
		kgo.ProducerBatchCompression(codec),
		// As Kafka's console producer: the first produce may create
		// the topic when the server allows auto-creation.
		kgo.AllowAutoTopicCreation(),
		kgo.RecordDeliveryTimeout(cop.timeout),
	}
	if acks != kgo.AllISRAcks() {
		// Idempotent writes require acks=all.
		opts = append(opts, kgo.DisableIdempotentWrite())
	}
	if o.partition >= 0 {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	reasons := &produceReasons{dialer: net.Dialer{Timeout: 5 * time.Second}}
	opts = append(opts, kgo.Dialer(reasons.dial))
	cl, err := cop.newClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()

	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	lines := make(chan []byte)
	readErr := make(chan error, 1)
	go readLines(ctx, cmd.InOrStdin(), lines, readErr)

	res := produceResult{reasons: reasons}
	var n int
	eof := false
	sep := []byte(o.keySep)
loop:
	for {
		select {
		case <-ctx.Done():
			// Interrupted: stop reading, still deliver what was read.
			break loop
		case line, ok := <-lines:
			if !ok {
				eof = true
				break loop
			}
			n++
			rec := &kgo.Record{Topic: topic, Value: line, Partition: o.partition}
			if len(sep) > 0 {
				i := strings.Index(string(line), o.keySep)
				if i < 0 {
					res.done(nil, fmt.Errorf("line %d: no key separator %q", n, o.keySep))
					break loop
				}
				rec.Key, rec.Value = line[:i], line[i+len(sep):]
			}
			for _, h := range hdrs {
				rec.Headers = append(rec.Headers, kgo.RecordHeader{Key: h[0], Value: []byte(h[1])})
			}
			// cmd.Context, not ctx: records read before an interrupt
			// are still delivered.
			cl.Produce(cmd.Context(), rec, res.done)
		}
	}
	if eof {
		if err := <-readErr; err != nil {
			res.done(nil, fmt.Errorf("read stdin: %w", err))
		}
	}
	// A second interrupt from here on ends the process at once, should
	// the flush hang on an unreachable server.
	stop()
	fctx, cancel := context.WithTimeout(cmd.Context(), cop.timeout)
	defer cancel()
	if err := cl.Flush(fctx); err != nil {
		return cop.brokerError("flush records", err)
	}
	res.mu.Lock()
	defer res.mu.Unlock()
	if res.first != nil {
		if res.failed == 1 {
			return fmt.Errorf("produce to %q: %w", topic, res.first)
		}
		return fmt.Errorf("produce to %q: %d records failed, first: %w", topic, res.failed, res.first)
	}
	return nil
}

// readLines sends each line of r, without its line ending, on lines, then
// closes lines and reports the read error (nil at EOF) on errc. A final line
// without a newline still counts.
func readLines(ctx context.Context, r io.Reader, lines chan<- []byte, errc chan<- error) {
	defer close(lines)
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 {
			line = trimEOL(line)
			select {
			case lines <- line:
			case <-ctx.Done():
				errc <- nil
				return
			}
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = nil
			}
			errc <- err
			return
		}
	}
}

// trimEOL drops a trailing "\n" or "\r\n".
func trimEOL(b []byte) []byte {
	if n := len(b); n > 0 && b[n-1] == '\n' {
		b = b[:n-1]
		if n := len(b); n > 0 && b[n-1] == '\r' {
			b = b[:n-1]
		}
	}
	return b
}
