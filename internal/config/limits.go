package config

import (
	"fmt"
	"time"
)

// Bounds of the hostile-client limits (docs/operations.md, "Hostile and
// broken clients").
const (
	minFetchMaxBytes     = 1 << 10
	maxDecompressionRate = 4096
	maxTimeout           = time.Hour
)

// checkLimits validates the limits that bound what one client can make
// the server hold or wait for.
func (c Config) checkLimits() []error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, &KeyError{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	for _, d := range []struct {
		key  string
		v    time.Duration
		zero bool // 0 allowed (disables)
	}{
		{"idle-timeout", c.IdleTimeout, true},
		{"frame-timeout", c.FrameTimeout, true},
		{"http-body-timeout", c.HTTPBodyTimeout, true},
		{"http-read-header-timeout", c.HTTPReadHeaderTimeout, false},
		{"http-idle-timeout", c.HTTPIdleTimeout, false},
	} {
		switch {
		case d.v < 0 || d.v > maxTimeout:
			bad(d.key, "%s is out of range; allowed %s up to 1h", d.v, map[bool]string{true: "0 (none)", false: "more than 0s"}[d.zero])
		case d.v == 0 && !d.zero:
			bad(d.key, "%s is out of range; allowed more than 0s up to 1h", d.v)
		}
	}
	if c.MaxProduceBytesPerConn != 0 && (c.MaxProduceBytesPerConn < c.MaxRequestBytes || c.MaxProduceBytesPerConn > c.ProduceBytesBudget) {
		bad("max-produce-bytes-per-conn", "%s is out of range; use 0 (max-request-bytes) or a size from max-request-bytes (%s) to produce-bytes-budget (%s)",
			formatBytes(c.MaxProduceBytesPerConn), formatBytes(c.MaxRequestBytes), formatBytes(c.ProduceBytesBudget))
	}
	if c.FetchMaxBytes < minFetchMaxBytes || c.FetchMaxBytes > maxRequestBytes {
		bad("fetch-max-bytes", "%d is out of range; allowed %s to %d bytes", c.FetchMaxBytes, formatBytes(minFetchMaxBytes), int64(maxRequestBytes))
	}
	if c.MaxUnsentBytesPerConn < 0 {
		bad("max-unsent-bytes-per-conn", "%d is negative; use 0 (no cap) or a size such as 32MiB", c.MaxUnsentBytesPerConn)
	}
	if c.DecompressionRatio < 1 || c.DecompressionRatio > maxDecompressionRate {
		bad("decompression-ratio", "%d is out of range; allowed 1 to %d", c.DecompressionRatio, maxDecompressionRate)
	}
	if c.HTTPMaxConnections < 1 {
		bad("http-max-connections", "%d is out of range; must be at least 1", c.HTTPMaxConnections)
	}
	if c.HTTPBodyBudget != 0 && c.HTTPBodyBudget < 1<<20 {
		bad("http-body-budget", "%s is out of range; use 0 (no cap) or at least 1MiB", formatBytes(c.HTTPBodyBudget))
	}
	return errs
}
