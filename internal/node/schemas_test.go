package node

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hamba/avro/v2"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/broker"
	"github.com/eddy-streaming/eddy/internal/registry"
	"github.com/eddy-streaming/eddy/internal/schema"
)

// TestSchemaRegistryStep: the schemas step serves the registry on its own
// listener and under /schema-registry/ on HTTP, both over one registry, and
// Close stops its listener (goleak checks nothing is left).
func TestSchemaRegistryStep(t *testing.T) {
	cfg := testConfig(t.TempDir())
	cfg.SchemaRegistry = &SchemaRegistryConfig{Addr: "127.0.0.1:0"}
	n := openT(t, cfg)
	if n.Schemas == nil || n.SchemaRegistryAddr() == "" {
		t.Fatal("no schema registry")
	}
	id, err := n.Schemas.Register("t-value", registry.RegisterRequest{Schema: `"string"`})
	if err != nil {
		t.Fatal(err)
	}
	for _, base := range []string{"http://" + n.SchemaRegistryAddr(), "http://" + n.HTTP.Addr().String() + "/schema-registry"} {
		resp, err := http.Get(fmt.Sprintf("%s/schemas/ids/%d", base, id))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), `"schema":"\"string\""`) {
			t.Fatalf("%s: %d %s", base, resp.StatusCode, b)
		}
	}
	if got := n.listenerAddrs()["schema_registry"]; got != n.SchemaRegistryAddr() {
		t.Fatalf("status listeners: %q", got)
	}
	// A body over the registry's 16 MiB cap is Confluent's 42209 on
	// both listeners.
	for _, base := range []string{"http://" + n.SchemaRegistryAddr(), "http://" + n.HTTP.Addr().String() + "/schema-registry"} {
		body := `{"schema":"` + strings.Repeat(" ", registryMaxBody) + `"}`
		resp, err := http.Post(base+"/subjects/big-value/versions", registry.ContentType, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 422 || !strings.Contains(string(b), `"error_code":42209`) {
			t.Fatalf("%s: oversized body: %d %s", base, resp.StatusCode, b)
		}
	}
}

// BenchmarkProduceSchemaValidation produces 1 KiB Avro records with
// franz-go to three topics of one node in the same run: without
// validation, with id validation and with full validation
// (eddy.fsync=never, so the broker's CPU, not the disk, is the limit and
// the validation's share is not hidden behind fsyncs). Targets: id ≥ 90 %
// and full ≥ 40 % of the records/s without validation.
func BenchmarkProduceSchemaValidation(b *testing.B) {
	cfg := testConfig(b.TempDir())
	cfg.SchemaRegistry = &SchemaRegistryConfig{}
	n, err := Open(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer n.Close(context.Background())
	const text = `{"type":"record","name":"Order","namespace":"bench","fields":[
		{"name":"id","type":"string"},{"name":"amount","type":"long"},{"name":"note","type":"string"},
		{"name":"tags","type":{"type":"array","items":"string"}}]}`
	s := avro.MustParse(text)
	topics := map[string]map[string]string{
		"none": nil,
		"id":   {broker.ConfigValueSchemaValidation: "true"},
		"full": {broker.ConfigValueSchemaValidation: "true", broker.ConfigEddyValueSchemaCheck: "full"},
	}
	payload := map[string][]byte{}
	for name, configs := range topics {
		c := map[string]string{broker.ConfigFsync: "never"}
		for k, v := range configs {
			c[k] = v
		}
		if _, err := n.Broker.CreateTopic(name, 1, c, false); err != nil {
			b.Fatal(err)
		}
		id, err := n.Schemas.Register(name+"-value", registry.RegisterRequest{Schema: text})
		if err != nil {
			b.Fatal(err)
		}
		v, err := avro.Marshal(s, map[string]any{"id": "order-000001", "amount": int64(12345),
			"note": strings.Repeat("n", 900), "tags": []string{"a", "b", "c", "d"}})
		if err != nil {
			b.Fatal(err)
		}
		payload[name] = append(schema.AppendWire(nil, int32(id)), v...)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(n.Kafka.Addr().String()), kgo.DisableIdempotentWrite(),
		kgo.ProducerLinger(0), kgo.ProducerBatchMaxBytes(1<<20))
	if err != nil {
		b.Fatal(err)
	}
	defer cl.Close()
	// Interleave the three in rounds so that a change in the machine's
	// load during the run hits all three alike; the ratios are the targets.
	// b.N records go to each topic.
	names := []string{"none", "id", "full"}
	elapsed := map[string]time.Duration{}
	cpu := map[string]time.Duration{}
	const rounds = 30
	per := (b.N + rounds - 1) / rounds
	produce := func(name string, count int) {
		var failed atomic.Value
		for i := 0; i < count; i++ {
			cl.Produce(context.Background(), &kgo.Record{Topic: name, Value: payload[name]}, func(_ *kgo.Record, err error) {
				if err != nil {
					failed.Store(err)
				}
			})
		}
		if err := cl.Flush(context.Background()); err != nil {
			b.Fatal(err)
		}
		if err, _ := failed.Load().(error); err != nil {
			b.Fatal(err)
		}
	}
	for _, name := range names {
		produce(name, 1000) // warm up: connections, caches, compiled schemas
	}
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for i := range names {
			name := names[(r+i)%len(names)] // each goes first in turn
			start, cpu0 := time.Now(), processCPU()
			produce(name, per)
			elapsed[name] += time.Since(start)
			cpu[name] += processCPU() - cpu0
		}
	}
	b.StopTimer()
	rate := func(name string) float64 { return float64(per*rounds) / elapsed[name].Seconds() }
	for _, name := range names {
		b.ReportMetric(rate(name), name+"-records/s")
	}
	b.ReportMetric(rate("id")/rate("none"), "id/none")
	b.ReportMetric(rate("full")/rate("none"), "full/none")
	// The process's CPU (producer and broker) per record: on a machine
	// whose other load varies, the ratio of these is the steadier
	// measure of what validation costs.
	perRecord := func(name string) float64 { return float64(cpu[name].Nanoseconds()) / float64(per*rounds) }
	for _, name := range names {
		b.ReportMetric(perRecord(name), name+"-cpu-ns/record")
	}
	b.ReportMetric(perRecord("none")/perRecord("id"), "id/none-cpu")
	b.ReportMetric(perRecord("none")/perRecord("full"), "full/none-cpu")
}

// processCPU is the user and system CPU time of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
