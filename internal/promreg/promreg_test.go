package promreg

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

func TestRegisterReusesTheRegisteredCollector(t *testing.T) {
	reg := prometheus.NewRegistry()
	opts := prometheus.CounterOpts{Name: "x_total", Help: "x"}
	first, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	first.Add(2)
	// A second instance (a restart in one process) counts into the first.
	again, err := Register(reg, prometheus.NewCounter(opts))
	if err != nil {
		t.Fatal(err)
	}
	again.Inc()
	var m dto.Metric
	if err := first.Write(&m); err != nil {
		t.Fatal(err)
	}
	if got := m.GetCounter().GetValue(); got != 3 {
		t.Fatalf("counter %v, want 3: the second registration did not reuse the first", got)
	}
	// The same name with another type is an error, not a silent reuse.
	if _, err := Register(reg, prometheus.NewGauge(prometheus.GaugeOpts{Name: "x_total", Help: "x"})); err == nil {
		t.Fatal("registering a gauge over a counter's name succeeded")
	}
	if c, err := Register[prometheus.Counter](nil, first); err != nil || c != first {
		t.Fatalf("nil registry: %v %v", c, err)
	}
}

func TestAll(t *testing.T) {
	reg := prometheus.NewRegistry()
	mk := func() (*prometheus.CounterVec, *prometheus.CounterVec) {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: "a_total", Help: "a"}, []string{"t"}),
			prometheus.NewCounterVec(prometheus.CounterOpts{Name: "b_total", Help: "b"}, []string{"t"})
	}
	a1, b1 := mk()
	if err := All(reg, &a1, &b1); err != nil {
		t.Fatal(err)
	}
	a2, b2 := mk()
	if err := All(reg, &a2, &b2); err != nil {
		t.Fatal(err)
	}
	if a2 != a1 || b2 != b1 {
		t.Fatal("All did not hand back the registered collectors")
	}
}
