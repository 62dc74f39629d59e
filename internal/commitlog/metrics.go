package commitlog

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/eddy-streaming/eddy/internal/promreg"
)

// metrics are shared by all logs of one Committer.
type metrics struct {
	fsync       prometheus.Histogram
	fsyncErrors prometheus.Counter
	groupCommit prometheus.Histogram
	roundLogs   prometheus.Histogram
	truncated   prometheus.Counter
	deletedSegs prometheus.Counter
	zeroFilled  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eddy_log_fsync_duration_seconds",
			Help:    "Latency of fsync calls on log segments.",
			Buckets: prometheus.ExponentialBuckets(50e-6, 2, 16),
		}),
		fsyncErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_fsync_errors_total",
			Help: "Failed fsyncs of log segments; each drops the unsynced tail.",
		}),
		groupCommit: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eddy_log_group_commit_appends",
			Help:    "Appends made durable by one fsync (group commit batch size).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		roundLogs: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "eddy_log_group_commit_logs",
			Help:    "Logs made durable by one commit round (one volume sync, or one fsync when 1).",
			Buckets: prometheus.ExponentialBuckets(1, 2, 12),
		}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_recovery_truncated_bytes_total",
			Help: "Bytes of torn or corrupt tail truncated by recovery or after failed fsyncs.",
		}),
		deletedSegs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_retention_deleted_segments_total",
			Help: "Segments deleted by retention.",
		}),
		zeroFilled: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "eddy_log_zero_filled_bytes_total",
			Help: "Bytes zero-filled ahead of appends to fsync=always logs, so that their fsyncs commit no filesystem metadata.",
		}),
	}
	if reg != nil {
		m.fsync = register(reg, m.fsync)
		m.fsyncErrors = register(reg, m.fsyncErrors)
		m.groupCommit = register(reg, m.groupCommit)
		m.roundLogs = register(reg, m.roundLogs)
		m.truncated = register(reg, m.truncated)
		m.deletedSegs = register(reg, m.deletedSegs)
		m.zeroFilled = register(reg, m.zeroFilled)
	}
	return m
}

// register registers c, or returns the collector already registered under
// its name (several private committers may share one Registerer).
func register[T prometheus.Collector](reg prometheus.Registerer, c T) T {
	c, _ = promreg.Register(reg, c)
	return c
}
