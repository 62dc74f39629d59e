package kafka_test

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/eddy-streaming/eddy/internal/kafka/kafkatest"
	"github.com/eddy-streaming/eddy/internal/node"
)

func TestMetricsCountTraffic(t *testing.T) {
	reg := prometheus.NewRegistry() // kept across the restart below
	srv := kafkatest.Start(t, kafkatest.WithNodeConfig(func(c *node.Config) { c.Registry = reg }))
	if _, err := srv.Broker.CreateTopic("m", 1, nil, false); err != nil {
		t.Fatal(err)
	}
	cl := srv.Client(t, kgo.DefaultProduceTopic("m"))
	ctx := ctxT(t, 20*time.Second)
	for i := 0; i < 10; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("0123456789")}, &kgo.Record{Value: []byte("x")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	consumeN(t, srv, "m", 20)
	rc := dialRaw(t, srv.Addr)
	rc.write([]byte{0xff, 0xff, 0xff, 0xff})
	rc.expectClosed()

	for _, c := range []struct {
		name, label string
		want        float64
	}{
		{"eddy_topic_records_in_total", "m", 20},
		{"eddy_topic_bytes_in_total", "m", -1},
		{"eddy_kafka_requests_total", "Produce", 10},
		{"eddy_kafka_bad_requests_total", "", 1},
		{"eddy_kafka_connections_total", "", -1},
	} {
		// Counters move right after a response is written, which can be
		// a moment after the client saw it.
		got, ok := metricValue(t, reg, c.name, c.label)
		for deadline := time.Now().Add(5 * time.Second); c.want >= 0 && got != c.want && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
			got, ok = metricValue(t, reg, c.name, c.label)
		}
		if !ok || (c.want >= 0 && got != c.want) || (c.want < 0 && got <= 0) {
			t.Errorf("%s{%s} = %v (found %v), want %v", c.name, c.label, got, ok, c.want)
		}
	}
	if got, _ := metricValue(t, reg, "eddy_topic_records_out_total", "m"); got < 20 {
		t.Errorf("records out %v, want at least 20", got)
	}
	for _, name := range []string{"eddy_kafka_request_duration_seconds", "eddy_kafka_connections", "eddy_kafka_produce_budget_in_use_bytes"} {
		if _, ok := metricValue(t, reg, name, ""); !ok {
			t.Errorf("%s missing", name)
		}
	}

	// A restart in the same process, on the same registry, keeps counting.
	srv.Restart(t)
	if err := srv.Client(t, kgo.DefaultProduceTopic("m")).ProduceSync(ctx, &kgo.Record{Value: []byte("y")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	if got, _ := metricValue(t, reg, "eddy_topic_records_in_total", "m"); got != 21 {
		t.Errorf("records in after restart %v, want 21", got)
	}
}

// metricValue finds a series by name and (if not empty) one label value;
// histograms report their sample count.
func metricValue(t *testing.T, reg *prometheus.Registry, name, label string) (float64, bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				match = match || lp.GetValue() == label
			}
			if !match {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.GetCounter().GetValue(), true
			case m.Gauge != nil:
				return m.GetGauge().GetValue(), true
			case m.Histogram != nil:
				return float64(m.GetHistogram().GetSampleCount()), true
			}
		}
	}
	return 0, false
}
