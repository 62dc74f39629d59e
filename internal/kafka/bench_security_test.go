package kafka_test

import (
	"context"
	"crypto/tls"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/eddy-streaming/eddy/internal/auth"
	"github.com/eddy-streaming/eddy/internal/auth/authtest"
	"github.com/eddy-streaming/eddy/internal/kafka"
	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

// BenchmarkSecurity compares 1 KiB produce and consume over PLAINTEXT and
// over SASL_SSL (SCRAM-SHA-512, TLS 1.3) on one node in one run, so the
// ratio of the two is the cost of encryption and authentication (the
// target: SASL_SSL at 70 % or more of PLAINTEXT's records/s). Topics use
// fsync=never so the disk does not hide the protocol's cost.
//
//	go test ./internal/kafka -run '^$' -bench BenchmarkSecurity -benchtime 200000x
func BenchmarkSecurity(b *testing.B) {
	srv, clientOpts := securityBenchServer(b)
	val := make([]byte, 1024)
	for _, l := range []string{"PLAINTEXT", "SASL_SSL"} {
		topic := "bench-" + l
		if _, err := srv.Broker.CreateTopic(topic, 4, map[string]string{"eddy.fsync": "never"}, false); err != nil {
			b.Fatal(err)
		}
		b.Run("produce/"+l, func(b *testing.B) {
			b.SetBytes(int64(len(val)))
			rate := produceRate(b, clientOpts[l], topic, val, b.N)
			b.ReportMetric(rate, "records/s")
		})
		b.Run("consume/"+l, func(b *testing.B) {
			// Make sure b.N records exist (the produce run may have
			// written fewer).
			produceRate(b, clientOpts["PLAINTEXT"], topic, val, b.N)
			b.SetBytes(int64(len(val)))
			rate := consumeRate(b, clientOpts[l], topic, b.N)
			b.ReportMetric(rate, "records/s")
		})
	}
}

// BenchmarkSecurityRatio alternates PLAINTEXT and SASL_SSL rounds of b.N
// records each (five rounds) and reports the median records/s of each and
// SASL_SSL's share of PLAINTEXT's, so load from other processes hits both
// alike:
//
//	go test ./internal/kafka -run '^$' -bench BenchmarkSecurityRatio -benchtime 100000x
func BenchmarkSecurityRatio(b *testing.B) {
	srv, clientOpts := securityBenchServer(b)
	val := make([]byte, 1024)
	const rounds = 5
	rates := map[string][]float64{}
	for _, l := range []string{"PLAINTEXT", "SASL_SSL"} {
		if _, err := srv.Broker.CreateTopic("ratio-"+l, 4, map[string]string{"eddy.fsync": "never"}, false); err != nil {
			b.Fatal(err)
		}
	}
	// cpu: records per CPU second of the whole process (server and
	// client), which other processes' load disturbs far less than the
	// wall clock.
	cpu := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		for _, l := range []string{"PLAINTEXT", "SASL_SSL"} {
			topic := "ratio-" + l
			c0 := processCPU()
			rates["produce/"+l] = append(rates["produce/"+l], produceRate(b, clientOpts[l], topic, val, b.N))
			c1 := processCPU()
			// Each round reads the whole topic, r+1 rounds of records.
			rates["consume/"+l] = append(rates["consume/"+l], consumeRate(b, clientOpts[l], topic, (r+1)*b.N))
			c2 := processCPU()
			cpu["produce/"+l] = append(cpu["produce/"+l], float64(b.N)/(c1-c0).Seconds())
			cpu["consume/"+l] = append(cpu["consume/"+l], float64((r+1)*b.N)/(c2-c1).Seconds())
		}
	}
	for _, op := range []string{"produce", "consume"} {
		plain, tls := median(rates[op+"/PLAINTEXT"]), median(rates[op+"/SASL_SSL"])
		b.ReportMetric(plain, op+"-PLAINTEXT-rec/s")
		b.ReportMetric(tls, op+"-SASL_SSL-rec/s")
		b.ReportMetric(100*tls/plain, op+"-SASL_SSL-%")
		b.ReportMetric(100*median(cpu[op+"/SASL_SSL"])/median(cpu[op+"/PLAINTEXT"]), op+"-SASL_SSL-cpu-%")
	}
}

// processCPU is the user and system CPU time the process used so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// securityBenchServer starts a node with a PLAINTEXT and a SASL_SSL
// listener and returns the client options of each.
func securityBenchServer(b *testing.B) (*kafkatest.Server, map[string][]kgo.Opt) {
	pki := authtest.NewPKI(b)
	srvCert := pki.Server(b, "server")
	tlsCfg, err := auth.ServerTLS(auth.TLSOptions{CertFile: srvCert.CertFile, KeyFile: srvCert.KeyFile})
	if err != nil {
		b.Fatal(err)
	}
	srv := kafkatest.Start(b, kafkatest.WithNodeConfig(func(c *node.Config) {
		c.Kafka.Listeners = []kafka.Listener{
			{Name: "PLAINTEXT", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolPlaintext},
			{Name: "SASL_SSL", Addr: "127.0.0.1:0", Protocol: kafka.ProtocolSASLSSL, TLS: tlsCfg},
		}
		c.Auth = node.AuthConfig{BootstrapUser: "bench", BootstrapPassword: "bench-pw"}
	}))
	clientOpts := map[string][]kgo.Opt{
		"PLAINTEXT": {kgo.SeedBrokers(srv.Kafka.ListenerAddr("PLAINTEXT").String())},
		"SASL_SSL": {kgo.SeedBrokers(srv.Kafka.ListenerAddr("SASL_SSL").String()),
			kgo.DialTLSConfig(&tls.Config{RootCAs: pki.Pool()}),
			kgo.SASL(scram.Auth{User: "bench", Pass: "bench-pw"}.AsSha512Mechanism())},
	}
	return srv, clientOpts
}

// produceRate produces n records of val to topic through a new client and
// returns records/s (timed from the first record to the last ack).
func produceRate(b *testing.B, opts []kgo.Opt, topic string, val []byte, n int) float64 {
	cl, err := kgo.NewClient(append(opts, kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(1<<16))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	start := time.Now()
	produceRecords(b, cl, val, n)
	d := time.Since(start)
	b.StopTimer()
	return float64(n) / d.Seconds()
}

// consumeRate reads n records of topic from the start through a new
// client and returns records/s.
func consumeRate(b *testing.B, opts []kgo.Opt, topic string, n int) float64 {
	cl, err := kgo.NewClient(append(opts, kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	if err := cl.Ping(context.Background()); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	b.ResetTimer()
	start := time.Now()
	got := 0
	for got < n {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			b.Fatal(err)
		}
		got += fs.NumRecords()
	}
	d := time.Since(start)
	b.StopTimer()
	return float64(got) / d.Seconds()
}

func produceRecords(b *testing.B, cl *kgo.Client, val []byte, n int) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	ctx := context.Background()
	for i := 0; i < n; i++ {
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Value: val}, func(_ *kgo.Record, err error) {
			if err != nil {
				mu.Lock()
				firstErr = err
				mu.Unlock()
			}
			wg.Done()
		})
	}
	wg.Wait()
	if firstErr != nil {
		b.Fatal(firstErr)
	}
}
