package kafka_test

import (
	"context"
	"crypto/tls"
	"sync"
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
	val := make([]byte, 1024)
	for _, l := range []string{"PLAINTEXT", "SASL_SSL"} {
		topic := "bench-" + l
		if _, err := srv.Broker.CreateTopic(topic, 4, map[string]string{"eddy.fsync": "never"}, false); err != nil {
			b.Fatal(err)
		}
		b.Run("produce/"+l, func(b *testing.B) {
			cl, err := kgo.NewClient(append(clientOpts[l], kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(1<<16))...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			if err := cl.Ping(context.Background()); err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(val)))
			b.ResetTimer()
			produceN(b, cl, val, b.N)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
		b.Run("consume/"+l, func(b *testing.B) {
			// Make sure b.N records exist (the produce run may have
			// written fewer).
			prod, err := kgo.NewClient(append(clientOpts["PLAINTEXT"], kgo.DefaultProduceTopic(topic), kgo.MaxBufferedRecords(1<<16))...)
			if err != nil {
				b.Fatal(err)
			}
			produceN(b, prod, val, b.N)
			prod.Close()
			cl, err := kgo.NewClient(append(clientOpts[l], kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))...)
			if err != nil {
				b.Fatal(err)
			}
			defer cl.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			b.SetBytes(int64(len(val)))
			b.ResetTimer()
			got := 0
			for got < b.N {
				fs := cl.PollFetches(ctx)
				if err := ctx.Err(); err != nil {
					b.Fatal(err)
				}
				got += fs.NumRecords()
			}
			b.StopTimer()
			b.ReportMetric(float64(got)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

func produceN(b *testing.B, cl *kgo.Client, val []byte, n int) {
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
