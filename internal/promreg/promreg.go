// Package promreg registers Prometheus collectors so that a component
// reopened on the same registry (a broker, server or store restarted in
// one process, or several instances sharing one Registerer) keeps counting
// into the series already registered instead of failing.
package promreg

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Register registers c with reg and returns it, or returns the collector
// of the same type already registered under c's description. Any other
// registration error is returned with c. A nil reg registers nothing.
func Register[T prometheus.Collector](reg prometheus.Registerer, c T) (T, error) {
	if reg == nil {
		return c, nil
	}
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(T); ok {
			return existing, nil
		}
	}
	return c, err
}

// All registers every collector cs points to (Register), replacing each
// with the one already registered where there is one. It stops at the
// first error.
func All[T prometheus.Collector](reg prometheus.Registerer, cs ...*T) error {
	for _, c := range cs {
		got, err := Register(reg, *c)
		if err != nil {
			return err
		}
		*c = got
	}
	return nil
}
